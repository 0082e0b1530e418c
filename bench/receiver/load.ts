// A closed-loop HTTP load generator: `concurrency` keep-alive connections, each sending the next
// request as soon as the previous answer is in, for a fixed time. Latency is measured per request from
// the first byte written to the last byte of the answer.
import http from 'node:http';

/** One URL, or several (replicas behind a Service): requests are spread over them in turn. */
export type Targets = string | readonly string[];

function targetsOf(url: Targets, maxSockets: number): { target: URL; agent: http.Agent }[] {
  return (typeof url === 'string' ? [url] : url).map((u) => ({
    target: new URL(u),
    agent: new http.Agent({ keepAlive: true, maxSockets }),
  }));
}

export interface LoadOptions {
  url: Targets;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  headers?: Record<string, string>;
  /** The body of request number `i`. */
  body: (i: number) => string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** POSTs a JSON body on a keep-alive agent; resolves with the status once the answer is read. */
function post(
  target: URL,
  agent: http.Agent,
  body: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const targets = targetsOf(options.url, options.concurrency);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let sent = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  let measured = 0;

  const worker = async (_: unknown, w: number) => {
    const { target, agent } = targets[w % targets.length] as (typeof targets)[0];
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const status = await post(target, agent, options.body(sent++), options.headers).catch(() => 0);
      const t1 = performance.now();
      if (t0 >= measureFrom) {
        latencies.push(t1 - t0);
        statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
        measured++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  for (const t of targets) t.agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  const seconds = options.durationMs / 1000;
  return {
    requests: measured,
    seconds,
    perSecond: measured / seconds,
    statuses,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

export interface RateOptions {
  url: Targets;
  /** Requests per second, sent on a fixed schedule whatever the answers (open loop). */
  rate: number;
  durationMs: number;
  headers?: Record<string, string>;
  body: (i: number) => string;
}

/**
 * Open-loop load: requests leave on schedule, and each latency counts from its scheduled time, so
 * that a slow answer cannot hide the requests that would have queued behind it.
 */
export async function runRate(options: RateOptions): Promise<LoadResult> {
  const targets = targetsOf(options.url, 256);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const interval = 1000 / options.rate;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + i * interval - performance.now();
    // Sleep in steps of at least 2 ms (timer resolution); requests due meanwhile leave together.
    if (wait >= 2) await new Promise((r) => setTimeout(r, wait));
    const scheduled = Math.min(performance.now(), start + i * interval);
    const body = options.body(i);
    const { target, agent } = targets[i % targets.length] as (typeof targets)[0];
    inFlight.push(
      post(target, agent, body, options.headers)
        .catch(() => 0)
        .then((status) => {
          if (status !== 0) latencies.push(performance.now() - scheduled);
          statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
        }),
    );
  }
  await Promise.all(inFlight);
  for (const t of targets) t.agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    requests: latencies.length,
    seconds: options.durationMs / 1000,
    perSecond: latencies.length / (options.durationMs / 1000),
    statuses,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

/** The result with the median throughput. */
export function median(results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor(sorted.length / 2)] as LoadResult;
}
