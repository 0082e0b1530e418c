import { describe, expect, it } from 'vitest';
import { Metrics } from '../../test/helpers/metrics.js';
import { LICENSE_STATES, type LicenseKey } from '../src/license.js';
import { createRegistry } from '../src/metrics.js';
import { Snapshot } from '../src/snapshot.js';

const DAY = 86_400;
const EXPIRY_S = Date.parse('2027-03-31T23:59:59Z') / 1000;
const license = (status: Record<string, unknown>): LicenseKey =>
  ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'LicenseKey',
    metadata: { name: 'default' },
    spec: { token: 'SECRET-TOKEN', certificate: 'SECRET-CERT' },
    status,
  }) as LicenseKey;
const VALID = license({
  expiry: '2027-03-31T23:59:59Z',
  maxnodes: 100,
  package: 'Enterprise',
  gracePeriod: '90d',
});

function setup() {
  const snapshot = new Snapshot();
  let now = EXPIRY_S - 10 * DAY;
  const registry = createRegistry({
    snapshot,
    defaultGraceSeconds: 30 * DAY,
    version: '1.2.3',
    source: 'file',
    now: () => now,
  });
  return {
    snapshot,
    setNow: (s: number) => {
      now = s;
    },
    read: async () => new Metrics(await registry.metrics()),
    text: () => registry.metrics(),
  };
}

const status = (m: Metrics) =>
  Object.fromEntries(LICENSE_STATES.map((s) => [s, m.value('calico_license_status', { status: s })]));

