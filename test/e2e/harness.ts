// The whole pipeline for end-to-end tests, every part real except the far ends: license-agent (file
// source) → Prometheus (1 s scrapes and evaluations, rules rendered by the real `license-rules render`
// with an override file that shortens `for`) → Alertmanager (one, or two clustered; the render's route
// fragment pointed at the receiver, short group_wait/group_interval)
// → license-receiver (its own SQLite store, bearer token) → the Slack fake (test/fakes/slack-api.ts)
// and a real SMTP server with STARTTLS (test/helpers/smtp.ts).
//
// Prometheus and Alertmanager are the version pair LM_TOOLS_PAIR names (default `current`: 3.5 and
// 0.33; `floor`: Debian 12's 2.42 and 0.25), from test/helpers/tools.ts.
//
// Every program listens on 127.0.0.1 on a free port and keeps its files in a temporary folder; stop()
// ends every process it started and removes the folder. `logs()` has the output of every process
// (restarts included), what the Slack fake and the SMTP server received; a failing test prints it
// (printLogsOnFailure).
//
// Licence-expiry alerts also open a Jira (Cloud) issue in the Jira fake: tickets are where the renewal
// work is tracked.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, beforeEach, onTestFailed } from 'vitest';
import {
  AGENT_MAIN,
  alertmanagerConfig,
  freePort,
  licenceKeyYaml,
  prometheusConfig,
  RECEIVER_MAIN,
  RUNBOOKS_DIR,
  renderRules,
  waitForHttp,
  writeFileAtomic,
} from '../../scripts/lib/pipeline.mjs';
import { FakeJira, type JiraIssueJson, plainText } from '../fakes/jira-api.js';
import { FakeSlack, type SlackMessage, visibleText } from '../fakes/slack-api.js';
import { type Metrics, scrape, waitFor } from '../helpers/metrics.js';
import { type Started, start, waitForLog } from '../helpers/process.js';
import { type ReceivedMail, TestSmtpServer } from '../helpers/smtp.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import {
  alertmanagerProcessCommand,
  noisyClusterMember,
  prometheusCommand,
  selectedPair,
  type Tools,
  toolsFor,
} from '../helpers/tools.js';

const DAY = 86_400_000;
export const SLACK_CHANNEL = '#licence-alerts';
export const MAIL_TO = 'licensing@example.com';
export const JIRA_PROJECT = 'LIC';
const WEBHOOK_TOKEN = 'e2e-webhook-token';
/**
 * How long a (re)started agent or receiver may take to say it serves: a second or less, but a CI run
 * on a loaded machine saw a restarted receiver print nothing for 10 s.
 */
const START_TIMEOUT_MS = 30_000;

/**
 * Rule and route overrides of every e2e run: `for` in seconds instead of minutes or hours, and an
 * Alertmanager that groups for a second. AgentDown keeps 10 s of `for`: its "never there" branch is
 * pending from the first evaluation, and Prometheus applies discovered targets only every 5 s (2.42
 * scrapes the agent first about 5 s after it starts; on a busy machine later), so with less it could
 * fire before the first scrape and inhibit the alert under test. Its remediation annotation is
 * removed so that the receiver quotes the runbook's Mitigation section instead.
 */
function ruleOverrides(receiverPort: number, tokenFile: string): Record<string, unknown> {
  return {
    // This Prometheus does not scrape the receiver, so LicenseReceiverDown ("never there") would be
    // pending from the start; the receiver's own alerts are tested by promtool (rules/tests/receiver.yaml).
    licenseReceiver: { enabled: false },
    alerts: {
      CalicoLicenseExpiryCritical: { for: '1s' },
      CalicoLicenseNodesOverCapacity: { for: '1s' },
      CalicoLicenseAgentDown: { for: '10s', annotations: { remediation: null } },
    },
    alertmanager: {
      webhookUrl: `http://127.0.0.1:${receiverPort}/webhook`,
      credentialsFile: tokenFile,
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '1h',
    },
  };
}

