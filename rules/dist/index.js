// The rules package: thresholds.yaml rendered to Prometheus rule files (see the rules issue).
export const ALERT_PREFIX = 'CalicoLicense';
//# sourceMappingURL=index.js.map