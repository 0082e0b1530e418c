// Pure licence evaluation: a LicenseKey's status and a moment in time → what the metrics say.
import { parseDurationSeconds, parseRfc3339 } from '@license-monitor/common';

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
  maxcores?: unknown;
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
  /** Core limit; Infinity when the licence has none (maxcores absent or 0); undefined when unknown. */
  maxCores?: number;
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
    maxNodes: limitValue(readLimit(status.maxnodes, 'maxnodes')),
    maxCores: limitValue(readLimit(status.maxcores, 'maxcores')),
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
  // RFC 3339 as metav1.Time serialises it, a real calendar date (not 2026-02-31).
  const ms = typeof value === 'string' ? parseRfc3339(value) : undefined;
  return ms === undefined ? undefined : ms / 1000;
}

/** The status fields that limit the licence. */
export const LIMIT_FIELDS = ['maxnodes', 'maxcores'] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];
export const LIMIT_PROBLEMS = ['not_a_number', 'negative', 'fractional', 'out_of_range'] as const;
export type LimitProblemKind = (typeof LIMIT_PROBLEMS)[number];

export interface LimitProblem {
  field: LimitField;
  problem: LimitProblemKind;
  /** What is wrong, naming the field, its value and what was expected. */
  message: string;
}

/** The largest whole number a JSON number (a float64) holds exactly. */
export const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

/** A count of nodes or cores in use, in the same range as the limits (`1e23` is none). */
export function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export const COUNT_EXPECTED = `a whole number ≥ 0 (at most ${MAX_LIMIT})`;

/**
 * A status limit: a whole number ≥ 0, or Infinity when there is none. Absent means unlimited (a site
 * licence). For maxcores 0 also means no limit: Go's `omitempty` writes 0 and absent the same way.
 */
export function readLimit(value: unknown, field: LimitField): { value: number } | LimitProblem {
  if (value === undefined || value === null) return { value: Number.POSITIVE_INFINITY };
  const problem = limitProblem(value);
  if (problem === undefined) {
    return { value: field === 'maxcores' && value === 0 ? Number.POSITIVE_INFINITY : (value as number) };
  }
  return {
    field,
    problem,
    message: `status.${field} is ${show(value)}: expected a whole number ≥ 0 (at most ${MAX_LIMIT}), or no ${field} for no limit`,
  };
}

function show(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'number') return String(value); // Infinity and NaN too, which JSON cannot write
  return JSON.stringify(value) ?? String(value);
}

function limitProblem(value: unknown): LimitProblemKind | undefined {
  if (typeof value !== 'number' || Number.isNaN(value)) return 'not_a_number';
  if (value < 0) return 'negative';
  if (value > MAX_LIMIT) return 'out_of_range'; // also Infinity (YAML .inf)
  if (!Number.isInteger(value)) return 'fractional';
  return undefined;
}

const limitValue = (read: { value: number } | LimitProblem) => ('value' in read ? read.value : undefined);

/** Every status limit of the LicenseKey that cannot be read; empty when all can (or it has no status). */
export function limitProblems(license: LicenseKey | null): LimitProblem[] {
  const status = license?.status;
  if (status === null || typeof status !== 'object') return [];
  const problems: LimitProblem[] = [];
  for (const field of LIMIT_FIELDS) {
    const read = readLimit(status[field], field);
    if (!('value' in read)) problems.push(read);
  }
  return problems;
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
