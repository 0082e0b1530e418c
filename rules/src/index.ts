// The rules package: thresholds.yaml rendered to a Prometheus rule file, a PrometheusRule and an
// Alertmanager fragment. Pure functions; the CLI (cli.ts, main.ts) does the I/O.

export { DURATION_EXPECTED, parseDurationSeconds } from '@license-monitor/common';
export {
  buildRules,
  CAPACITY_TIERS,
  EXPIRY_TIERS,
  FACTS,
  type Fact,
  type Rule,
  type RuleGroup,
  type RuleSet,
  VALUE_ALERTS,
} from './alerts.js';
export {
  ALERT_NAMES,
  ALERT_PREFIX,
  type AlertName,
  type Config,
  ConfigError,
  deepMerge,
  LICENCE_ALERT_NAMES,
  loadConfig,
  RECEIVER_ALERT_NAMES,
  RECEIVER_ALERT_PREFIX,
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
