// The licence values now, for resolved messages ("Expires now: 2027-12-04 00:00 UTC (365 days left)"):
// asked from Prometheus when `prometheus_url` is set. Only the values the alert stated as facts are
// asked, from the metrics the project's agent (or the Tigera operator, or the legacy agent) exports,
// selected by the alert's own job, instance and cluster labels. Every query has the timeout of
// `prometheus_timeout`; a failure leaves the values out and never holds up or fails a delivery.
import type { Logger } from 'pino';
import { HttpClient } from './channels/http.js';
import type { GroupView, LicenceFacts } from './notification.js';

const DAY_MS = 86_400_000;

/** The metrics behind each fact, per input source (rules/src/alerts.ts). */
const METRICS = {
  expiry: ['calico_license_expiry_timestamp_seconds', 'tigera_operator_license_expiry_timestamp_seconds'],
  /** The legacy agent exports whole days left, no timestamp. */
  daysLeft: ['license_number_of_days'],
  graceEnd: ['calico_license_grace_period_end_timestamp_seconds'],
  nodesUsed: ['calico_nodes_used'],
  nodesLicensed: ['calico_maximum_licensed_nodes'],
  coresUsed: ['calico_cores_used'],
  coresLicensed: ['calico_maximum_licensed_cores'],
} as const;

type Measure = keyof typeof METRICS;

interface QueryAnswer {
  status: string;
  data?: { resultType: string; result: { value: [number, string] }[] };
}

export class CurrentValues {
  private readonly http: HttpClient;

  constructor(
    url: string,
    timeoutMs: number,
    private readonly clusterLabel: string,
    private readonly logger: Logger,
  ) {
    this.http = new HttpClient({ peer: 'Prometheus', baseUrl: url, timeoutMs });
  }

  /** The values now of the facts the resolved group stated; undefined when none could be read. */
  async of(group: GroupView, now: number): Promise<LicenceFacts | undefined> {
    const f = group.facts;
    const wanted: Measure[] = [];
    if (f.expiresAt !== undefined) wanted.push('expiry');
    else if (f.daysLeft !== undefined) wanted.push('daysLeft');
    if (f.gracePeriodEndsAt !== undefined) wanted.push('graceEnd');
    if (f.nodesUsed !== undefined || f.nodesLicensed !== undefined) wanted.push('nodesUsed', 'nodesLicensed');
    if (f.coresUsed !== undefined || f.coresLicensed !== undefined) wanted.push('coresUsed', 'coresLicensed');
    if (wanted.length === 0) return undefined;
    const selector = this.selector(group);
    try {
      const values = await Promise.all(wanted.map((m) => this.query(m, selector, now)));
      const v = Object.fromEntries(wanted.map((m, i) => [m, values[i]])) as Partial<Record<Measure, number>>;
      const current: LicenceFacts = {};
      const whole = (n: number | undefined) =>
        n !== undefined && Number.isFinite(n) ? String(Math.round(n)) : undefined;
      if (v.expiry !== undefined) {
        current.expiresAt = `${new Date(v.expiry * 1000).toISOString().slice(0, 19)}Z`;
        current.daysLeft = String(Math.floor((v.expiry * 1000 - now) / DAY_MS));
      } else if (v.daysLeft !== undefined) current.daysLeft = whole(v.daysLeft) as string;
      if (v.graceEnd !== undefined)
        current.gracePeriodEndsAt = `${new Date(v.graceEnd * 1000).toISOString().slice(0, 19)}Z`;
      const pair = (
        used: number | undefined,
        licensed: number | undefined,
        set: (u: string, l: string) => void,
      ) => {
        const u = whole(used);
        const l = whole(licensed);
        if (u !== undefined && l !== undefined) set(u, l);
      };
      pair(v.nodesUsed, v.nodesLicensed, (u, l) =>
        Object.assign(current, { nodesUsed: u, nodesLicensed: l }),
      );
      pair(v.coresUsed, v.coresLicensed, (u, l) =>
        Object.assign(current, { coresUsed: u, coresLicensed: l }),
      );
      return Object.keys(current).length > 0 ? current : undefined;
    } catch (err) {
      this.logger.warn(
        { group: group.identity, err: (err as Error).message },
        'cannot read the current licence values from Prometheus: the resolve is sent without them',
      );
      return undefined;
    }
  }

  /** The alert's target: its job, instance and cluster labels. */
  private selector(group: GroupView): string {
    const labels = ['job', 'instance', this.clusterLabel]
      .filter((l) => group.commonLabels[l] !== undefined)
      .map((l) => `${l}=${JSON.stringify(group.commonLabels[l])}`);
    return `{${labels.join(',')}}`;
  }

  /** The first of the measure's metrics that has a value for the target, or undefined. */
  private async query(measure: Measure, selector: string, now: number): Promise<number | undefined> {
    const promql = METRICS[measure].map((m) => `max(${m}${selector})`).join(' or ');
    const params = new URLSearchParams({ query: promql, time: String(now / 1000) });
    const answer = (await this.http.request<QueryAnswer>('GET', `/api/v1/query?${params}`)).body;
    if (answer?.status !== 'success' || answer.data?.resultType !== 'vector')
      throw new Error(`unexpected answer to ${promql}: ${JSON.stringify(answer).slice(0, 200)}`);
    const value = answer.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  }
}
