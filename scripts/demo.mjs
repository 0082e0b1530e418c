// `npm run demo`: the whole pipeline on this machine, in one command. `predemo` has installed what
// was missing (npm dependencies; Prometheus and Alertmanager of the pinned pair, fetched from Debian
// into .cache/tools without root — see scripts/lib/tools.mjs) and built the workspaces. Then this
// starts, on 127.0.0.1:
//
//   license-agent   the sample licence, expiring in 10 days, 95 of 100 nodes in use
//   Prometheus      scraping it every 2 s, with the rules from `license-rules render` (demo timings)
//   Alertmanager    with the render's route to the receiver
//   mail catcher    SMTP and a web inbox (scripts/mail-catcher.mjs)
//   license-receiver  a console channel (printed here) and an email channel (to the mail catcher)
//
// prints the URLs, shows the first notifications (about 20 s after the start), and stops everything
// on Ctrl-C. DEMO_CORES=1 limits the licence to 512 CPU cores as well, 470 in use (.cache/demo/core-count).
// Files and logs go to .cache/demo/ (DEMO_DIR to change). Default ports: agent 9081
// (DEMO_LISTEN=HOST:PORT to choose), Prometheus 9090, Alertmanager 9093, receiver 9095, SMTP 1025,
// inbox 8025; a port in use is replaced by a free one. DEMO_FREE_PORTS=1 takes free ports throughout
// (for demos run side by side, as the tests do: two that both want 9093 would race for it).
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import {
  AGENT_MAIN,
  alertmanagerArgs,
  alertmanagerConfig,
  freePort,
  licenceKeyYaml,
  portOr,
  prometheusArgs,
  prometheusConfig,
  RECEIVER_MAIN,
  ROOT,
  RUNBOOKS_DIR,
  renderRules,
  waitForHttp,
  writeFileAtomic,
} from './lib/pipeline.mjs';
import { alertmanagerCommand, requireTools, selectedPair } from './lib/tools.mjs';
import { startMailCatcher } from './mail-catcher.mjs';

const DIR = resolve(process.env.DEMO_DIR ?? join(ROOT, '.cache/demo'));
const LOGS = join(DIR, 'logs');
const DAY = 86_400_000;
const STEPS = 7;
/** Every alert's `for` (10 min to 1 h in production), so that the demo shows something at once. */
const DEMO_FOR = '10s';
const INTERVAL = '2s';

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
let stepNo = 0;
const step = (text) => process.stdout.write(`[${++stepNo}/${STEPS}] ${text}… `);
const done = (detail) => console.log(detail ? `ok ${dim(`(${detail})`)}` : 'ok');

const children = [];
let mailCatcher;
let stopping = false;

/** Stops everything after an error, with the end of the log of every program that has exited. */
function fail(message) {
  if (stopping) return;
  console.log('');
  console.error(`demo: ${message}`);
  for (const { name, child, logFile } of children) {
    if (child.exitCode === null && child.signalCode === null) continue;
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    console.error(
      `\n${name} exited (${child.signalCode ?? `code ${child.exitCode}`}). The end of ${relative(process.cwd(), logFile)}:\n${tail}`,
    );
  }
  return stop(1);
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await mailCatcher?.close();
  console.log(`Stopped. Logs: ${relative(process.cwd(), LOGS)}/`);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(0));
// `npm run demo` runs this under npm and a shell. `kill -TERM` (or -INT) of npm's process ends npm and
// the shell but does not reach us: when our parent is gone, stop everything all the same.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) stop(0);
}, 250).unref();
// With the terminal or npm gone, a write to stdout can fail; stopping must go on.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

