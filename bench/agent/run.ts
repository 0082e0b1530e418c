// Agent benchmark: the informer (metadata-only list+watch) against the legacy list-per-poll, over the
// same simulated hour of kubelet heartbeats and node churn, plus /metrics latency and peak memory.
// At the first node count a third client runs beside them: the agent counting CPU cores too (a
// core-limited licence: whole-Node lists, metadata watch, a GET per added node).
//   npx tsx bench/agent/run.ts            (npm run bench runs it)
// Environment: BENCH_COMPRESSION (simulated seconds per real second, default 30),
// BENCH_NODES (comma-separated node counts, default 5000,50000), BENCH_SCRAPES (default 10000).
import { loadavg } from 'node:os';
import { FakeKubeApi, licenseKey } from '../../test/fakes/kube-api.js';
import { scrape, waitFor } from '../../test/helpers/metrics.js';
import { type Started, start } from '../../test/helpers/process.js';
import { writeSection } from '../benchmarks-md.js';
import { cpuSeconds, peakRssBytes } from './proc.js';

const COMPRESSION = Number(process.env.BENCH_COMPRESSION ?? 30);
const NODE_COUNTS = (process.env.BENCH_NODES ?? '5000,50000').split(',').map(Number);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 10_000);
const HOUR_S = 3600;
const HEARTBEAT_S = 300; // kubelets update each Node about every 5 minutes
const LEGACY_POLL_S = 120; // Tigera's agent listed every Node every 2 minutes
const CHURN_PER_HOUR = 0.01; // 1 % of the nodes replaced (autoscaling) each hour
const CORE_RESYNC_H = 6; // the agent's default --core-resync-interval
const CPU_PER_NODE = 8; // the fake's m5.2xlarge
const TICK_MS = 100;
// The package's bin: its shebang carries the agent's V8 flag.
const AGENT = new URL('../../agent/bin/license-agent.js', import.meta.url).pathname;
const LEGACY = new URL('./legacy-poller.ts', import.meta.url).pathname;
const LATENCY_CLIENT = new URL('./latency-client.ts', import.meta.url).pathname;

interface ClientResult {
  bytes: number;
  /** Bytes of watch streams only: what every hour after the first costs the informer. */
  watchBytes: number;
  /** Bytes of GETs of one Node (cores mode: each added node). */
  getBytes: number;
  /** Bytes of the lists (the initial one for the agent). */
  listBytes: number;
  cpuSeconds: number;
  peakRssBytes: number;
  lists: number;
  gets: number;
}

async function fakeWith(nodes: number, maxcores?: number): Promise<{ fake: FakeKubeApi; names: string[] }> {
  // History large enough that a watch renewed during the hour resumes instead of re-listing.
  const fake = await FakeKubeApi.start({ historyLimit: Math.max(100_000, nodes * 2) });
  const names = fake.addNodes(nodes);
  const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString();
  fake.setLicenseKey(licenseKey({ expiry, maxnodes: 2 * nodes, maxcores }));
  return { fake, names };
}

/**
 * Modifies every node once per heartbeat period (compressed), round robin, and replaces
 * CHURN_PER_HOUR of them over the hour (a node removed, a new one added), on every fake alike.
 */
function heartbeats(fakes: FakeKubeApi[], names: string[]): () => void {
  const nodes = names.length;
  // Changes owed are counted from the clock, not from ticks: on a busy machine ticks come late, and
  // counting ticks would quietly simulate fewer heartbeats than the hour has.
  const perMs = nodes / ((HEARTBEAT_S / COMPRESSION) * 1000);
  const churnPerMs = (nodes * CHURN_PER_HOUR) / ((HOUR_S / COMPRESSION) * 1000);
  const started = performance.now();
  let done = 0;
  let churned = 0;
  let next = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    for (; done < Math.floor(elapsed * perMs); done += 1, next = (next + 1) % nodes) {
      for (const fake of fakes) fake.modifyNode(names[next] as string);
    }
    while (churned < Math.floor(elapsed * churnPerMs)) {
      const at = (churned * 7919) % nodes; // spread over the cluster
      const name = `churn-${String(++churned).padStart(5, '0')}`;
      for (const fake of fakes) {
        fake.removeNode(names[at] as string);
        fake.addNode(name);
      }
      names[at] = name;
    }
  }, TICK_MS);
  return () => clearInterval(timer);
}

