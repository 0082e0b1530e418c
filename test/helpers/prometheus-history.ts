// A real Prometheus holding history: series written as OpenMetrics, turned into TSDB blocks by
// `promtool tsdb create-blocks-from openmetrics`, and a Prometheus started on them (no scrapes) with
// a retention long enough to keep them. Retention counts back from the newest block, so a short one
// would delete the start of a month of backfilled data.
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Started } from './process.js';
import { startPrometheus, type Tools } from './tools.js';

/** One series: its labels and its samples as [Unix ms, value]. */
export interface HistorySeries {
  name: string;
  labels: Record<string, string>;
  samples: Iterable<[number, number]>;
}

const value = (v: number) =>
  v === Number.POSITIVE_INFINITY ? '+Inf' : v === Number.NEGATIVE_INFINITY ? '-Inf' : String(v);
const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

/** Writes gauges in the OpenMetrics text format, each metric family in one block, samples in time order. */
export async function writeOpenMetrics(path: string, series: HistorySeries[]): Promise<number> {
  const out = createWriteStream(path);
  let failed: Error | undefined;
  out.on('error', (err) => {
    failed = err;
  });
  const write = async (text: string) => {
    if (failed) throw failed;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  const families = new Map<string, HistorySeries[]>();
  for (const s of series) families.set(s.name, [...(families.get(s.name) ?? []), s]);
  let count = 0;
  for (const [name, members] of families) {
    await write(`# TYPE ${name} gauge\n`);
    for (const s of members) {
      const prefix = `${name}{${labelText(s.labels)}} `;
      let chunk: string[] = [];
      for (const [t, v] of s.samples) {
        chunk.push(`${prefix}${value(v)} ${t % 1000 === 0 ? t / 1000 : (t / 1000).toFixed(3)}\n`);
        count++;
        if (chunk.length === 10_000) {
          await write(chunk.join(''));
          chunk = [];
        }
      }
      await write(chunk.join(''));
    }
  }
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return count;
}

export interface HistoryPrometheus {
  url: string;
  process: Started;
  stop: () => Promise<void>;
}

/**
 * Backfills `openMetricsFile` with `promtool` into a new data folder and starts `prometheus` on it,
 * on a free loopback port. Blocks of up to 31 days: promtool reads the input once per block.
 */
export async function startPrometheusWithHistory(
  tools: Tools,
  openMetricsFile: string,
): Promise<HistoryPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'lm-history-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  await promisify(execFile)(
    tools.promtool,
    ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=744h', openMetricsFile, data],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1m\n');
  const prometheus = await startPrometheus(tools, {
    config,
    dataDir: data,
    flags: ['--storage.tsdb.retention.time=100y'],
  });
  return {
    url: prometheus.url,
    process: prometheus.process,
    stop: async () => {
      await prometheus.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
