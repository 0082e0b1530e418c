// What the receiver benchmarks share: the programs, a work folder, the bare server that is the
// baseline, starting a receiver, and the payloads (a licence alert, a storm group).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { type FakeSlack, type SlackMessage, visibleText } from '../../test/fakes/slack-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { type Started, start, waitForLog } from '../../test/helpers/process.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'receiver/dist/main.js');
export const TOKEN = 'bench-token';
export const work = mkdtempSync(join(tmpdir(), 'lm-bench-receiver-'));

/** Starts a process with its output in a file (reading a busy child's pipe would cost CPU here). */
export function spawnLogged(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  return start(process.execPath, args, env, { outputFile: join(work, `${name}.log`) });
}

export const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"accepted"}');
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

export async function startReceiver(
  name: string,
  config: Record<string, unknown>,
  slack: FakeSlack,
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: Started; url: string }> {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml.dump(config));
  const proc = spawnLogged(name, [BIN, 'serve', '--config', file], {
    SLACK_BOT_TOKEN: slack.token,
    BENCH_TOKEN: TOKEN,
    ...env,
  });
  const line = await waitForLog(proc, 'license-receiver serving', {}, 15_000);
  return { proc, url: String(line.url) };
}

export const slackChannel = (slack: FakeSlack, name: string, channel: string) => ({
  name,
  type: 'slack',
  token_env: 'SLACK_BOT_TOKEN',
  channel,
  api_url: slack.apiUrl,
});

// ---------------------------------------------------------------------------------------------------

export const licenceAlert = (cluster: string, startsAt: string) => {
  const labels = {
    alertname: 'CalicoLicenseExpiringSoon',
    cluster,
    severity: 'warning',
    package: 'Enterprise',
  };
  const annotations = {
    summary: 'The Calico Enterprise licence expires in less than 30 days.',
    description: `The licence of cluster ${cluster} expires on 2026-12-10 (12 days left). 95 of 100 licensed nodes are in use.`,
    runbook_url: 'https://runbooks.example.com/CalicoLicenseExpiringSoon',
  };
  return {
    version: '4',
    groupKey: `{}/{alertname=~"CalicoLicense.*"}:{alertname="CalicoLicenseExpiringSoon", cluster="${cluster}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'license-receiver',
    groupLabels: { alertname: labels.alertname, cluster },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager.example.com:9093',
    notification_reason: 'first notification',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations,
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example.com:9090/graph?g0.expr=license_number_of_days+%3C+30',
        fingerprint: 'c4a1f0e2b7d39a51',
      },
    ],
  };
};

export const CLUSTERS = 10;
export const ALERTNAMES = 5;
export const PER_GROUP = 200;
export const WAVES = 4;

export function stormPayload(cluster: number, alertname: number, count: number, resolved: boolean) {
  const name = `CalicoLicenseStorm${alertname}`;
  const common = { alertname: name, cluster: `c${cluster}`, severity: 'warning' };
  return {
    version: '4',
    groupKey: `{}:{alertname="${name}", cluster="c${cluster}"}`,
    truncatedAlerts: 0,
    status: resolved ? 'resolved' : 'firing',
    receiver: 'license-receiver',
    groupLabels: { alertname: name, cluster: `c${cluster}` },
    commonLabels: common,
    commonAnnotations: { summary: 'A node is not covered by the licence.' },
    externalURL: 'http://alertmanager.example.com:9093',
    notification_reason: resolved
      ? 'all alerts resolved'
      : count === PER_GROUP / WAVES
        ? 'first notification'
        : 'new alerts added',
    alerts: Array.from({ length: count }, (_, i) => ({
      status: resolved ? 'resolved' : 'firing',
      labels: { ...common, node: `node-${String(i).padStart(3, '0')}` },
      annotations: {
        summary: 'A node is not covered by the licence.',
        description: `node-${i} of c${cluster}`,
      },
      startsAt: new Date(Date.UTC(2026, 10, 28, 8) + i * 1000).toISOString(),
      endsAt: resolved ? '2026-11-28T12:00:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example.com:9090/graph?g0.expr=up',
      fingerprint: `${cluster}${alertname}${String(i).padStart(14, '0')}`,
    })),
  };
}

/** The bare Node HTTP server answering 200: the ceiling of any webhook server on this machine. */
export async function startBare(): Promise<{ proc: Started; url: string }> {
  const proc = spawnLogged('bare', ['-e', BARE_SERVER]);
  const port = await waitFor(
    () => proc.logs().find((l) => typeof l.port === 'number')?.port,
    15_000,
    'the bare server',
  );
  return { proc, url: `http://127.0.0.1:${port}/webhook` };
}

export const cleanUpWork = () => rmSync(work, { recursive: true, force: true });

/**
 * The storm's groups as Slack shows them after `waves` notifications each (the last one the resolve):
 * complete (one message, resolved with all its alerts, a reply per change), lost notifications (no
 * message or edit for one; a last state that is not the resolve), and duplicates (messages, edits or
 * replies beyond one per notification).
 */
export function stormGroups(
  slack: FakeSlack,
  waves: number,
): { complete: number; lost: number; duplicates: number } {
  let complete = 0;
  let lost = 0;
  let duplicates = 0;
  for (let c = 0; c < CLUSTERS; c++) {
    const roots = slack.roots(`#storm-c${c}`);
    for (let a = 0; a < ALERTNAMES; a++) {
      const mine = roots.filter((r) => new RegExp(`CalicoLicenseStorm${a} cluster=c${c}\\b`).test(r.text));
      const root = mine[0] as SlackMessage | undefined;
      const resolved = mine.filter((r) =>
        r.text.startsWith(`[RESOLVED] CalicoLicenseStorm${a} cluster=c${c}`),
      );
      const replies = mine.reduce((n, r) => n + slack.replies(r).length, 0);
      const updates = mine.reduce((n, r) => n + r.updates.length, 0);
      duplicates +=
        Math.max(0, mine.length - 1) +
        Math.max(0, replies - (waves - 1)) +
        Math.max(0, updates - (waves - 1));
      // Each notification after the first edits the message: what never arrived is lost.
      lost += waves - ((mine.length > 0 ? 1 : 0) + Math.min(updates, waves - 1));
      if (mine.length > 0 && resolved.length === 0) lost++;
      if (
        mine.length === 1 &&
        root &&
        resolved.length === 1 &&
        visibleText(root).includes(`*Alerts* (0 firing, ${PER_GROUP} resolved)`) &&
        root.updates.length === waves - 1 &&
        slack.replies(root).length === waves - 1
      )
        complete++;
    }
  }
  return { complete, lost, duplicates };
}