async function readyAgent(
  fake: FakeKubeApi,
  nodes: number,
  cores?: number,
): Promise<{ proc: Started; url: string; cpu0: number; cpuSynced: number }> {
  const proc = start(AGENT, [
    '--source',
    'kubernetes',
    '--kubeconfig',
    fake.kubeconfigPath,
    '--listen',
    '127.0.0.1:0',
  ]);
  const url = await agentUrl(proc);
  const cpu0 = cpuSeconds(proc.child.pid as number);
  await waitFor(
    async () => {
      const m = await scrape(`${url}/metrics`);
      return m.value('calico_nodes_used') === nodes && m.value('calico_cores_used') === cores;
    },
    60_000,
    'agent synced',
  );
  return { proc, url, cpu0, cpuSynced: cpuSeconds(proc.child.pid as number) };
}

async function agentUrl(proc: Started): Promise<string> {
  const line = await waitFor(
    () => proc.logs().find((l) => l.msg === 'license-agent serving'),
    10_000,
    'agent start',
  );
  return String(line.url).replace(/\/metrics$/, '');
}

async function readyLegacy(fake: FakeKubeApi): Promise<{ proc: Started; cpu0: number }> {
  // `node --import tsx`, not the tsx launcher, so that the pid measured is the poller's own.
  const proc = start(process.execPath, [
    '--import',
    'tsx',
    LEGACY,
    fake.kubeconfigPath,
    String((LEGACY_POLL_S / COMPRESSION) * 1000),
  ]);
  await waitFor(() => proc.output().includes('"ready":true'), 30_000, 'legacy poller start');
  return { proc, cpu0: cpuSeconds(proc.child.pid as number) };
}

function finish(fake: FakeKubeApi, proc: Started, cpu0: number): ClientResult {
  const pid = proc.child.pid as number;
  const c = fake.counters.nodes;
  return {
    bytes: c.listBytes + c.watchBytes + c.getBytes,
    watchBytes: c.watchBytes,
    getBytes: c.getBytes,
    listBytes: c.listBytes,
    cpuSeconds: cpuSeconds(pid) - cpu0,
    peakRssBytes: peakRssBytes(pid),
    lists: c.listRequests,
    gets: c.getRequests,
  };
}

/** p50/p99 of `count` sequential scrapes, measured by a client process of its own. */
async function latencies(url: string, count: number): Promise<{ p50: number; p99: number }> {
  const client = start(process.execPath, ['--import', 'tsx', LATENCY_CLIENT, url, String(count)]);
  await client.exited;
  const result = client.logs().find((l) => 'p50' in l);
  if (!result) throw new Error(`latency client failed: ${client.output()}`);
  return result as unknown as { p50: number; p99: number };
}

/** The ceiling: a bare Node HTTP server answering the same body, in its own process like the agent. */
async function bareServer(body: string): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const script = `const body = process.env.BODY;
    const server = require('node:http').createServer((_q, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body));
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'bare serving', port: server.address().port })));`;
  const proc = start(process.execPath, ['-e', script], { BODY: body });
  const line = await waitFor(() => proc.logs().find((l) => l.msg === 'bare serving'), 10_000, 'bare server');
  return { url: `http://127.0.0.1:${line.port}/metrics`, stop: () => proc.stop() };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

