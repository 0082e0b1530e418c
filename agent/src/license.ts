// Pure licence evaluation: a LicenseKey's status and a moment in time → what the metrics say.
import { parseDurationSeconds } from '@license-monitor/common';

export const LICENSE_STATES = [
  'valid',
  'in-grace-period',
  'expired',
  'no-license-loaded',
  'invalid',
] as const;
export type LicenseState = (typeof LICENSE_STATES)[number];

export interface LicenseCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The status block of a LicenseKey, as the API server (or kube-controllers) fills it. */
export interface LicenseKeyStatus {
  expiry?: unknown;
  maxnodes?: unknown;
  package?: unknown;
  features?: unknown;
  gracePeriod?: unknown;
  conditions?: unknown;
}

export interface LicenseKey {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; resourceVersion?: string; [key: string]: unknown };
  status?: LicenseKeyStatus | null;
}

export interface LicenseView {
  state: LicenseState;
  /** Why the state is `invalid`, for logs. */
  reason?: string;
  expirySeconds?: number;
  graceSeconds?: number;
  graceEndSeconds?: number;
  /** floor((expiry − now) / 1 day); negative after expiry. */
  daysLeft?: number;
  /** Node limit; Infinity when the licence is unlimited; undefined when unknown. */
  maxNodes?: number;
  package?: string;
  features: string[];
  /** True when status.gracePeriod was absent or unreadable and the default was used. */
  defaultGraceUsed: boolean;
}

const DAY = 86_400;

/**
 * Evaluates a LicenseKey at `nowSeconds`. `license` null means no LicenseKey exists.
 * `defaultGraceSeconds` applies when the status carries no gracePeriod.
 */
export function evaluateLicense(
  license: LicenseKey | null,
  nowSeconds: number,
  defaultGraceSeconds: number,
): LicenseView {
  if (license === null) return { state: 'no-license-loaded', features: [], defaultGraceUsed: false };
  const status = license.status;
  if (status === null || typeof status !== 'object') {
    return {
      state: 'invalid',
      reason: 'the LicenseKey has no status',
      features: [],
      defaultGraceUsed: false,
    };
  }
  const base = {
    maxNodes: readMaxNodes(status.maxnodes),
    package: typeof status.package === 'string' && status.package !== '' ? status.package : undefined,
    features: Array.isArray(status.features)
      ? status.features.filter((f): f is string => typeof f === 'string')
      : [],
  };
  const grace = readGrace(status.gracePeriod, defaultGraceSeconds);
  const invalidReason = invalidConditionReason(status.conditions);
  const expirySeconds = readExpiry(status.expiry);
  if (expirySeconds === undefined) {
    const reason = invalidReason ?? `status.expiry ${JSON.stringify(status.expiry)} is not an RFC 3339 time`;
    return { state: 'invalid', reason, ...base, defaultGraceUsed: grace.defaulted };
  }
  const times = {
    expirySeconds,
    graceSeconds: grace.seconds,
    graceEndSeconds: expirySeconds + grace.seconds,
    daysLeft: Math.floor((expirySeconds - nowSeconds) / DAY),
    defaultGraceUsed: grace.defaulted,
  };
  if (invalidReason !== undefined) return { state: 'invalid', reason: invalidReason, ...base, ...times };
  return { state: stateAt(nowSeconds, expirySeconds, times.graceEndSeconds), ...base, ...times };
}

function stateAt(now: number, expiry: number, graceEnd: number): LicenseState {
  if (now < expiry) return 'valid';
  if (now < graceEnd) return 'in-grace-period';
  return 'expired';
}

function readExpiry(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  // RFC 3339 as metav1.Time serialises it; Date.parse alone accepts too much ("2026", "May 1").
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

function readMaxNodes(value: unknown): number | undefined {
  if (value === undefined || value === null) return Number.POSITIVE_INFINITY; // absent = unlimited (site licence)
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function readGrace(value: unknown, fallback: number): { seconds: number; defaulted: boolean } {
  if (typeof value === 'string') {
    const seconds = parseDurationSeconds(value);
    if (seconds !== undefined) return { seconds, defaulted: false };
  }
  return { seconds: fallback, defaulted: true };
}

function invalidConditionReason(conditions: unknown): string | undefined {
  if (!Array.isArray(conditions)) return undefined;
  const valid = conditions.find((c: LicenseCondition) => c?.type === 'Valid') as LicenseCondition | undefined;
  if (valid?.status === 'False' && valid.reason === 'InvalidLicense') {
    return `condition Valid is False with reason InvalidLicense${valid.message ? `: ${valid.message}` : ''}`;
  }
  return undefined;
}
