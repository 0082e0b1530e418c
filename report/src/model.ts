// The report as it is written out (JSON is exactly this), and the per-window data the HTML charts need.
import type { Grid } from './period.js';

export type Source = 'agent' | 'legacy-agent';

/** A licensed count: a number, "unlimited" (+Inf in Prometheus), or null when unknown. */
export type Licensed = number | 'unlimited' | null;

export interface OverDay {
  date: string;
  /** The day's peak. */
  peak: number;
  /** The limit in force when usage was furthest over it that day. */
  licensed: number;
}

export interface UsageFigures {
  /** Peak: the highest sample of the period. */
  max: number | null;
  /** 95th percentile of the 5-minute peaks (nearest rank), over the windows with data. */
  p95: number | null;
  /** Mean of the 5-minute averages, over the windows with data. */
  avg: number | null;
  /** The limit at the end of the period's data. */
  licensed: Licensed;
  days_over: number;
  over_days: OverDay[];
  /** Each change of the limit, at the start of the 5-minute window it happened in. */
  licensed_changes: { at: string; licensed: Licensed }[];
}

/** The figures of a count that the summary rows show (a cluster's, or the total's). */
export type UsageSummary = Pick<UsageFigures, 'max' | 'p95' | 'avg' | 'licensed' | 'days_over'>;

export interface LicenceFigures {
  package: string | null;
  /** Expiry (ISO time) as last reported in the period; null with the legacy agent. */
  expiry: string | null;
  /** Legacy agent only: whole days left, as last reported in the period. */
  days_left?: number | null;
  /** Each UTC day counts once, in the worst state reported that day (expired > invalid > missing > in grace > valid). */
  days_valid: number;
  days_in_grace: number | null;
  days_expired: number | null;
  days_missing: number | null;
  days_invalid: number | null;
  /** Legacy agent only: days with calico_license_valid 0 (grace, expired, invalid and missing look alike). */
  days_not_valid?: number;
  days_no_data: number;
}

export interface Gap {
  from: string;
  to: string;
  seconds: number;
}

export interface AlertFigures {
  alertname: string;
  firing_seconds: number;
  episodes: { from: string; to: string }[];
}

export interface ClusterReport {
  cluster: string;
  /** Start of the first and end of the last 5-minute window with node samples. */
  first_seen: string | null;
  last_seen: string | null;
  licence: LicenceFigures;
  nodes: UsageFigures;
  /** Only when the licence limits cores (a finite calico_maximum_licensed_cores) at some time. */
  cores: UsageFigures | null;
  /** Share of the period's 5-minute windows holding node samples (0–1). */
  coverage: number;
  gaps: Gap[];
  alerts: AlertFigures[];
}

export interface TotalReport {
  clusters: number;
  nodes: UsageSummary;
  cores: UsageSummary | null;
  coverage: number;
  alerts_firing_seconds: number;
}

export interface Report {
  from: string;
  to: string;
  /** The end of the data read: `to`, or for a period in progress the last 5-minute boundary before now. */
  until: string;
  generated_at: string;
  source: Source;
  prometheus_url: string;
  selector: string;
  cluster_label: string;
  method: { window_seconds: number; range_selectors: 'closed' | 'left-open' };
  clusters: ClusterReport[];
  total: TotalReport;
}

/** Per-window values of one cluster, for the HTML chart (NaN where there is no data). */
export interface ChartData {
  grid: Grid;
  nodes: { peak: Float64Array; licensed: Float64Array };
  cores: { peak: Float64Array; licensed: Float64Array } | null;
}

export interface ReportData {
  report: Report;
  charts: Map<string, ChartData>;
}
