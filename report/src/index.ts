// The report as a library: build it from a Prometheus API, then format it.
export { FORMATS, type Format, formatReport } from './format/index.js';
export type * from './model.js';
export { type Period, parseDay, parseMonth } from './period.js';
export { PrometheusClient, probeRangeSemantics, type RangeSemantics } from './prometheus.js';
export { buildReport, type ReportOptions, WINDOW_MS } from './report.js';
