// A realistic licence alert, for `test-send` and examples: Calico Enterprise's licence expires in 12 days.
import type { AlertmanagerPayload } from './alertmanager.js';

export function sampleLicencePayload(now: number, status: 'firing' | 'resolved'): AlertmanagerPayload {
  const startsAt = new Date(now - 2 * 3_600_000).toISOString();
  const labels = {
    alertname: 'CalicoLicenseExpiringSoon',
    cluster: 'test-send',
    severity: 'warning',
    package: 'Enterprise',
  };
  return {
    version: '4',
    groupKey:
      '{}/{alertname=~"CalicoLicense.*"}:{alertname="CalicoLicenseExpiringSoon", cluster="test-send"}',
    truncatedAlerts: 0,
    status,
    receiver: 'license-receiver',
    groupLabels: { alertname: labels.alertname, cluster: labels.cluster },
    commonLabels: labels,
    commonAnnotations: {
      summary: 'The Calico Enterprise licence expires in less than 30 days.',
      description:
        'The licence of cluster test-send expires on 2026-12-10 (12 days left). 95 of 100 licensed nodes are in use.',
      days_left: '12',
      nodes_used: '95',
      nodes_licensed: '100',
      runbook_url:
        'https://github.com/example/license-monitor/blob/main/rules/runbooks/CalicoLicenseExpiringSoon.md',
    },
    externalURL: 'http://alertmanager.example.com:9093',
    notification_reason: status === 'firing' ? 'first notification' : 'all alerts resolved',
    alerts: [
      {
        status,
        labels,
        annotations: {
          summary: 'The Calico Enterprise licence expires in less than 30 days.',
          description:
            'The licence of cluster test-send expires on 2026-12-10 (12 days left). 95 of 100 licensed nodes are in use.',
        },
        startsAt,
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date(now).toISOString(),
        generatorURL:
          'http://prometheus.example.com:9090/graph?g0.expr=license_number_of_days+%3C+30&g0.tab=1',
        fingerprint: 'c4a1f0e2b7d39a51',
      },
    ],
  };
}
