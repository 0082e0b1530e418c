// license-report: Calico Enterprise licence usage reports from Prometheus history.
import { run } from './cli.js';

run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: () => Date.now(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`license-report: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