export interface PipelineOptions {
  /** Days from now to the licence's expiry when the agent starts. */
  expiresInDays: number;
  /** The licence's node limit (100). */
  maxNodes?: number;
  /** Nodes in use (10). */
  nodes?: number;
  /** Two Alertmanagers gossiping on loopback, both sent every alert, instead of one. */
  clustered?: boolean;
}

/** The Prometheus/Alertmanager pair of this run (LM_TOOLS_PAIR). */
export function e2eTools(): Tools {
  return toolsFor(selectedPair());
}

interface ProcessRecord {
  name: string;
  started: Started;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

export class Pipeline {
  readonly dir: string;
  slack!: FakeSlack;
  jira!: FakeJira;
  smtp!: TestSmtpServer;
  pki!: TestPki;
  rulesFile = '';
  readonly ports = { agent: 0, prometheus: 0, receiver: 0, alertmanagers: [] as number[] };
  private readonly processes: ProcessRecord[] = [];
  agent: Started | undefined;
  prometheus: Started | undefined;
  receiver: Started | undefined;
  readonly alertmanagers: Started[] = [];
  private readonly licenceFile: string;
  private readonly nodeCountFile: string;
  private stopped = false;

  private constructor(private readonly options: PipelineOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'lm-e2e-'));
    this.licenceFile = join(this.dir, 'licensekey.yaml');
    this.nodeCountFile = join(this.dir, 'node-count');
  }

  /** Starts everything and waits until Prometheus has scraped the agent. Fails with every log. */
  static async start(options: PipelineOptions): Promise<Pipeline> {
    const pipeline = new Pipeline(options);
    try {
      await pipeline.boot();
    } catch (err) {
      const logs = pipeline.logs();
      await pipeline.stop();
      throw new Error(`the pipeline did not start: ${(err as Error).message}\n${logs}`);
    }
    return pipeline;
  }

  private async boot(): Promise<void> {
    const { options } = this;
    const tools = e2eTools();
    this.pki = createTestPki();
    this.slack = await FakeSlack.start();
    this.jira = await FakeJira.start({ deployment: 'cloud', projects: [{ key: JIRA_PROJECT }] });
    this.smtp = await TestSmtpServer.start({
      tls: { key: this.pki.read('server.key'), cert: this.pki.read('server.pem') },
    });
    this.ports.agent = await freePort();
    this.ports.prometheus = await freePort();
    this.ports.receiver = await freePort();
    const amCount = options.clustered ? 2 : 1;
    for (let i = 0; i < amCount; i++) this.ports.alertmanagers.push(await freePort());
    const clusterPorts: number[] = [];
    if (options.clustered) for (let i = 0; i < amCount; i++) clusterPorts.push(await freePort());

    const tokenFile = join(this.dir, 'webhook-token');
    writeFileSync(tokenFile, `${WEBHOOK_TOKEN}\n`);
    const rendered = renderRules(join(this.dir, 'rules'), ruleOverrides(this.ports.receiver, tokenFile));
    this.rulesFile = rendered.rulesFile;

    this.writeLicence(options.expiresInDays);
    this.writeNodeCount(options.nodes ?? 10);

    // Prometheus first: it applies discovered targets (the agent, the Alertmanagers) only every 5 s,
    // so its first scrape comes about 5 s after it starts, whatever else is ready by then.
    const promConfig = join(this.dir, 'prometheus.yml');
    writeFileSync(
      promConfig,
      prometheusConfig({
        agent: `127.0.0.1:${this.ports.agent}`,
        alertmanagers: this.ports.alertmanagers.map((p) => `127.0.0.1:${p}`),
        ruleFiles: [rendered.rulesFile],
      }),
    );
    const promCommand = prometheusCommand(tools, {
      config: promConfig,
      port: this.ports.prometheus,
      dataDir: join(this.dir, 'tsdb'),
    });
    const prometheus = this.spawn('prometheus', promCommand.command, promCommand.args);
    this.prometheus = prometheus;

    const amConfig = join(this.dir, 'alertmanager.yml');
    writeFileSync(amConfig, alertmanagerConfig(rendered.fragment));
    const startAlertmanager = async (port: number, i: number) => {
      const dataDir = join(this.dir, `alertmanager-${i + 1}`);
      mkdirSync(dataDir);
      const amCommand = alertmanagerProcessCommand(tools, {
        config: amConfig,
        port,
        dataDir,
        ...(options.clustered ? { cluster: noisyClusterMember(clusterPorts, i) } : {}),
      });
      const am = this.spawn(`alertmanager-${i + 1}`, amCommand.command, amCommand.args);
      this.alertmanagers[i] = am;
      await waitForHttp(`http://127.0.0.1:${port}/-/ready`, { alive: () => running(am) });
    };
    await Promise.all([
      this.startReceiver(),
      this.startAgent(),
      ...this.ports.alertmanagers.map(startAlertmanager),
      waitForHttp(`${this.prometheusUrl}/-/ready`, { alive: () => running(prometheus) }),
    ]);
    // Scraped, and the rules evaluated on what was scraped.
    await waitFor(
      async () => (await this.query('calico_license_expiry_timestamp_seconds')).length > 0,
      15_000,
      'Prometheus to scrape the agent',
    );
    await this.waitForEvaluation();
  }

  get prometheusUrl(): string {
    return `http://127.0.0.1:${this.ports.prometheus}`;
  }

  get receiverUrl(): string {
    return `http://127.0.0.1:${this.ports.receiver}`;
  }

  alertmanagerUrl(i = 0): string {
    return `http://127.0.0.1:${this.ports.alertmanagers[i]}`;
  }

  private spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
    const runs = this.processes.filter((p) => p.name === name || p.name.startsWith(`${name} `)).length;
    const started = start(command, args, env);
    this.processes.push({ name: runs === 0 ? name : `${name} (run ${runs + 1})`, started });
    return started;
  }

  /** Rewrites the licence file (atomically) with an expiry `days` from now. */
  writeLicence(days: number): void {
    writeFileAtomic(
      this.licenceFile,
      licenceKeyYaml({ expiry: Date.now() + days * DAY, maxNodes: this.options.maxNodes ?? 100 }),
    );
  }

  writeNodeCount(nodes: number): void {
    writeFileAtomic(this.nodeCountFile, `${nodes}\n`);
  }

  async startAgent(): Promise<void> {
    const agent = this.spawn('agent', process.execPath, [
      AGENT_MAIN,
      '--source',
      'file',
      '--license-file',
      this.licenceFile,
      '--node-count-file',
      this.nodeCountFile,
      '--listen',
      `127.0.0.1:${this.ports.agent}`,
      '--poll-interval',
      '1s',
    ]);
    this.agent = agent;
    await waitForLog(agent, 'license-agent serving', {}, START_TIMEOUT_MS);
  }

  async stopAgent(): Promise<void> {
    await this.agent?.stop();
  }

  private receiverConfig(): string {
    return yaml.dump({
      listen: `127.0.0.1:${this.ports.receiver}`,
      auth: { bearer_token_file: 'webhook-token' },
      store: { path: 'receiver.db' },
      runbooks_dir: RUNBOOKS_DIR,
      alertmanager_url: this.alertmanagerUrl(0),
      delivery: { poll_interval: '100ms', backoff: { initial: '200ms', max: '2s' } },
      channels: [
        {
          name: 'slack',
          type: 'slack',
          token_env: 'SLACK_BOT_TOKEN',
          channel: SLACK_CHANNEL,
          api_url: this.slack.apiUrl,
        },
        {
          name: 'licensing-mail',
          type: 'email',
          smtp: { host: '127.0.0.1', port: this.smtp.port, require_tls: true, ca_file: this.pki.caFile },
          from: 'license-monitor@example.com',
          to: [MAIL_TO],
        },
        {
          name: 'jira',
          type: 'jira',
          url: this.jira.url,
          api: 'auto',
          project: JIRA_PROJECT,
          email: this.jira.email,
          api_token_env: 'JIRA_API_TOKEN',
          reopen_transition: 'Reopen',
        },
      ],
      routes: [
        {
          matchers: ['alertname=~"CalicoLicense(ExpiringSoon|ExpiryCritical|InGracePeriod|Expired)"'],
          channels: ['slack', 'licensing-mail', 'jira'],
        },
        // Over capacity is a compliance matter for the licence owners, not the on-call channel.
        { matchers: ['alertname="CalicoLicenseNodesOverCapacity"'], channels: ['licensing-mail'] },
        { matchers: ['alertname=~"CalicoLicense.+"'], channels: ['slack', 'licensing-mail'] },
      ],
    });
  }

  /** Starts the receiver on its port with its store (again, after killReceiver). */
  async startReceiver(): Promise<void> {
    const config = join(this.dir, 'receiver.yaml');
    writeFileSync(config, this.receiverConfig());
    const receiver = this.spawn('receiver', process.execPath, [RECEIVER_MAIN, 'serve', '--config', config], {
      SLACK_BOT_TOKEN: this.slack.token,
      JIRA_API_TOKEN: this.jira.apiToken,
    });
    this.receiver = receiver;
    await waitForLog(receiver, 'license-receiver serving', {}, START_TIMEOUT_MS);
  }

  /** SIGKILL: no shutdown, no flush, as a crash or an OOM kill. */
  async killReceiver(): Promise<void> {
    await this.receiver?.stop('SIGKILL');
  }

  async receiverMetrics(): Promise<Metrics> {
    return scrape(`${this.receiverUrl}/metrics`);
  }

  /**
   * Deliveries the receiver recorded as done, as "channel kind" → count. A message can reach Slack or
   * the SMTP server a moment before the receiver records it; a crash in between sends it again.
   */
  async receiverSent(): Promise<Record<string, number>> {
    const metrics = await this.receiverMetrics();
    const sent: Record<string, number> = {};
    for (const s of metrics.samples('license_receiver_notifications_sent_total'))
      if (s.value > 0) sent[`${s.labels.channel} ${s.labels.kind}`] = s.value;
    return sent;
  }

  async alertmanagerMetrics(i: number): Promise<Metrics> {
    return scrape(`${this.alertmanagerUrl(i)}/metrics`);
  }

  /** An instant query's result. */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${this.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: [] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data.result;
  }

  /** Prometheus's pending and firing alerts. */
  async alerts(): Promise<PromAlert[]> {
    const res = await fetch(`${this.prometheusUrl}/api/v1/alerts`);
    return ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
  }

  async alertState(alertname: string): Promise<PromAlert['state'] | undefined> {
    return (await this.alerts()).find((a) => a.labels.alertname === alertname)?.state;
  }

  /** Waits for a rule evaluation that starts after now. */
  async waitForEvaluation(): Promise<void> {
    const since = Date.now();
    await waitFor(
      async () => {
        const res = await fetch(`${this.prometheusUrl}/api/v1/rules`);
        const body = (await res.json()) as { data: { groups: { lastEvaluation: string }[] } };
        return body.data.groups.every((g) => Date.parse(g.lastEvaluation) > since);
      },
      10_000,
      'a rule evaluation',
    );
  }

  /** The annotation of an alert as rendered into the rule file Prometheus loaded. */
  annotation(alertname: string, key: string): string | undefined {
    const file = yaml.load(readFileSync(this.rulesFile, 'utf8')) as {
      groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
    };
    const rule = file.groups.flatMap((g) => g.rules).find((r) => r.alert === alertname);
    return rule?.annotations?.[key];
  }

  /** Slack messages that start a thread in the alert channel. */
  slackRoots(): SlackMessage[] {
    return this.slack.roots(SLACK_CHANNEL);
  }

  /** Issues in the Jira fake's project. */
  jiraIssues(): JiraIssueJson[] {
    return this.jira.issues();
  }

  /** Mails the SMTP server accepted. */
  get mails(): ReceivedMail[] {
    return this.smtp.mails;
  }

  /** Everything every process printed, and what Slack and the SMTP server received. */
  logs(): string {
    const parts = this.processes.map(({ name, started }) => {
      const child = started.child;
      const state =
        child.exitCode !== null
          ? `exited ${child.exitCode}`
          : child.signalCode !== null
            ? `killed by ${child.signalCode}`
            : 'running';
      const output = started.output();
      const shown = output.length > 30_000 ? `…${output.slice(-30_000)}` : output;
      return `===== ${name} (pid ${child.pid}, ${state}) =====\n${shown}`;
    });
    if (this.slack) {
      const calls = this.slack.calls.map(
        (c) => `${new Date(c.at).toISOString()} ${c.method} ${c.status} ${c.ok ? 'ok' : c.error}`,
      );
      const messages = this.slack.messages.map(
        (m) =>
          `${m.ts}${m.thread_ts ? ` (reply to ${m.thread_ts})` : ''}, ${m.updates.length} update(s):\n${visibleText(m)}`,
      );
      parts.push(`===== Slack fake: calls =====\n${calls.join('\n')}`);
      parts.push(`===== Slack fake: messages =====\n${messages.join('\n---\n')}`);
    }
    if (this.jira) {
      const calls = this.jira.calls.map(
        (c) => `${new Date(c.at).toISOString()} ${c.method} ${c.path} ${c.status}`,
      );
      const issues = this.jira
        .issues()
        .map(
          (i) =>
            `${i.key} [${i.fields.status?.name}] ${i.fields.summary}\n${plainText(i.fields.description)}\ncomments:\n${this.jira.comments(i.key).join('\n---\n')}`,
        );
      parts.push(`===== Jira fake: calls =====\n${calls.join('\n')}`);
      parts.push(`===== Jira fake: issues =====\n${issues.join('\n=====\n')}`);
    }
    if (this.smtp) {
      const mails = this.smtp.mails.map(
        (m) =>
          `${m.parsed.messageId} ${m.parsed.subject} (in reply to ${m.parsed.inReplyTo ?? '-'}) → ${m.envelope.to.join(', ')}`,
      );
      parts.push(`===== SMTP server: mails =====\n${mails.join('\n')}`);
    }
    return parts.join('\n\n');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled(this.processes.map(({ started }) => started.stop()));
    await Promise.allSettled([this.slack?.close(), this.jira?.close(), this.smtp?.close()]);
    this.pki?.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function running(started: Started): boolean {
  return started.child.exitCode === null && started.child.signalCode === null;
}

/**
 * One pipeline for the enclosing describe block: started before its tests, stopped after them, every
 * process's log printed when one of them fails. Returns the running pipeline.
 */
export function usePipeline(options: PipelineOptions): () => Pipeline {
  let p: Pipeline | undefined;
  printLogsOnFailure(() => p);
  beforeAll(async () => {
    p = await Pipeline.start(options);
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });
  return () => p as Pipeline;
}

/** Prints every process's log when a test of this file fails. */
export function printLogsOnFailure(pipeline: () => Pipeline | undefined): void {
  beforeEach(() => {
    onTestFailed(() => {
      const p = pipeline();
      if (p) console.error(`\n${p.logs()}\n`);
    });
  });
}

/** Slack's visible text with the HTML entities Slack's mrkdwn escapes turned back. */
export function slackText(message: SlackMessage): string {
  return visibleText(message).replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** Every URL in a Slack message's blocks (buttons, links). */
export function slackUrls(message: SlackMessage): string[] {
  const urls: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (key === 'url' && typeof value === 'string') urls.push(value);
        else walk(value);
      }
  };
  walk(message.blocks);
  return urls;
}

/** Waits `ms` and returns — to see that nothing more arrives. */
export const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { waitFor };

/** The i-th item; fails the test with `what` when there is none. */
export function nth<T>(items: readonly T[], i: number, what = 'item'): T {
  const item = items[i];
  if (item === undefined) throw new Error(`expected a ${what} at index ${i}, got ${items.length} item(s)`);
  return item;
}
