// Cores with the file source (--core-count, --core-count-file) and the core flags of both sources.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type Metrics, scrape, waitFor } from '../../test/helpers/metrics.js';
import { type RunningAgent, startAgent } from '../src/agent.js';
import { ConfigError, parseCommandLine } from '../src/config.js';

const EXAMPLES = new URL('../examples/', import.meta.url).pathname;
const CORES_LICENCE = join(EXAMPLES, 'licensekey-cores.yaml');
const BOTH_LICENCE = join(EXAMPLES, 'licensekey-nodes-and-cores.yaml');

let agent: RunningAgent | undefined;
let dir: string | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const config = (args: string[]) => {
  const command = parseCommandLine([...args, '--listen', '127.0.0.1:0'], {});
  if (command.kind !== 'run') throw new Error('expected a run command');
  return command.config;
};

/** The agent in-process with a logger whose lines are kept. */
async function run(args: string[]) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  agent = await startAgent(config(args), pino({ level: 'info' }, sink));
  const url = `${agent.url}/metrics`;
  await waitFor(async () => (await fetch(`${agent?.url}/readyz`)).status === 200, 5000, 'ready');
  const metrics = () => scrape(url);
  /** Scrapes until `check` holds; returns those metrics. */
  const until = (check: (m: Metrics) => boolean, what: string) =>
    waitFor(
      async () => {
        const m = await metrics();
        return check(m) && m;
      },
      3000,
      what,
    ) as Promise<Metrics>;
  return { lines, metrics, until };
}

/** The file source on `licence` with 10 nodes in use. */
const fileArgs = (licence: string, ...more: string[]) => [
  '--source',
  'file',
  '--license-file',
  licence,
  '--node-count',
  '10',
  ...more,
];
const errors = (m: Metrics, reason: string) => m.value('license_agent_errors_total', { reason }) ?? 0;

describe('file source: core count', () => {
  it('--core-count: cores used and licensed beside the nodes', async () => {
    const a = await run([
      '--source',
      'file',
      '--license-file',
      BOTH_LICENCE,
      '--node-count',
      '95',
      '--core-count',
      '470',
    ]);
    const m = await a.until((m) => m.value('calico_cores_used') === 470, '470 cores');
    expect(m.value('calico_maximum_licensed_cores')).toBe(512);
    expect(m.value('calico_nodes_used')).toBe(95);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(100);
    expect(m.value('license_agent_source_up')).toBe(1);
  });

  it('--core-count-file: followed on change; a broken one counts core_count_parse and keeps the last count', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-cores-'));
    const cores = join(dir, 'cores');
    writeFileSync(cores, '300\n');
    const a = await run(fileArgs(CORES_LICENCE, '--core-count-file', cores, '--poll-interval', '200ms'));
    await a.until((m) => m.value('calico_cores_used') === 300, '300 cores'); // read after the nodes
    writeFileSync(cores, '520\n');
    await a.until((m) => m.value('calico_cores_used') === 520, '520 cores');

    writeFileSync(cores, 'lots\n');
    const broken = await a.until((m) => errors(m, 'core_count_parse') > 0, 'core_count_parse counted');
    expect(broken.value('calico_cores_used')).toBe(520);
    expect(broken.value('license_agent_source_up')).toBe(0);
    const logged = `${cores}: core count is "lots", expected a whole number ≥ 0`;
    expect(a.lines.some((l) => String(l.err).includes(logged))).toBe(true);

    rmSync(cores);
    await a.until((m) => errors(m, 'cores_read') > 0, 'cores_read counted');
    writeFileSync(cores, '7\n');
    await a.until(
      (m) => m.value('license_agent_source_up') === 1 && m.value('calico_cores_used') === 7,
      'recovered',
    );
  });

  it('a core-limited licence without a core count: cores used absent, said once in the log', async () => {
    const a = await run(fileArgs(CORES_LICENCE, '--poll-interval', '100ms'));
    await new Promise((r) => setTimeout(r, 400)); // a few re-reads
    const m = await a.metrics();
    expect(m.value('calico_cores_used')).toBeUndefined();
    expect(m.value('calico_maximum_licensed_cores')).toBe(512);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(Number.POSITIVE_INFINITY);
    expect(m.value('license_agent_source_up')).toBe(1);
    const warnings = a.lines.filter((l) => String(l.msg).includes('--core-count'));
    expect(warnings).toHaveLength(1);
  });
});

describe('core flags', () => {
  it('read --count-cores and --core-resync-interval for the Kubernetes source (6h by default)', () => {
    expect(config(['--source', 'kubernetes'])).toMatchObject({ coreResyncSeconds: 21_600 });
    expect(config(['--source', 'kubernetes'])).not.toHaveProperty('countCores');
    expect(config(['--count-cores', '--core-resync-interval', '2h'])).toMatchObject({
      countCores: true,
      coreResyncSeconds: 7200,
    });
  });

  it.each([
    [
      fileArgs(CORES_LICENCE, '--core-count', '4.5'),
      '--core-count: "4.5" is not valid: expected a whole number ≥ 0',
    ],
    [
      fileArgs(CORES_LICENCE, '--core-count', '4', '--core-count-file', CORES_LICENCE),
      '--core-count / --core-count-file: expected at most one of them',
    ],
    [
      fileArgs(CORES_LICENCE, '--core-count-file', '/no/such/file'),
      '--core-count-file: no such file: /no/such/file',
    ],
    [fileArgs(CORES_LICENCE, '--count-cores'), '--count-cores: only valid with --source kubernetes'],
    [
      fileArgs(CORES_LICENCE, '--core-resync-interval', '1h'),
      '--core-resync-interval: only valid with --source kubernetes',
    ],
    [['--source', 'kubernetes', '--core-count', '4'], '--core-count: only valid with --source file'],
    [
      ['--source', 'kubernetes', '--core-resync-interval', 'often'],
      '--core-resync-interval: "often" is not valid: expected a Prometheus duration such as',
    ],
  ])('%j is refused, naming the flag', (args, message) => {
    expect(() => config(args)).toThrow(ConfigError);
    expect(() => config(args)).toThrow(message);
  });
});