/** Starts a program with its output in .cache/demo/logs/NAME.log; `onLine` sees its stdout lines. */
function run(name, command, args, { env = {}, onLine } = {}) {
  const logFile = join(LOGS, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A log that cannot be written must not stop the demo (a full disk shows in the program's own way).
  log.on('error', () => {});
  // 'exit' can come before the last output: write until the pipes close, then end the log.
  const keep = (chunk) => {
    if (!log.writableEnded) log.write(chunk);
  };
  let pending = '';
  child.stdout.on('data', (chunk) => {
    keep(chunk);
    if (!onLine) return;
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', keep);
  child.on('close', () => log.end());
  child.on('error', (err) => fail(`${name} could not start: ${err.message}`));
  child.on('exit', () => {
    // Ctrl-C reaches the children too; give our own handler the moment it needs to say so.
    setTimeout(() => fail(`${name} stopped unexpectedly`), 300);
  });
  const entry = { name, child, logFile };
  children.push(entry);
  return entry;
}

const alive = (entry) => () => entry.child.exitCode === null && entry.child.signalCode === null;

/** The first of `paths` under `base` that answers 200, or undefined. */
async function firstPageFound(base, paths) {
  for (const path of paths) if ((await fetch(`${base}${path}`)).ok) return path;
  return undefined;
}

function banner(title, body) {
  const rule = '─'.repeat(Math.max(10, 78 - title.length - 4));
  console.log(`\n${bold(`── ${title} ${rule}`)}\n${body}\n${bold('─'.repeat(78))}`);
}

const startedAt = Date.now();

async function main() {
  // LM_TOOLS_PAIR=floor runs it on Debian 12's Prometheus 2.42 and Alertmanager 0.25.
  const tools = requireTools(selectedPair());

  // A fresh start every time: an old store or TSDB would carry the last run's alerts over. Only what
  // the demo writes is removed (DEMO_DIR may name a folder that holds other things).
  for (const entry of [
    'rules',
    'logs',
    'prometheus-data',
    'alertmanager-data',
    'receiver.db',
    'receiver.db-wal',
    'receiver.db-shm',
  ])
    rmSync(join(DIR, entry), { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });

  const [agentHost, agentPortText] = (process.env.DEMO_LISTEN ?? '127.0.0.1:').split(/:(?=\d*$)/);
  const port = process.env.DEMO_FREE_PORTS === '1' ? () => freePort() : portOr;
  const ports = {
    agent: agentPortText ? Number(agentPortText) : await port(9081),
    prometheus: await port(9090),
    alertmanager: await port(9093),
    receiver: await port(9095),
    smtp: await port(1025),
    inbox: await port(8025),
  };
  const agentAddress = `${agentHost}:${ports.agent}`;
  const url = {
    agent: `http://${agentAddress}`,
    prometheus: `http://127.0.0.1:${ports.prometheus}`,
    alertmanager: `http://127.0.0.1:${ports.alertmanager}`,
    receiver: `http://127.0.0.1:${ports.receiver}`,
  };

  step(`Rendering the alert rules with license-rules (demo timings: every for ${DEMO_FOR})`);
  const thresholds = yaml.load(readFileSync(join(ROOT, 'rules/thresholds.yaml'), 'utf8'));
  const rendered = renderRules(join(DIR, 'rules'), {
    alerts: Object.fromEntries(Object.keys(thresholds.alerts).map((name) => [name, { for: DEMO_FOR }])),
    alertmanager: {
      webhookUrl: `${url.receiver}/webhook`,
      groupWait: '5s',
      groupInterval: '10s',
      repeatInterval: '4h',
    },
  });
  done(relative(process.cwd(), rendered.rulesFile));

  const expiry = Date.now() + 10 * DAY + 3_600_000; // ten days and an hour: "10 days" for the next hour
  const licenceFile = join(DIR, 'licensekey.yaml');
  const nodeCountFile = join(DIR, 'node-count');
  const coreCountFile = join(DIR, 'core-count');
  const cores = process.env.DEMO_CORES === '1';
  writeFileAtomic(licenceFile, licenceKeyYaml({ expiry, maxNodes: 100, maxCores: cores ? 512 : undefined }));
  writeFileAtomic(nodeCountFile, '95\n');
  if (cores) writeFileAtomic(coreCountFile, '470\n');
  step(
    `Starting license-agent on the sample licence (expires in 10 days, 95 of 100 nodes${cores ? ', 470 of 512 cores' : ''})`,
  );
  const agent = run('license-agent', process.execPath, [
    AGENT_MAIN,
    '--source',
    'file',
    '--license-file',
    licenceFile,
    '--node-count-file',
    nodeCountFile,
    ...(cores ? ['--core-count-file', coreCountFile] : []),
    '--listen',
    agentAddress,
    '--poll-interval',
    '5s',
  ]);
  await waitForHttp(`${url.agent}/readyz`, { alive: alive(agent) });
  done(`${url.agent}/metrics`);

  step('Starting Prometheus');
  const promConfig = join(DIR, 'prometheus.yml');
  writeFileSync(
    promConfig,
    prometheusConfig({
      interval: INTERVAL,
      agent: agentAddress,
      clusterLabels: { cluster: 'demo' },
      alertmanagers: [`127.0.0.1:${ports.alertmanager}`],
      ruleFiles: [rendered.rulesFile],
      extraJobs: [{ job: 'license-receiver', target: `127.0.0.1:${ports.receiver}` }],
    }),
  );
  const prometheus = run(
    'prometheus',
    tools.prometheus,
    prometheusArgs({
      config: promConfig,
      port: ports.prometheus,
      dataDir: join(DIR, 'prometheus-data'),
      tools,
    }),
  );
  await waitForHttp(`${url.prometheus}/-/ready`, { alive: alive(prometheus) });
  done(`${tools.versions.prometheus}, ${tools.source}`);

  step('Starting Alertmanager');
  const amConfig = join(DIR, 'alertmanager.yml');
  writeFileSync(amConfig, alertmanagerConfig(rendered.fragment));
  const am = alertmanagerCommand(
    tools,
    alertmanagerArgs({ config: amConfig, port: ports.alertmanager, dataDir: join(DIR, 'alertmanager-data') }),
  );
  const alertmanager = run('alertmanager', am.command, am.args);
  await waitForHttp(`${url.alertmanager}/-/ready`, { alive: alive(alertmanager) });
  done(`${tools.versions.alertmanager}, ${tools.source}`);

  step('Starting the mail catcher');
  mailCatcher = await startMailCatcher({
    smtpPort: ports.smtp,
    httpPort: ports.inbox,
    onMail: (mail) =>
      console.log(
        `${bold('✉  Mail')}${mail.parsed.inReplyTo ? ' (reply in its thread)' : ''} ${mail.parsed.subject ?? ''} ${dim(`→ ${mailCatcher.url}mail/${mail.id}`)}`,
      ),
  });
  done(`SMTP 127.0.0.1:${mailCatcher.smtpPort}`);

  step('Starting license-receiver (console and email channels)');
  const receiverConfig = join(DIR, 'receiver.yaml');
  writeFileSync(
    receiverConfig,
    yaml.dump({
      listen: `127.0.0.1:${ports.receiver}`,
      store: { path: join(DIR, 'receiver.db') },
      runbooks_dir: RUNBOOKS_DIR,
      alertmanager_url: url.alertmanager,
      channels: [
        { name: 'console', type: 'console' },
        {
          name: 'mail',
          type: 'email',
          smtp: { host: '127.0.0.1', port: mailCatcher.smtpPort, require_tls: false },
          from: 'license-monitor@demo.invalid',
          to: ['platform-team@demo.invalid'],
        },
      ],
      default_channels: ['console', 'mail'],
    }),
  );
  let notifications = 0;
  const receiver = run(
    'license-receiver',
    process.execPath,
    [RECEIVER_MAIN, 'serve', '--config', receiverConfig],
    {
      onLine: (line) => {
        if (!line.startsWith('{')) return;
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          return;
        }
        if (entry.msg !== 'notification' || !entry.notification) return;
        notifications++;
        const { kind, text } = entry.notification;
        const after = Math.round((Date.now() - startedAt) / 1000);
        banner(`Notification #${notifications} (${kind}, console channel, ${after} s after the start)`, text);
        if (notifications === 1) tryThis();
      },
    },
  );
  await waitForHttp(`${url.receiver}/readyz`, { alive: alive(receiver) });
  done(`store ${relative(process.cwd(), join(DIR, 'receiver.db'))}`);

  step('Checking that Prometheus scrapes the agent');
  // Prometheus applies discovered targets every 5 s: the first scrape comes a few seconds in.
  const query = async (expr) => {
    const res = await fetch(`${url.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()).data?.result ?? [];
  };
  const started = Date.now();
  while ((await query('up{job="license-agent"} == 1')).length === 0) {
    if (Date.now() - started > 30_000) return fail('Prometheus did not scrape the agent within 30 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  done('up{job="license-agent"} = 1');

  // Upstream builds have a web UI: Prometheus 3 at /alerts, 2.x at /classic/alerts. Debian's
  // Prometheus 3 and Debian's Alertmanager have none (their APIs and amtool work).
  const alertsPage = await firstPageFound(url.prometheus, ['/alerts', '/classic/alerts']);
  const amHasUi = !(await (await fetch(`${url.alertmanager}/`)).text()).includes('does not include a web');
  console.log(`
${bold('Everything runs on 127.0.0.1. Open:')}
  Prometheus alerts    ${
    alertsPage
      ? `${url.prometheus}${alertsPage}`
      : `${url.prometheus}/api/v1/alerts   ${dim('(this build has no web UI; its HTTP API answers)')}`
  }
  Alertmanager         ${
    amHasUi
      ? `${url.alertmanager}/#/alerts`
      : `${url.alertmanager}/api/v2/alerts   ${dim(`(this build has no web UI; or: amtool --alertmanager.url=${url.alertmanager} alert)`)}`
  }
  Receiver status      ${url.receiver}/readyz   ${dim(`metrics: ${url.receiver}/metrics`)}
  Mail inbox           ${mailCatcher.url}
  Agent metrics        ${url.agent}/metrics
  Usage report         ${reportCommand(url.prometheus)}   ${dim('(Markdown; today so far, in whole 5-minute windows)')}
Logs are in ${relative(process.cwd(), LOGS)}/. Ctrl-C stops everything.

Waiting for the alerts: CalicoLicenseExpiringSoon (10 days left) and CalicoLicenseNodesNearCapacity
(95%) hold for ${DEMO_FOR} in Prometheus, then Alertmanager waits 5 s for more and calls the receiver.`);

  // Progress: each alert's state in Prometheus as it changes.
  const seen = new Map();
  const watch = setInterval(async () => {
    if (stopping) return clearInterval(watch);
    try {
      const res = await fetch(`${url.prometheus}/api/v1/alerts`);
      const alerts = (await res.json()).data?.alerts ?? [];
      const now = new Map(alerts.map((a) => [a.labels.alertname, a.state]));
      for (const [name, state] of now)
        if (seen.get(name) !== state) console.log(`${dim(`  Prometheus: ${name} is ${state}`)}`);
      for (const name of seen.keys()) if (!now.has(name)) console.log(dim(`  Prometheus: ${name} resolved`));
      seen.clear();
      for (const [name, state] of now) seen.set(name, state);
    } catch {
      // Prometheus stopping: the exit handler reports it.
    }
  }, 1000);

  function tryThis() {
    setTimeout(() => {
      if (stopping) return;
      console.log(`
${bold('Try it:')} renew the licence and watch the resolve arrive here and in the inbox (same thread):
  sed -i 's/expiry: .*/expiry: "${new Date(Date.now() + 365 * DAY).toISOString().slice(0, 19)}Z"/' ${relative(process.cwd(), licenceFile)}
or change the node count:  echo 120 > ${relative(process.cwd(), nodeCountFile)}`);
    }, 1500);
  }
}

/** The license-report command for today (UTC) on the demo's Prometheus. */
function reportCommand(prometheusUrl) {
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.parse(today) + DAY).toISOString().slice(0, 10);
  return `npx license-report --prometheus-url ${prometheusUrl} --from ${today} --to ${tomorrow}`;
}

main().catch((err) => fail(err.message));
