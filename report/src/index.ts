// The report as a library: build it from a Prometheus API, then format it.
export { formatReport, FORMATS, type Format } from './format/index.js';
export type * from './model.js';
export { type Period, parseDay, parseMonth } from './period.js';
export { PrometheusClient, type RangeSemantics, probeRangeSemantics } from './prometheus.js';
export { buildReport, type ReportOptions, WINDOW_MS } from './report.js';
