import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/metrics.js';
import { Snapshot } from '../src/snapshot.js';
import { FileSource, parseCount, parseLicenseKeyYaml } from '../src/sources/file.js';

const SAMPLE = readFileSync(new URL('../examples/licensekey.yaml', import.meta.url), 'utf8');
const logger = pino({ level: 'silent' });
const withExpiry = (expiry: string) => SAMPLE.replace(/expiry: ".*"/, `expiry: "${expiry}"`);
const expiryOf = (s: Snapshot) => (s.license?.status as { expiry?: string } | undefined)?.expiry;

let dir: string;
let source: FileSource | undefined;

function start(nodeCount: { value: number } | { file: string }, log = logger) {
  const snapshot = new Snapshot();
  source = new FileSource({
    snapshot,
    logger: log,
    licenseFile: join(dir, 'license.yaml'),
    nodeCount,
    pollIntervalMs: 60_000,
  });
  source.start();
  return snapshot;
}

afterEach(async () => {
  await source?.stop();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('file source', () => {
  it('reads the sample licence and a fixed node count', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-file-'));
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    const snapshot = start({ value: 95 });
    await waitFor(() => snapshot.ready, 2000, 'first read');
    expect(expiryOf(snapshot)).toBe('2027-03-31T23:59:59Z');
    expect(snapshot.nodeCount).toBe(95);
    expect(snapshot.up).toBe(true);
  });

  it('reloads the licence when the file is rewritten or replaced by rename', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-file-'));
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    const snapshot = start({ value: 1 });
    await waitFor(() => snapshot.ready, 2000, 'first read');
    writeFileSync(join(dir, 'license.yaml'), withExpiry('2028-01-01T00:00:00Z'));
    await waitFor(() => expiryOf(snapshot) === '2028-01-01T00:00:00Z', 3000, 'in-place rewrite');
    // ConfigMap volumes and editors swap files by rename.
    writeFileSync(join(dir, 'license.yaml.tmp'), withExpiry('2029-01-01T00:00:00Z'));
    renameSync(join(dir, 'license.yaml.tmp'), join(dir, 'license.yaml'));
    await waitFor(() => expiryOf(snapshot) === '2029-01-01T00:00:00Z', 3000, 'rename');
  });

  it('follows a node count file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-file-'));
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    writeFileSync(join(dir, 'nodes'), '12\n');
    const snapshot = start({ file: join(dir, 'nodes') });
    await waitFor(() => snapshot.nodeCount === 12, 2000, 'node count 12');
    writeFileSync(join(dir, 'nodes'), '13\n');
    await waitFor(() => snapshot.nodeCount === 13, 3000, 'node count 13');
  });

  it('a broken file counts an error and keeps the last good values', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-file-'));
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    writeFileSync(join(dir, 'nodes'), '12\n');
    const snapshot = start({ file: join(dir, 'nodes') });
    await waitFor(() => snapshot.ready, 2000, 'first read');
    writeFileSync(join(dir, 'license.yaml'), 'kind: LicenseKey\nstatus: [unclosed');
    writeFileSync(join(dir, 'nodes'), 'many\n');
    await waitFor(() => (snapshot.errors.get('license_parse') ?? 0) > 0, 3000, 'parse error counted');
    await waitFor(() => (snapshot.errors.get('node_count_parse') ?? 0) > 0, 3000, 'node count error counted');
    expect(snapshot.up).toBe(false);
    expect(expiryOf(snapshot)).toBe('2027-03-31T23:59:59Z');
    expect(snapshot.nodeCount).toBe(12);
    rmSync(join(dir, 'license.yaml'));
    await waitFor(() => (snapshot.errors.get('license_read') ?? 0) > 0, 3000, 'read error counted');
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    writeFileSync(join(dir, 'nodes'), '14\n');
    await waitFor(() => snapshot.up && snapshot.nodeCount === 14, 3000, 'recovery');
  });

  it('says "keeping the last good values" only when there are some', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-file-'));
    writeFileSync(join(dir, 'license.yaml'), 'kind: LicenseKey\nstatus: [unclosed');
    const lines: { msg: string }[] = [];
    const capture = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const snapshot = start({ value: 3 }, capture);
    await waitFor(() => lines.length > 0, 2000, 'the first failure logged');
    expect(lines.map((l) => l.msg)).toEqual(['reading the licence source failed; no values yet']);
    writeFileSync(join(dir, 'license.yaml'), SAMPLE);
    await source?.reload();
    expect(snapshot.up).toBe(true);
    writeFileSync(join(dir, 'license.yaml'), 'kind: LicenseKey\nstatus: [still unclosed');
    await source?.reload();
    expect(lines.map((l) => l.msg).at(-1)).toBe(
      'reading the licence source failed; keeping the last good values',
    );
  });
});

describe('parseLicenseKeyYaml', () => {
  it('accepts a List holding the LicenseKey', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n${SAMPLE.split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => (l === '' ? l : `  ${l}`))
      .join('\n')
      .replace(/^ {2}apiVersion/m, '- apiVersion')}`;
    expect(parseLicenseKeyYaml(list, 'list.yaml').metadata?.name).toBe('default');
  });

  it.each([
    ['', 'x.yaml: expected a LicenseKey object, got an empty document'],
    ['- a\n- b', 'x.yaml: expected a LicenseKey object, got a list'],
    ['kind: Secret\nmetadata: {name: default}', 'x.yaml: kind is "Secret", expected "LicenseKey"'],
    [
      'kind: LicenseKey\nmetadata: {name: other}',
      'x.yaml: metadata.name is "other", expected "default" (the singleton)',
    ],
  ])('rejects %j naming what is wrong', (text, message) => {
    expect(() => parseLicenseKeyYaml(text, 'x.yaml')).toThrow(message);
  });

  it('rejects a node count that is not a whole number', () => {
    expect(() => parseCount('-3', 'n', 'node count')).toThrow(
      'n: node count is "-3", expected a whole number ≥ 0',
    );
    expect(parseCount(' 7\n', 'n', 'core count')).toBe(7);
  });
});
