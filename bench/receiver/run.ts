// Receiver benchmark: `npx tsx bench/receiver/run.ts` (after `npm run build`).
//
// 1. Webhook ack throughput and p50/p99 latency of license-receiver (durable SQLite outbox,
//    synchronous=FULL) against a bare Node HTTP server answering 200, in the same run, same load.
// 2. An alert storm: 10,000 alerts in 50 groups, posted by an HA pair of "Alertmanagers" within 60 s
//    (four waves of new alerts, then the resolve), delivered to a fake Slack that enforces Slack's rate
//    limit (1 message per second per channel, short bursts). Checks none is lost and no call is
//    rate-limited.
// 3. Peak RSS of the receiver in both.
// Prints the figures and writes the `## Receiver` section of BENCHMARKS.md.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { FakeSlack } from '../../test/fakes/slack-api.js';
import { scrape, waitFor } from '../../test/helpers/metrics.js';
import { peakRssBytes } from '../agent/proc.js';
import { f1, f2, ok, writeSection } from '../benchmarks-md.js';
import {
  ALERTNAMES,
  BIN,
  CLUSTERS,
  cleanUpWork,
  licenceAlert,
  PER_GROUP,
  slackChannel,
  startBare,
  startReceiver,
  stormGroups,
  stormPayload,
  TOKEN,
  WAVES,
  work,
} from './common.js';
import { type LoadResult, median, runLoad, runRate } from './load.js';

interface AckResult {
  bare: LoadResult;
  receiver: LoadResult;
  bareRate: LoadResult;
  receiverRate: LoadResult;
  rounds: { bare: number[]; receiver: number[] };
  rss: number;
  bodyBytes: number;
}

const ROUNDS = 3;
const CONCURRENCY = 16;
const RATE = 1000;

async function ackBenchmark(): Promise<AckResult> {
  // Every request a different group and content, so that each one commits an outbox row.
  let sequence = 0;
  const body = () => {
    const i = sequence++;
    return JSON.stringify(
      licenceAlert(`cluster-${i % 1000}`, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()),
    );
  };
  const bodyBytes = JSON.stringify(licenceAlert('cluster-1', '2026-01-01T00:00:00Z')).length;
  const saturate = (url: string, headers: Record<string, string> = {}) =>
    runLoad({ url, concurrency: CONCURRENCY, warmupMs: 1000, durationMs: 4000, headers, body });
  const atRate = (url: string, headers: Record<string, string> = {}, durationMs = 5000) =>
    runRate({ url, rate: RATE, durationMs, headers, body });

  const { proc: bareProc, url: bareUrl } = await startBare();
  const slack = await FakeSlack.start();
  const { proc, url } = await startReceiver(
    'ack',
    {
      listen: '127.0.0.1:0',
      auth: { bearer_token_env: 'BENCH_TOKEN' },
      store: { path: join(work, 'ack.db') },
      channels: [slackChannel(slack, 'slack', '#bench')],
      default_channels: ['slack'],
    },
    slack,
  );
  const auth = { Authorization: `Bearer ${TOKEN}` };
  // Ack latency first, on a receiver in its normal state (no backlog), after a warm-up at the same
  // rate: the first seconds after a start compile code and fill caches.
  await atRate(bareUrl, {}, 3000);
  const bareRate = await atRate(bareUrl);
  await atRate(`${url}/webhook`, auth, 3000);
  const receiverRate = await atRate(`${url}/webhook`, auth);
  // Then alternating rounds at saturation, so that both servers see the same machine; the median
  // round counts.
  const bareRounds: LoadResult[] = [];
  const receiverRounds: LoadResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bareRounds.push(await saturate(bareUrl));
    receiverRounds.push(await saturate(`${url}/webhook`, auth));
  }
  const rss = peakRssBytes(proc.child.pid as number);
  await proc.stop();
  await bareProc.stop();
  await slack.close();
  return {
    bare: median(bareRounds),
    receiver: median(receiverRounds),
    bareRate,
    receiverRate,
    rounds: { bare: bareRounds.map((r) => r.perSecond), receiver: receiverRounds.map((r) => r.perSecond) },
    rss,
    bodyBytes,
  };
}

