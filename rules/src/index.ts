// The rules package: thresholds.yaml rendered to a Prometheus rule file, a PrometheusRule and an
// Alertmanager fragment. Pure functions; the CLI (cli.ts, main.ts) does the I/O.

export { DURATION_EXPECTED, parseDurationSeconds } from '@license-monitor/common';
export { buildRules, EXPIRY_TIERS, type Rule, type RuleSet, VALUE_ALERTS } from './alerts.js';
export {
  ALERT_NAMES,
  ALERT_PREFIX,
  type AlertName,
  type Config,
  ConfigError,
  deepMerge,
  loadConfig,
  SEVERITIES,
  SOURCES,
  type Source,
} from './config.js';
export {
  alertmanagerFragment,
  inhibitRules,
  OUTPUT_FILES,
  prometheusRule,
  type Rendered,
  render,
  ruleGroups,
} from './render.js';
