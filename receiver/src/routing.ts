// Label matchers → destinations, with Alertmanager's matcher syntax (`name="v"`, `name!="v"`,
// `name=~"re"`, `name!~"re"`; regexes anchored at both ends; a missing label matches as "").
// Routes are tried in order; a match adds its channels and stops unless `continue: true`.
// Nothing matched → the default channels.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  regex?: RegExp;
  /** The matcher as written, for logs and errors. */
  text: string;
}

export class MatcherError extends Error {
  override name = 'MatcherError';
}

const MATCHER = /^\s*("(?:[^"\\]|\\.)*"|[^\s=!~"{},]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/** Parses one matcher such as `alertname=~"CalicoLicense.*"`; throws MatcherError naming what is wrong. */
export function parseMatcher(text: string): Matcher {
  const match = MATCHER.exec(text);
  if (!match)
    throw new MatcherError(
      'expected a matcher such as alertname="X", severity!="info" or alertname=~"Calico.*"',
    );
  const name = unquote(match[1] as string);
  const op = match[2] as MatchOp;
  const raw = match[3] as string;
  const value = raw.startsWith('"') ? unquote(raw) : raw;
  if (!raw.startsWith('"') && /["{},]/.test(raw))
    throw new MatcherError(`unquoted value ${JSON.stringify(raw)}: quote it`);
  const matcher: Matcher = { name, op, value, text: text.trim() };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`, 'su');
    } catch (err) {
      throw new MatcherError(
        `invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`,
      );
    }
  }
  return matcher;
}

function unquote(text: string): string {
  if (!text.startsWith('"')) return text;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'string') return parsed;
  } catch {
    // handled below
  }
  throw new MatcherError(`badly quoted string ${text}: expected "…" with \\" and \\\\ escapes`);
}

export function matches(matcher: Matcher, labels: Record<string, string>): boolean {
  const actual = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return (matcher.regex as RegExp).test(actual);
    case '!~':
      return !(matcher.regex as RegExp).test(actual);
  }
}

export interface Route {
  matchers: Matcher[];
  /** Only payloads for this Alertmanager receiver (the `receiver` field, or the path /webhook/NAME). */
  receiver?: string;
  channels: string[];
  continue: boolean;
}

export interface RoutingInput {
  receiver: string;
  /** The labels every alert of the group shares (Alertmanager's commonLabels). */
  labels: Record<string, string>;
}

/** The destinations of a group, in route order, each once. */
export function route(routes: readonly Route[], defaults: readonly string[], input: RoutingInput): string[] {
  const chosen: string[] = [];
  let matched = false;
  for (const r of routes) {
    if (r.receiver !== undefined && r.receiver !== input.receiver) continue;
    if (!r.matchers.every((m) => matches(m, input.labels))) continue;
    matched = true;
    chosen.push(...r.channels);
    if (!r.continue) break;
  }
  return [...new Set(matched ? chosen : defaults)];
}