// ---------------------------------------------------------------------------------------------------

interface StormResult {
  alerts: number;
  posts: number;
  postSeconds: number;
  deliveredSeconds: number;
  postMessages: number;
  updates: number;
  rateLimited: number;
  maxPerSecond: number;
  sustainedPerSecond: number;
  groupsComplete: number;
  sent: number;
  dead: number;
  deduplicated: number;
  rss: number;
}

async function stormBenchmark(): Promise<StormResult> {
  // Slack's limit for chat.postMessage: about one message per second per channel, short bursts.
  const slack = await FakeSlack.start({ rateLimit: { perSecond: 1, burst: 4 } });
  const channels = Array.from({ length: CLUSTERS }, (_, c) =>
    slackChannel(slack, `slack-c${c}`, `#storm-c${c}`),
  );
  const { proc, url } = await startReceiver(
    'storm',
    {
      listen: '127.0.0.1:0',
      auth: { bearer_token_env: 'BENCH_TOKEN' },
      store: { path: join(work, 'storm.db') },
      delivery: { poll_interval: '200ms' },
      channels,
      routes: channels.map((ch, c) => ({ matchers: [`cluster="c${c}"`], channels: [ch.name] })),
    },
    slack,
  );
  const post = async (body: unknown) => {
    const res = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  };

  const started = performance.now();
  let posts = 0;
  const waves = [
    ...Array.from({ length: WAVES }, (_, w) => ({ count: ((w + 1) * PER_GROUP) / WAVES, resolved: false })),
    { count: PER_GROUP, resolved: true },
  ];
  for (const [w, wave] of waves.entries()) {
    if (w > 0) await new Promise((r) => setTimeout(r, 2000)); // Alertmanager's group_interval, shortened
    const jobs: (() => Promise<void>)[] = [];
    for (let c = 0; c < CLUSTERS; c++)
      for (let a = 0; a < ALERTNAMES; a++) {
        const body = stormPayload(c, a, wave.count, wave.resolved);
        // Both Alertmanagers of the HA pair send it, at the same time.
        jobs.push(() => Promise.all([post(body), post(body)]).then(() => undefined));
      }
    posts += jobs.length * 2;
    for (let i = 0; i < jobs.length; i += 10) await Promise.all(jobs.slice(i, i + 10).map((j) => j()));
  }
  const postSeconds = (performance.now() - started) / 1000;

  const expectedDeliveries = CLUSTERS * ALERTNAMES * waves.length;
  const sentTotal = async () => {
    const m = await scrape(`${url}/metrics`);
    return m.samples('license_receiver_notifications_sent_total').reduce((s, x) => s + x.value, 0);
  };
  await waitFor(
    async () => (await sentTotal()) >= expectedDeliveries || undefined,
    180_000,
    'the storm to be delivered',
  );
  const deliveredSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1500)); // nothing more may arrive
  const m = await scrape(`${url}/metrics`);
  const rss = peakRssBytes(proc.child.pid as number);
  await proc.stop();

  // None lost: every group has exactly one message, edited to its final (resolved) state with all of
  // its 200 alerts, and a thread reply for every change.
  const { complete: groupsComplete } = stormGroups(slack, waves.length);
  // Posts per channel in any one-second window, and the sustained rate.
  const posted = slack.callsOf('chat.postMessage').filter((x) => x.ok);
  let maxPerSecond = 0;
  let sustained = 0;
  for (let c = 0; c < CLUSTERS; c++) {
    const times = posted
      .filter((x) => x.channel === `#storm-c${c}` || x.channel === slack.channelId(`#storm-c${c}`))
      .map((x) => x.at);
    for (let i = 0; i < times.length; i++) {
      let j = i;
      while (j < times.length && (times[j] as number) - (times[i] as number) < 1000) j++;
      maxPerSecond = Math.max(maxPerSecond, j - i);
    }
    if (times.length > 10)
      sustained = Math.max(
        sustained,
        (times.length - 4) / (((times.at(-1) as number) - (times[3] as number)) / 1000),
      );
  }
  const result: StormResult = {
    alerts: CLUSTERS * ALERTNAMES * PER_GROUP,
    posts,
    postSeconds,
    deliveredSeconds,
    postMessages: posted.length,
    updates: slack.callsOf('chat.update').filter((x) => x.ok).length,
    rateLimited: slack.calls.filter((x) => x.status === 429).length,
    maxPerSecond,
    sustainedPerSecond: sustained,
    groupsComplete,
    sent: m.samples('license_receiver_notifications_sent_total').reduce((s, x) => s + x.value, 0),
    dead: m.samples('license_receiver_notifications_dead_lettered_total').reduce((s, x) => s + x.value, 0),
    deduplicated: m
      .samples('license_receiver_notifications_deduplicated_total')
      .reduce((s, x) => s + x.value, 0),
    rss,
  };
  await slack.close();
  return result;
}

