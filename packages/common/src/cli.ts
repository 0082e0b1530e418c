// Command lines: Node's parseArgs reports a bad argument in its own words ("Unknown option '--foo'.
// To specify a positional argument starting with a '-'…"); every command says it in one short line.

/** parseArgs's error as one line of our own: "unknown option --foo", "--config needs a value". */
export function argumentError(err: Error): string {
  const unknown = /^Unknown option '([^']+)'/.exec(err.message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(err.message);
  if (missing) return `${missing[1]} needs a value`;
  return err.message;
}