async function scenario(nodes: number, withBaselines: boolean) {
  console.log(`\n${nodes} nodes: one simulated hour in ${HOUR_S / COMPRESSION} s…`);
  const { fake: informerFake, names } = await fakeWith(nodes);
  const coresFake = withBaselines ? (await fakeWith(nodes, 4 * CPU_PER_NODE * nodes)).fake : undefined;
  const legacyFake = withBaselines ? (await fakeWith(nodes)).fake : undefined;
  const agent = await readyAgent(informerFake, nodes);
  const coresAgent = coresFake ? await readyAgent(coresFake, nodes, CPU_PER_NODE * nodes) : undefined;
  const legacy = legacyFake ? await readyLegacy(legacyFake) : undefined;
  const fakes = [informerFake, coresFake, legacyFake].filter((f): f is FakeKubeApi => f !== undefined);
  const stop = heartbeats(fakes, names);
  await new Promise((r) => setTimeout(r, (HOUR_S / COMPRESSION) * 1000));
  stop();
  // What the agents received of the last changes (a few ms behind) is theirs: let them catch up.
  await new Promise((r) => setTimeout(r, 1000));
  const informer = finish(informerFake, agent.proc, agent.cpu0);
  const legacyResult = legacy && legacyFake ? finish(legacyFake, legacy.proc, legacy.cpu0) : undefined;
  const coresResult =
    coresAgent && coresFake ? finish(coresFake, coresAgent.proc, coresAgent.cpu0) : undefined;
  const still = (await scrape(`${agent.url}/metrics`)).value('calico_nodes_used');
  if (still !== nodes) throw new Error(`agent counts ${still} nodes, expected ${nodes}`);
  if (coresAgent) {
    const m = await scrape(`${coresAgent.url}/metrics`);
    const [n, c] = [m.value('calico_nodes_used'), m.value('calico_cores_used')];
    if (n !== nodes || c !== CPU_PER_NODE * nodes)
      throw new Error(`cores agent counts ${n} nodes and ${c} cores`);
  }
  await legacy?.proc.stop();
  const coresRss = coresAgent ? peakRssBytes(coresAgent.proc.child.pid as number) : 0;
  await coresAgent?.proc.stop();

  let scrapeFigures: { p50: number; p99: number; bareP50: number; bareP99: number } | undefined;
  if (withBaselines) {
    const agentLat = await latencies(`${agent.url}/metrics`, SCRAPES);
    const bare = await bareServer(await (await fetch(`${agent.url}/metrics`)).text());
    const bareLat = await latencies(bare.url, SCRAPES);
    await bare.stop();
    scrapeFigures = { p50: agentLat.p50, p99: agentLat.p99, bareP50: bareLat.p50, bareP99: bareLat.p99 };
  }
  const rss = peakRssBytes(agent.proc.child.pid as number);
  await agent.proc.stop();
  for (const fake of fakes) await fake.stop();
  const steadyCpu = informer.cpuSeconds - (agent.cpuSynced - agent.cpu0);
  const cores =
    coresResult && coresAgent
      ? {
          ...coresResult,
          peakRssBytes: coresRss,
          syncCpu: coresAgent.cpuSynced - coresAgent.cpu0,
          steadyCpu: coresResult.cpuSeconds - (coresAgent.cpuSynced - coresAgent.cpu0),
        }
      : undefined;
  return {
    nodes,
    informer: { ...informer, peakRssBytes: rss, steadyCpu },
    cores,
    legacy: legacyResult,
    scrape: scrapeFigures,
  };
}

