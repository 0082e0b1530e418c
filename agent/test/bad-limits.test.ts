// A LicenseKey whose status limit is not a whole number ≥ 0 (a string, negative, fractional, out of
// range) is a read error: the last good values stay, the error is counted and logged once, and the
// metrics say so. Before, the limit metric vanished while license_agent_source_up stayed 1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, waitFor } from '../../test/helpers/metrics.js';
import { createRegistry } from '../src/metrics.js';
import { Snapshot } from '../src/snapshot.js';
import { FileSource } from '../src/sources/file.js';

const SAMPLE = readFileSync(new URL('../examples/licensekey.yaml', import.meta.url), 'utf8');
const withMaxNodes = (value: string) => SAMPLE.replace(/maxnodes: \d+/, `maxnodes: ${value}`);

let dir: string;
let source: FileSource | undefined;

afterEach(async () => {
  await source?.stop();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A file source on license.yaml with the real registry and a logger whose lines are kept. */
function start() {
  dir = mkdtempSync(join(tmpdir(), 'lm-limits-'));
  writeFileSync(join(dir, 'license.yaml'), SAMPLE);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const snapshot = new Snapshot();
  const registry = createRegistry({ snapshot, defaultGraceSeconds: 0, version: 't', source: 'file' });
  source = new FileSource({
    snapshot,
    logger: pino({ level: 'info' }, sink),
    licenseFile: join(dir, 'license.yaml'),
    nodeCount: { value: 95 },
    pollIntervalMs: 50, // re-read often: the error must still be logged once
  });
  source.start();
  return { snapshot, lines, read: async () => new Metrics(await registry.metrics()) };
}

describe('a bad limit in the LicenseKey status', () => {
  it.each([
    ['a string', '"100"', 'not_a_number'],
    ['negative', '-5', 'negative'],
    ['fractional', '99.5', 'fractional'],
    ['out of range', '1e300', 'out_of_range'],
    ['infinite', '.inf', 'out_of_range'],
  ])(
    '%s (%s): last good limit kept, error counted and logged once, source down',
    async (_, value, problem) => {
      const { snapshot, lines, read } = start();
      await waitFor(() => snapshot.up, 2000, 'first read');
      expect((await read()).value('calico_maximum_licensed_nodes')).toBe(100);

      writeFileSync(join(dir, 'license.yaml'), withMaxNodes(value));
      const m = await waitFor(
        async () => {
          const m = await read();
          return (m.value('license_agent_errors_total', { reason: 'license_limit' }) ?? 0) >= 3 && m;
        },
        3000,
        'license_limit errors counted at each re-read',
      );
      expect(m.value('calico_maximum_licensed_nodes')).toBe(100);
      expect(m.value('license_agent_source_up')).toBe(0);
      expect(m.value('calico_license_limit_invalid', { field: 'maxnodes', problem })).toBe(1);
      expect(m.value('license_number_of_days')).toBeDefined();
      const logged = lines.filter((l) => String(l.err ?? '').includes('status.maxnodes'));
      expect(logged).toHaveLength(1);
      expect(logged[0]?.err).toContain('expected a whole number ≥ 0');

      writeFileSync(join(dir, 'license.yaml'), withMaxNodes('120'));
      const fixed = await waitFor(
        async () => {
          const m = await read();
          return m.value('license_agent_source_up') === 1 && m;
        },
        3000,
        'source up again',
      );
      expect(fixed.value('calico_maximum_licensed_nodes')).toBe(120);
      expect(fixed.samples('calico_license_limit_invalid')).toEqual([]);
    },
  );
});
