#!/usr/bin/env -S node --max-semi-space-size=1
// V8 flag: young-generation semi-spaces of 1 MB (not 16): the agent's garbage dies young, and this
// keeps its peak memory at 50,000 nodes under 100 MB for a few more (cheap) scavenges.
// license-agent: serves Calico Enterprise licence metrics for Prometheus.
import { pino } from 'pino';
import { startAgent } from './agent.js';
import { ConfigError, parseCommandLine, USAGE } from './config.js';
import { VERSION } from './version.js';

async function main(): Promise<number> {
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`license-agent: ${err.message}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'usage') {
    process.stderr.write(USAGE);
    return 2;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const logger = pino({ name: 'license-agent', level: command.config.logLevel });
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent(command.config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'license-agent could not start');
    return 1;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await agent.stop();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`license-agent: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