const results = [];
for (const [i, nodes] of NODE_COUNTS.entries()) results.push(await scenario(nodes, i === 0));

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}×` : '—');
const rows = results.map((r) => {
  const i = r.informer;
  const l = r.legacy;
  const cells = [
    r.nodes.toLocaleString('en'),
    `${mb(i.bytes)} MB / ${mb(i.watchBytes)} MB`,
    l ? `${mb(l.bytes)} MB` : 'not run',
    l ? `${ratio(l.bytes, i.bytes)} / ${ratio(l.bytes, i.watchBytes)}` : '—',
    `${i.cpuSeconds.toFixed(2)} s / ${i.steadyCpu.toFixed(2)} s`,
    l ? `${l.cpuSeconds.toFixed(2)} s` : 'not run',
    l ? `${ratio(l.cpuSeconds, i.cpuSeconds)} / ${ratio(l.cpuSeconds, i.steadyCpu)}` : '—',
    String(i.lists),
    `${mb(i.peakRssBytes)} MB`,
  ];
  return `| ${cells.join(' | ')} |`;
});
const s = results[0]?.scrape;
const first = results[0];
const c = first?.cores;
const l0 = first?.legacy;
// Later hours of the cores mode: the watch and the GETs of the hour, plus one full list (the
// reconciliation) every CORE_RESYNC_H hours, in bytes and in CPU (its parse costs what the first did).
const coresLater = c
  ? {
      bytes: c.watchBytes + c.getBytes + c.listBytes / CORE_RESYNC_H,
      cpu: c.steadyCpu + c.syncCpu / CORE_RESYNC_H,
    }
  : undefined;
const coreRows =
  c && l0 && first
    ? [
        `| nodes only (metadata list + watch) | ${mb(first.informer.bytes)} MB / ${mb(first.informer.watchBytes)} MB | ${ratio(l0.bytes, first.informer.bytes)} / ${ratio(l0.bytes, first.informer.watchBytes)} | ${first.informer.cpuSeconds.toFixed(2)} s / ${first.informer.steadyCpu.toFixed(2)} s | ${ratio(l0.cpuSeconds, first.informer.cpuSeconds)} / ${ratio(l0.cpuSeconds, first.informer.steadyCpu)} | ${first.informer.lists} / ${first.informer.gets} | ${mb(first.informer.peakRssBytes)} MB |`,
        `| nodes and cores (whole-Node list, metadata watch, GET per added node) | ${mb(c.bytes)} MB / ${mb(coresLater?.bytes ?? 0)} MB | ${ratio(l0.bytes, c.bytes)} / ${ratio(l0.bytes, coresLater?.bytes ?? 0)} | ${c.cpuSeconds.toFixed(2)} s / ${(coresLater?.cpu ?? 0).toFixed(2)} s | ${ratio(l0.cpuSeconds, c.cpuSeconds)} / ${ratio(l0.cpuSeconds, coresLater?.cpu ?? 0)} | ${c.lists} / ${c.gets} | ${mb(c.peakRssBytes)} MB |`,
        `| list-per-poll baseline (whole-Node list every 2 min) | ${mb(l0.bytes)} MB | — | ${l0.cpuSeconds.toFixed(2)} s | — | ${l0.lists} / 0 | — |`,
      ]
    : [];
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const big = results.find((r) => r.nodes >= 50_000);
const checks = first?.legacy
  ? [
      `- \`/metrics\` p99 < 2 ms: ${s?.p99.toFixed(2)} ms — ${verdict((s?.p99 ?? Infinity) < 2)}`,
      `- bytes ≥ 10× lower at ${first.nodes.toLocaleString('en')} nodes: ${ratio(first.legacy.bytes, first.informer.bytes)} first hour, ${ratio(first.legacy.bytes, first.informer.watchBytes)} later hours — ${verdict(first.legacy.bytes >= 10 * first.informer.bytes)} / ${verdict(first.legacy.bytes >= 10 * first.informer.watchBytes)}`,
      `- CPU ≥ 10× lower at ${first.nodes.toLocaleString('en')} nodes: ${ratio(first.legacy.cpuSeconds, first.informer.cpuSeconds)} first hour, ${ratio(first.legacy.cpuSeconds, first.informer.steadyCpu)} later hours — ${verdict(first.legacy.cpuSeconds >= 10 * first.informer.cpuSeconds)} / ${verdict(first.legacy.cpuSeconds >= 10 * first.informer.steadyCpu)}`,
      ...(c && coresLater
        ? [
            `- cores mode, bytes ≥ 8× lower at ${first.nodes.toLocaleString('en')} nodes: ${ratio(first.legacy.bytes, c.bytes)} first hour, ${ratio(first.legacy.bytes, coresLater.bytes)} later hours — ${verdict(first.legacy.bytes >= 8 * c.bytes)} / ${verdict(first.legacy.bytes >= 8 * coresLater.bytes)}`,
          ]
        : []),
      ...(big
        ? [
            `- RSS < 120 MB at ${big.nodes.toLocaleString('en')} nodes: ${mb(big.informer.peakRssBytes)} MB — ${verdict(big.informer.peakRssBytes < 120e6)}`,
          ]
        : []),
    ]
  : [];
