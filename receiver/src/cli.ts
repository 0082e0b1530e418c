// The commands of license-receiver: serve, check-config, render, test-send, outbox.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { argumentError } from '@license-monitor/common';
import { type Logger, pino } from 'pino';
import { parseWebhookPayload } from './alertmanager.js';
import type { WireRequest } from './channels/channel.js';
import { printJson } from './channels/descriptor.js';
import { createChannel, descriptorOf } from './channels/index.js';
import { OUTBOX_USAGE, OutboxUsageError, outboxCommand } from './cli-outbox.js';
import { ConfigError, loadConfig, type ReceiverConfig } from './config.js';
import { buildGroupView } from './notification.js';
import { groupIdentity } from './outbox/idempotency.js';
import { type DeliveryRecord, nextRecord, planDelivery } from './outbox/plan.js';
import { startReceiver } from './receiver.js';
import { RunbookCatalog } from './remediation.js';
import { route } from './routing.js';
import { sampleLicencePayload } from './sample.js';
import { VERSION } from './version.js';

export const USAGE = `Usage:
  license-receiver serve --config FILE           receive Alertmanager webhooks and deliver them
  license-receiver check-config --config FILE    check the config (and that its secrets can be read)
  license-receiver render --config FILE --payload PAYLOAD.json [--channel NAME] [--json]
                                                 print exactly what would be sent (Block Kit JSON,
                                                 email text and HTML); needs no secrets
  license-receiver test-send --config FILE --channel NAME
                                                 send a sample firing, then resolved, notification
${OUTBOX_USAGE}
  license-receiver --help | --version

Options:
  --config FILE        the YAML config (see receiver/README.md)
  --log-level LEVEL    overrides log_level: trace, debug, info, warn, error
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A file named on the command line that is not there. */
class FileError extends Error {
  override name = 'FileError';
}

const OPTIONS = {
  config: { type: 'string' },
  payload: { type: 'string' },
  channel: { type: 'string' },
  json: { type: 'boolean' },
  state: { type: 'string' },
  'all-dead': { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  stopSignal: () => Promise<string>;
}

/** Runs a command; resolves to the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    }) as {
      values: Values;
      positionals: string[];
    });
  } catch (err) {
    io.err(`license-receiver: ${argumentError(err as Error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.version) {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  try {
    if (rest.length > 0 && command !== 'outbox')
      throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (!command) throw new UsageError('missing command: serve, check-config, render, test-send or outbox');
    const need = (name: 'config' | 'payload' | 'channel') => {
      const value = values[name];
      if (typeof value !== 'string' || value === '') throw new UsageError(`${command}: missing --${name}`);
      if (name !== 'channel' && !existsSync(value)) throw new FileError(`--${name}: no such file: ${value}`);
      return value;
    };
    switch (command) {
      case 'serve':
        return await serve(need('config'), values, io);
      case 'check-config':
        return checkConfig(need('config'), io);
      case 'render':
        return render(need('config'), need('payload'), values.channel, values.json === true, io);
      case 'test-send':
        return await testSend(need('config'), need('channel'), values, io);
      case 'outbox': {
        const [sub, ...ids] = rest;
        const config = loadConfig(need('config'), { secrets: false, env: io.env });
        return await outboxCommand(
          config,
          {
            sub,
            ids,
            state: values.state,
            channel: values.channel,
            json: values.json === true,
            allDead: values['all-dead'] === true,
          },
          io,
        );
      }
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}: expected serve, check-config, render, test-send or outbox`,
        );
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof OutboxUsageError) {
      io.err(`license-receiver: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof FileError) {
      io.err(`license-receiver: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`license-receiver: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function logger(config: ReceiverConfig, values: Values): Logger {
  return pino({ name: 'license-receiver', level: values['log-level'] ?? config.logLevel });
}

async function serve(file: string, values: Values, io: Io): Promise<number> {
  const config = loadConfig(file, { secrets: true, env: io.env });
  const log = logger(config, values);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  try {
    receiver = await startReceiver(config, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'license-receiver could not start');
    return 1;
  }
  const signal = await io.stopSignal();
  log.info({ signal }, 'shutting down');
  await receiver.stop();
  log.info('stopped');
  return 0;
}

function checkConfig(file: string, io: Io): number {
  const config = loadConfig(file, { secrets: true, env: io.env });
  const channels = config.channels.map((c) => {
    const summary = descriptorOf(c.type).summary?.(c);
    return `${c.name} (${c.type}${summary ? `, ${summary}` : ''})`;
  });
  io.out(
    `${file}: OK — listen ${config.listen.host}:${config.listen.port}; channels: ${channels.join(', ')}; ` +
      `${config.routes.length} route(s); default channels: ${config.defaultChannels.join(', ') || 'none'}; ` +
      `auth: ${config.auth ? (config.auth.bearerToken !== undefined ? 'bearer token' : 'basic') : 'none'}; ` +
      `runbooks: ${config.runbooksDir ?? 'none'}\n`,
  );
  return 0;
}

function render(
  file: string,
  payloadFile: string,
  channelName: string | undefined,
  json: boolean,
  io: Io,
): number {
  const config = loadConfig(file, { secrets: false, env: io.env });
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(payloadFile, 'utf8'));
  } catch (err) {
    io.err(`license-receiver: --payload ${payloadFile}: ${(err as Error).message}\n`);
    return 1;
  }
  const parsed = parseWebhookPayload(body);
  if (!parsed.ok) {
    io.err(
      `license-receiver: --payload ${payloadFile}: invalid payload:\n${parsed.problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}\n`,
    );
    return 1;
  }
  const payload = parsed.payload;
  const receiver = payload.receiver ?? '';
  const names = channelName
    ? [channelName]
    : route(config.routes, config.defaultChannels, { receiver, labels: payload.commonLabels });
  const silent = pino({ level: 'silent' });
  const now = Date.now();
  const view = buildGroupView(payload, {
    identity: groupIdentity(payload, receiver, config.groupIdentityTemplate),
    receiver,
    catalog: new RunbookCatalog(config.runbooksDir),
    clusterLabel: config.clusterLabel,
    ...(config.alertmanagerUrl !== undefined ? { alertmanagerUrl: config.alertmanagerUrl } : {}),
  });
  const plan = planDelivery(view, undefined, false, now);
  if (plan.skip) throw new Error(plan.reason);
  const results: { channel: string; type: string; requests: WireRequest[] }[] = [];
  for (const name of names) {
    const settings = config.channels.find((c) => c.name === name);
    if (!settings) {
      io.err(
        `license-receiver: --channel: ${JSON.stringify(name)} is not valid: expected one of ${config.channels.map((c) => c.name).join(', ')}\n`,
      );
      return 2;
    }
    const channel = createChannel(settings, silent);
    results.push({ channel: name, type: settings.type, requests: channel.render(plan.event) });
  }
  if (json) {
    io.out(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  if (results.length === 0)
    io.out('No route matches this payload and there are no default channels: nothing would be sent.\n');
  for (const result of results) {
    for (const request of result.requests) {
      io.out(`===== ${result.channel} (${result.type}): ${request.action} =====\n`);
      io.out(`${formatRequest(result.type, request)}\n\n`);
    }
  }
  return 0;
}

function formatRequest(type: string, request: WireRequest): string {
  return (descriptorOf(type).print ?? printJson)(request);
}

async function testSend(file: string, channelName: string, values: Values, io: Io): Promise<number> {
  const config = loadConfig(file, { secrets: true, env: io.env });
  const log = logger(config, values);
  const settings = config.channels.find((c) => c.name === channelName);
  if (!settings) {
    io.err(
      `license-receiver: --channel: ${JSON.stringify(channelName)} is not valid: expected one of ${config.channels.map((c) => c.name).join(', ')}\n`,
    );
    return 2;
  }
  const channel = createChannel(settings, log);
  const catalog = new RunbookCatalog(config.runbooksDir);
  let record: DeliveryRecord | undefined;
  try {
    for (const status of ['firing', 'resolved'] as const) {
      const now = Date.now();
      const payload = sampleLicencePayload(now, status);
      const receiver = payload.receiver ?? '';
      const view = buildGroupView(payload, {
        identity: groupIdentity(payload, receiver, config.groupIdentityTemplate),
        receiver,
        catalog,
        clusterLabel: config.clusterLabel,
      });
      const plan = planDelivery(view, record, false, now);
      if (plan.skip) continue;
      const ref = await channel.send(plan.event, record?.ref);
      record = nextRecord(plan.event, record, ref);
      log.info({ channel: channelName, kind: plan.event.kind, ref: record.ref }, 'test notification sent');
    }
  } catch (err) {
    log.error({ channel: channelName, err: (err as Error).message }, 'test notification failed');
    await channel.close();
    return 1;
  }
  await channel.close();
  return 0;
}