describe('metrics', () => {
  it('before the first read: health only, no licence values, status all zero', async () => {
    const { read } = setup();
    const m = await read();
    expect(m.value('license_agent_source_up')).toBe(0);
    expect(m.value('license_number_of_days')).toBeUndefined();
    expect(m.value('calico_license_valid')).toBeUndefined();
    expect(m.value('calico_nodes_used')).toBeUndefined();
    expect(Object.values(status(m))).toEqual([0, 0, 0, 0, 0]);
    expect(m.value('license_agent_build_info', { version: '1.2.3', source: 'file' })).toBe(1);
  });

  it('a valid licence: legacy and new gauges', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(VALID, EXPIRY_S - 10 * DAY);
    snapshot.setNodeCount(95, EXPIRY_S - 10 * DAY);
    const m = await read();
    expect(m.value('license_number_of_days')).toBe(10);
    expect(m.value('calico_nodes_used')).toBe(95);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(100);
    expect(m.value('calico_license_valid')).toBe(1);
    expect(m.value('calico_license_expiry_timestamp_seconds')).toBe(EXPIRY_S);
    expect(m.value('calico_license_grace_period_seconds')).toBe(90 * DAY);
    expect(m.value('calico_license_grace_period_end_timestamp_seconds')).toBe(EXPIRY_S + 90 * DAY);
    expect(status(m)).toEqual({
      valid: 1,
      'in-grace-period': 0,
      expired: 0,
      'no-license-loaded': 0,
      invalid: 0,
    });
    expect(
      m.value('calico_license_info', { package: 'Enterprise', api_version: 'projectcalico.org/v3' }),
    ).toBe(1);
    expect(m.value('license_agent_source_up')).toBe(1);
    expect(m.value('license_agent_last_success_timestamp_seconds')).toBe(EXPIRY_S - 10 * DAY);
    expect(m.type('license_agent_errors_total')).toBe('COUNTER');
  });

  it('flips the day count and state at the exact second, without a new read', async () => {
    const { snapshot, read, setNow } = setup();
    snapshot.setLicense(VALID);
    snapshot.setNodeCount(1);
    setNow(EXPIRY_S - 1);
    let m = await read();
    expect([m.value('license_number_of_days'), m.value('calico_license_valid')]).toEqual([0, 1]);
    setNow(EXPIRY_S);
    m = await read();
    expect(m.value('calico_license_valid')).toBe(0);
    expect(m.value('calico_license_status', { status: 'in-grace-period' })).toBe(1);
    setNow(EXPIRY_S + 1);
    m = await read();
    expect(m.value('license_number_of_days')).toBe(-1);
    expect(m.value('calico_maximum_licensed_nodes')).toBe(100);
  });

  it('no LicenseKey: the day count is absent, never 0', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(null);
    snapshot.setNodeCount(3);
    const m = await read();
    expect(m.value('license_number_of_days')).toBeUndefined();
    expect(m.value('calico_license_expiry_timestamp_seconds')).toBeUndefined();
    expect(m.value('calico_maximum_licensed_nodes')).toBeUndefined();
    expect(m.value('calico_license_valid')).toBe(0);
    expect(status(m)['no-license-loaded']).toBe(1);
    expect(m.samples('calico_license_info')).toEqual([]);
  });

  it('an unlimited licence exports +Inf as the node limit', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(license({ expiry: '2027-03-31T23:59:59Z' }));
    expect((await read()).value('calico_maximum_licensed_nodes')).toBe(Number.POSITIVE_INFINITY);
  });

  it('cores: used and licensed; +Inf without a core limit; used absent while not counted', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(license({ expiry: '2027-03-31T23:59:59Z', maxnodes: 100, maxcores: 512 }));
    snapshot.setNodeCount(95);
    let m = await read();
    expect(m.value('calico_maximum_licensed_cores')).toBe(512);
    expect(m.value('calico_cores_used')).toBeUndefined();
    snapshot.setCoreCount(470);
    m = await read();
    expect(m.value('calico_cores_used')).toBe(470);
    expect(m.type('calico_cores_used')).toBe('GAUGE');
    snapshot.setLicense(license({ expiry: '2027-03-31T23:59:59Z', maxnodes: 100 }));
    snapshot.clearCoreCount();
    m = await read();
    expect(m.value('calico_maximum_licensed_cores')).toBe(Number.POSITIVE_INFINITY);
    expect(m.value('calico_cores_used')).toBeUndefined();
    expect(m.value('license_agent_source_up')).toBe(1);
  });

  it("Tigera's latest usage report: three gauges, absent without one", async () => {
    const { snapshot, read } = setup();
    expect((await read()).value('calico_license_usage_report_vcpus_max')).toBeUndefined();
    snapshot.setUsageReport({ intervalEndSeconds: 1_800_000_000, vcpusMax: 480, nodesMax: 96 });
    const m = await read();
    expect(m.value('calico_license_usage_report_vcpus_max')).toBe(480);
    expect(m.value('calico_license_usage_report_nodes_max')).toBe(96);
    expect(m.value('calico_license_usage_report_interval_end_timestamp_seconds')).toBe(1_800_000_000);
  });

  it('an invalid licence: state invalid, legacy valid 0', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(
      license({ conditions: [{ type: 'Valid', status: 'False', reason: 'InvalidLicense' }] }),
    );
    const m = await read();
    expect(status(m).invalid).toBe(1);
    expect(m.value('calico_license_valid')).toBe(0);
    expect(m.value('license_number_of_days')).toBeUndefined();
  });

  it('a failing source keeps the last values and says so', async () => {
    const { snapshot, read } = setup();
    snapshot.setLicense(VALID, 1000);
    snapshot.setNodeCount(95, 1000);
    snapshot.recordError('license', 'license_parse');
    snapshot.recordError('license', 'license_parse');
    const m = await read();
    expect(m.value('license_agent_source_up')).toBe(0);
    expect(m.value('license_agent_last_success_timestamp_seconds')).toBe(1000);
    expect(m.value('license_agent_errors_total', { reason: 'license_parse' })).toBe(2);
    expect(m.value('license_agent_errors_total', { reason: 'nodes_read' })).toBe(0);
    expect(m.value('license_number_of_days')).toBe(10);
    expect(m.value('calico_nodes_used')).toBe(95);
  });

  it('never exports the token or the certificate', async () => {
    const { snapshot, text } = setup();
    snapshot.setLicense(VALID);
    const body = await text();
    expect(body).not.toContain('SECRET');
  });

  it('exports the default process metrics', async () => {
    const { read } = setup();
    expect((await read()).value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
