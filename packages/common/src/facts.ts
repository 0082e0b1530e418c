// The annotation contract between the rules and whatever renders their alerts (the receiver's
// messages): besides summary, description, runbook_url and remediation, an alert states its numbers
// as annotations of these names, in these formats. Values are strings; an empty string means the
// number could not be read when the alert was evaluated. The rules emit them (rules/src/alerts.ts);
// the receiver reads exactly these (receiver/src/notification.ts). The table is in rules/README.md.
export const FACTS = {
  days_left: 'whole days until the licence expires, rounded down ("6")',
  expires_at: 'when the licence expires, RFC 3339 in UTC ("2026-12-10T00:00:00Z")',
  grace_period_ends_at: 'when the grace period ends, RFC 3339 in UTC ("2027-01-09T00:00:00Z")',
  nodes_used: 'nodes counted against the licence now, a whole number ("95")',
  nodes_licensed: 'the licence\'s node limit, a whole number ("100")',
  nodes_forecast: 'nodes expected at the peak within the forecast horizon, a whole number ("132")',
  cores_used: 'CPU cores counted against the licence now, a whole number ("480")',
  cores_licensed: 'the licence\'s core limit, a whole number ("512")',
  cores_forecast: 'CPU cores expected at the peak within the forecast horizon, a whole number ("530")',
} as const;

export type Fact = keyof typeof FACTS;

export const FACT_NAMES = Object.keys(FACTS) as Fact[];

/** The facts that are times (RFC 3339); the others are whole numbers. */
export const TIME_FACTS: readonly Fact[] = ['expires_at', 'grace_period_ends_at'];
