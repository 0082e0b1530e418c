#!/usr/bin/env node
// license-receiver: Alertmanager webhook → durable outbox → Slack, email, console.
import { run } from './cli.js';

const stopSignal = () =>
  new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  stopSignal,
}).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should anything still hold the event loop (a stuck socket, a
    // thread), exit anyway: a receiver that cannot start must not linger without serving.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (err: Error) => {
    process.stderr.write(`license-receiver: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