// ---------------------------------------------------------------------------------------------------

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  console.log('Receiver benchmark: webhook ack vs a bare Node HTTP server…');
  const ack = await ackBenchmark();
  const ratio = ack.receiver.perSecond / ack.bare.perSecond;
  const line = (name: string, r: LoadResult) =>
    `  ${name} ${f1(r.perSecond)} req/s, p50 ${f2(r.p50Ms)} ms, p99 ${f2(r.p99Ms)} ms, max ${f2(r.maxMs)} ms ${JSON.stringify(r.statuses)}`;
  console.log(
    [
      `saturation (${CONCURRENCY} connections, median of ${ROUNDS} rounds):`,
      line('bare:    ', ack.bare),
      line('receiver:', ack.receiver),
      `  receiver/bare ${(ratio * 100).toFixed(0)} %; rounds bare ${ack.rounds.bare.map(f1).join(', ')}, receiver ${ack.rounds.receiver.map(f1).join(', ')}`,
      `fixed rate ${RATE}/s (open loop):`,
      line('bare:    ', ack.bareRate),
      line('receiver:', ack.receiverRate),
      `  peak RSS ${mb(ack.rss)}`,
    ].join('\n'),
  );
  console.log('Alert storm: 10,000 alerts → fake Slack with its rate limit…');
  const storm = await stormBenchmark();
  console.log(
    `  posted ${storm.posts} webhooks (${storm.alerts} alerts, HA pair) in ${f1(storm.postSeconds)} s; all delivered after ${f1(storm.deliveredSeconds)} s\n` +
      `  Slack: ${storm.postMessages} chat.postMessage, ${storm.updates} chat.update, ${storm.rateLimited} answered 429; ` +
      `max ${storm.maxPerSecond} posts per channel in any 1 s, sustained ${f2(storm.sustainedPerSecond)}/s\n` +
      `  groups complete ${storm.groupsComplete}/${CLUSTERS * ALERTNAMES}; sent ${storm.sent}, dead ${storm.dead}, deduplicated ${storm.deduplicated}; peak RSS ${mb(storm.rss)}`,
  );

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const body = `
Command: \`npx tsx bench/receiver/run.ts\` (needs \`npm run build\` first). Last run ${new Date().toISOString().slice(0, 10)},
Node ${process.version}, ${cpus().length} × ${cpu}. Load generator, servers and fake Slack share the machine.

### Webhook ack (durable outbox: SQLite WAL, synchronous=FULL, on its own thread; default log level)

Each request is a ${ack.bodyBytes}-byte licence alert for a new group and content, so each one commits an outbox
row (with fsync). Saturation: ${CONCURRENCY} keep-alive connections sending back to back, ${ROUNDS} alternating rounds of
4 s after a 1 s warm-up, median round shown (rounds: bare ${ack.rounds.bare.map((x) => x.toFixed(0)).join(' / ')},
receiver ${ack.rounds.receiver.map((x) => x.toFixed(0)).join(' / ')} req/s). Ack latency: open loop at a fixed
${RATE} webhooks/s for 5 s, after 3 s at that rate to warm up, on the fresh receiver, before the saturation rounds, each latency counted from
the request's scheduled time. (Measured during development: after the saturation rounds, with some
50,000 undelivered rows behind a 1-message-per-second Slack limit, p99 at ${RATE}/s rises to about 50 ms: the
commits of the store thread touch more random index pages and take up to ~15 ms.)

The machine has 2 cores, shared by the load generator, the servers and the fake Slack (and, at times, by
other work): figures move by ±20 % between runs. Over a dozen runs during development the receiver
reached 22–32 % of the bare server's throughput and a p99 of 8–18 ms at ${RATE}/s.

| server | saturation req/s | p50 / p99 at saturation | p50 / p99 / max at ${RATE}/s |
|---|---:|---:|---:|
| bare Node HTTP server answering 200 (the ceiling) | ${f1(ack.bare.perSecond)} | ${f2(ack.bare.p50Ms)} / ${f2(ack.bare.p99Ms)} ms | ${f2(ack.bareRate.p50Ms)} / ${f2(ack.bareRate.p99Ms)} / ${f2(ack.bareRate.maxMs)} ms |
| license-receiver | ${f1(ack.receiver.perSecond)} | ${f2(ack.receiver.p50Ms)} / ${f2(ack.receiver.p99Ms)} ms | ${f2(ack.receiverRate.p50Ms)} / ${f2(ack.receiverRate.p99Ms)} / ${f2(ack.receiverRate.maxMs)} ms |

Throughput ${(ratio * 100).toFixed(0)} % of the bare server (target ≥ 30 %: ${ok(ratio >= 0.3)}). p99 ack at ${RATE}/s
${f2(ack.receiverRate.p99Ms)} ms (target < 10 ms: ${ok(ack.receiverRate.p99Ms < 10)}); at saturation p99 is queueing
behind ${CONCURRENCY} connections. Answers at ${RATE}/s: ${JSON.stringify(ack.receiverRate.statuses)}. Peak RSS ${mb(ack.rss)}.

### Alert storm: 10,000 alerts to Slack

${CLUSTERS} clusters × ${ALERTNAMES} alert names = ${CLUSTERS * ALERTNAMES} groups of ${PER_GROUP} alerts, routed to ${CLUSTERS} Slack channels.
Alertmanager behaviour: ${WAVES} waves of new alerts 2 s apart, then the resolve, each group sent by both
members of an HA pair at once: ${storm.posts} webhooks in ${f1(storm.postSeconds)} s (target: within 60 s). The fake
Slack enforces chat.postMessage's limit (1 per second per channel, burst 4) and answers 429 beyond it.

| figure | value |
|---|---:|
| alerts / webhooks posted | ${storm.alerts} / ${storm.posts} |
| all delivered after | ${f1(storm.deliveredSeconds)} s |
| deliveries sent / dead-lettered / HA duplicates dropped | ${storm.sent} / ${storm.dead} / ${storm.deduplicated} |
| chat.postMessage / chat.update calls | ${storm.postMessages} / ${storm.updates} |
| calls answered 429 | ${storm.rateLimited} |
| max posts per channel in any 1 s / sustained | ${storm.maxPerSecond} / ${f2(storm.sustainedPerSecond)} per s |
| groups whose one message ends resolved with all ${PER_GROUP} alerts and a reply per change | ${storm.groupsComplete} of ${CLUSTERS * ALERTNAMES} |
| peak RSS | ${mb(storm.rss)} |

Zero loss: ${ok(storm.groupsComplete === CLUSTERS * ALERTNAMES && storm.dead === 0)}; within Slack's rate limit: ${ok(storm.rateLimited === 0)}.
`;
  writeSection('Receiver', `## Receiver\n\n${body.trim()}`);
  console.log('Wrote the ## Receiver section of BENCHMARKS.md');
}

main()
  .catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exitCode = 1;
  })
  .finally(cleanUpWork);
