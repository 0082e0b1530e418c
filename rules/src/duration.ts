// Seconds as PromQL: the expressions the rules write (durations themselves are parsed by
// @license-monitor/common, Prometheus' own grammar).

/**
 * A number of seconds as a PromQL expression a reader can check at a glance:
 * 2592000 → "30 * 86400", 3600 → "3600", 5400 → "90 * 60", 45 → "45".
 */
export function secondsExpr(seconds: number): string {
  for (const unit of [86_400, 3_600, 60]) {
    if (seconds === unit) return String(unit);
    if (seconds > unit && Number.isInteger(seconds / unit)) return `${seconds / unit} * ${unit}`;
  }
  return String(seconds);
}

/** Days as a PromQL expression in seconds: 30 → "30 * 86400", 0.5 → "0.5 * 86400". */
export function daysExpr(days: number): string {
  return `${days} * 86400`;
}