const section = `## Agent

Command: \`npm run bench\` (this part alone: \`npx tsx bench/agent/run.ts\`), ${new Date().toISOString().slice(0, 10)}, on this project's
2-core machine (1-minute load average ${loadavg()[0]?.toFixed(1)} at the end: other work shares it). The fake Kubernetes API (\`test/fakes/kube-api.ts\`) holds full Node objects of about
8.7 KB (2.1 KB as metadata) and modifies every node once per 5 simulated minutes, as kubelets do.
One simulated hour runs in ${HOUR_S / COMPRESSION} s (×${COMPRESSION}). The informer is the real \`license-agent\`
process (metadata-only paginated list, then a watch); the baseline is Tigera's approach, a full node list
every 2 simulated minutes (\`bench/agent/legacy-poller.ts\`), run at the same time against its own fake
with the same heartbeats. Bytes are what the API sent; CPU is each process's user+system time from
start of its first request to the end of the hour; RSS is the agent's peak (VmHWM).

Informer figures are given as *first hour / each later hour*: the first hour includes the initial
paginated list, later hours are the watch alone (CPU measured from the end of the initial sync). In
the hour ${(CHURN_PER_HOUR * 100).toFixed(0)} % of the nodes are replaced (one removed, one added), as autoscaling does.

| nodes | informer bytes | list-per-poll bytes | ratio | informer CPU | list-per-poll CPU | ratio | informer list pages | agent peak RSS |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

### Counting CPU cores (a core-limited licence), ${first?.nodes.toLocaleString('en')} nodes, same run

Three clients at once, each against its own fake with the same heartbeats and churn: the agent on a
node-limited licence, the agent on a core-limited licence (counting cores too), and the list-per-poll
baseline. For the cores mode, *each later hour* is the watch and the GETs of the hour plus one full
list every ${CORE_RESYNC_H} hours (the default \`--core-resync-interval\`), bytes and CPU alike: ${c ? `${mb(c.watchBytes)} MB watch + ${mb(c.getBytes)} MB GETs + ${mb(c.listBytes)} MB / ${CORE_RESYNC_H}` : '—'}.

| mode | bytes, first hour / later hours | lower than list-per-poll | CPU, first hour / later hours | lower than list-per-poll | list pages / GETs | peak RSS |
|---|---|---|---|---|---|---|
${coreRows.join('\n')}

\`/metrics\` latency over ${SCRAPES.toLocaleString('en')} sequential scrapes on one keep-alive connection, against a bare
Node HTTP server answering the same body in the same run: agent p50 ${s?.p50.toFixed(3)} ms, p99 ${s?.p99.toFixed(3)} ms;
bare server p50 ${s?.bareP50.toFixed(3)} ms, p99 ${s?.bareP99.toFixed(3)} ms (agent p99 / bare p99 = ${s ? (s.p99 / s.bareP99).toFixed(1) : '—'}).

Against the targets, this run:
${checks.join('\n')}

Reading the figures: the byte ratio is structural — (full node / metadata) × (heartbeat period / poll
period) = (8.7 / 2.2) × (300 s / 120 s) ≈ 10 — so it sits at the target whatever the code does. With
cores counted, the first hour's list is of whole Nodes (${c ? mb(c.listBytes) : '—'} MB instead of ${first ? mb(first.informer.listBytes) : '—'} MB of metadata): one
list-per-poll's worth against the baseline's thirty, so the first hour's ratio is at best about
30 / (1 + watch / list) ≈ 8; the watch is the same metadata watch (heartbeats skipped unparsed), each
added node costs one GET of a whole Node, and later hours pay a sixth of a list each. The agent's CPU
is mostly Node's cost of receiving one small event per heartbeat; the CPU ratios move a lot between
runs on this shared 2-core machine (10 ms tick resolution, other engineers' builds and tests running:
5.7× to 16× over the runs so far). The real API server gzips list responses over 128 KB for clients
that ask (Go clients do), which this fake does not: against a real cluster the list-per-poll byte
figure would be several times smaller, while its CPU (decompress, then parse 43 MB) would not. Watches
are renewed at the agent's poll interval in real time, so under compression the hour sees fewer
renewals than a real one (each costs one request and no list).
`;
console.log(`\n${section}`);
writeSection('Agent', section);
