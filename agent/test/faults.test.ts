// Fault injection for the agent's inputs: a licence file rewritten in place (read while it is empty or
// half written), impossible calendar dates, node counts no cluster has.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/metrics.js';
import { parseCommandLine } from '../src/config.js';
import { evaluateLicense, type LicenseKey } from '../src/license.js';
import { Snapshot } from '../src/snapshot.js';
import { FileSource, parseCount } from '../src/sources/file.js';

const SAMPLE = readFileSync(new URL('../examples/licensekey.yaml', import.meta.url), 'utf8');
const logger = pino({ level: process.env.AGENT_TEST_LOG ?? 'silent' });

let dir: string;
let source: FileSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A file source on a fresh copy of the sample licence, once it has read it. */
async function started() {
  dir = mkdtempSync(join(tmpdir(), 'lm-faults-'));
  const file = join(dir, 'license.yaml');
  writeFileSync(file, SAMPLE);
  const snapshot = new Snapshot();
  const fileSource = new FileSource({
    snapshot,
    logger,
    licenseFile: file,
    nodeCount: { value: 3 },
    pollIntervalMs: 60_000,
  });
  source = fileSource;
  fileSource.start();
  await waitFor(() => snapshot.ready, 2000, 'first read');
  return { file, snapshot, source: fileSource };
}

describe('a licence file rewritten in place', () => {
  it.each([
    ['empty for a moment', ''],
    ['half written for a moment', SAMPLE.slice(0, Math.floor(SAMPLE.length / 2))],
  ])('%s: no error counted, no blip of the source', async (_name, transient) => {
    const { file, snapshot, source } = await started();
    const expiries: unknown[] = [];
    const setLicense = snapshot.setLicense.bind(snapshot);
    snapshot.setLicense = (license, now) => {
      expiries.push((license?.status as { expiry?: unknown } | undefined)?.expiry);
      return setLicense(license, now);
    };
    // What a non-atomic writer (truncate, then write) looks like to a reader in between.
    writeFileSync(file, transient);
    const reading = source.reload();
    setTimeout(() => writeFileSync(file, SAMPLE.replace('2027-03-31', '2028-03-31')), 40);
    await reading;
    await waitFor(
      () => (snapshot.license?.status as { expiry?: string } | undefined)?.expiry === '2028-03-31T23:59:59Z',
      3000,
      'the rewritten licence',
    );
    expect(Object.fromEntries(snapshot.errors)).toEqual({});
    expect(snapshot.up).toBe(true);
    // Never the half-written document: only the whole new one.
    expect(new Set(expiries)).toEqual(new Set(['2028-03-31T23:59:59Z']));
  });

  it('a file that stays broken still counts an error', async () => {
    const { file, snapshot, source } = await started();
    writeFileSync(file, '');
    await source.reload();
    expect(snapshot.errors.get('license_parse')).toBeGreaterThan(0);
  });
});

const key = (status: Record<string, unknown>): LicenseKey => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'LicenseKey',
  metadata: { name: 'default' },
  status,
});

describe('impossible dates', () => {
  it.each([
    '2026-02-31T00:00:00Z',
    '2026-02-29T00:00:00Z', // 2026 is no leap year
    '2026-04-31T12:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01T23:60:00Z',
    '2026-12-01T23:59:60Z',
    '2026-12-01T12:00:00+24:00',
  ])('expiry %s is invalid, not another day', (expiry) => {
    const view = evaluateLicense(key({ expiry, maxnodes: 10 }), 0, 86_400);
    expect(view.state).toBe('invalid');
    expect(view.reason).toContain('is not an RFC 3339 time');
  });

  it('a real leap day and an offset are read', () => {
    expect(evaluateLicense(key({ expiry: '2028-02-29T23:59:59Z' }), 0, 0).expirySeconds).toBe(
      Date.UTC(2028, 1, 29, 23, 59, 59) / 1000,
    );
    expect(evaluateLicense(key({ expiry: '2027-03-31T23:59:59.5+02:00' }), 0, 0).expirySeconds).toBe(
      Date.UTC(2027, 2, 31, 21, 59, 59, 500) / 1000,
    );
  });
});

describe('node counts no cluster has', () => {
  it('a licence with maxnodes 1e23 has no limit read from it, not a huge one', () => {
    const view = evaluateLicense(key({ expiry: '2027-03-31T23:59:59Z', maxnodes: 1e23 }), 0, 0);
    expect(view.maxNodes).toBeUndefined();
    expect(evaluateLicense(key({ expiry: '2027-03-31T23:59:59Z', maxnodes: 5000 }), 0, 0).maxNodes).toBe(
      5000,
    );
  });

  it('a node or core count file or flag of 1e23 is refused, naming the value', () => {
    const expected = 'expected a whole number ≥ 0 (at most 9007199254740991)';
    expect(() => parseCount('100000000000000000000000\n', 'nodes', 'node count')).toThrow(
      `nodes: node count is "100000000000000000000000", ${expected}`,
    );
    expect(() => parseCount('1e23', 'cores', 'core count')).toThrow(expected);
    dir = mkdtempSync(join(tmpdir(), 'lm-faults-'));
    writeFileSync(join(dir, 'l.yaml'), SAMPLE);
    for (const [flag, value] of [
      ['--node-count', '1e23'],
      ['--node-count', '100000000000000000000000'],
      ['--core-count', '100000000000000000000000'],
    ] as const) {
      const args = [
        '--source',
        'file',
        '--license-file',
        join(dir, 'l.yaml'),
        '--node-count',
        '1',
        flag,
        value,
      ];
      expect(() =>
        parseCommandLine(flag === '--node-count' ? args.filter((_, i) => i < 4 || i > 5) : args, {}),
      ).toThrow(`${flag}: "${value}" is not valid: ${expected}`);
    }
  });
});
