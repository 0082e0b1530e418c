// A realistic licence alert, for `test-send`: Calico Enterprise's licence expires in 12 days, as the
// project's rules say it (CalicoLicenseExpiringSoon of the agent source: its labels, and its annotations
// with the facts of the annotation contract; receiver/test/contract.test.ts keeps them in step).
import type { AlertmanagerPayload } from './alertmanager.js';

const DAY = 86_400_000;

/** Go's humanizeTimestamp: `2026-12-10 10:00:00 +0000 UTC`. */
const goTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
const rfc3339 = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export function sampleLicencePayload(now: number, status: 'firing' | 'resolved'): AlertmanagerPayload {
  const startsAt = new Date(now - 2 * 3_600_000).toISOString();
  const expiresAt = Math.floor(now / 1000) * 1000 + 12 * DAY + 2 * 3_600_000;
  const labels = {
    alertname: 'CalicoLicenseExpiringSoon',
    cluster: 'test-send',
    instance: 'license-agent:9081',
    job: 'license-agent',
    severity: 'warning',
  };
  const annotations = {
    summary: 'The Calico Enterprise licence expires soon.',
    description:
      `The Calico Enterprise licence in cluster test-send expires in 12d 2h 0m 0s, on ${goTime(expiresAt)} ` +
      '(warning from 30 days, critical from 7 days before expiry). This is a test notification of license-receiver test-send.',
    runbook_url:
      'https://github.com/license-monitor/license-monitor/blob/main/rules/runbooks/CalicoLicenseExpiringSoon.md',
    days_left: '12',
    expires_at: rfc3339(expiresAt),
  };
  return {
    version: '4',
    groupKey:
      '{}/{alertname=~"CalicoLicense.+|LicenseReceiver.+"}:{alertname="CalicoLicenseExpiringSoon", cluster="test-send"}',
    truncatedAlerts: 0,
    status,
    receiver: 'calico-license',
    groupLabels: { alertname: labels.alertname, cluster: labels.cluster },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager.example.com:9093',
    notification_reason: status === 'firing' ? 'first notification' : 'all alerts resolved',
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt,
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date(now).toISOString(),
        generatorURL:
          'http://prometheus.example.com:9090/graph?g0.expr=calico_license_expiry_timestamp_seconds+-+time%28%29+%3C+30+%2A+86400&g0.tab=1',
        fingerprint: 'c4a1f0e2b7d39a51',
      },
    ],
  };
}
