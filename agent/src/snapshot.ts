// The latest good reading of the source, plus the source's health. Sources write; metrics read.
import { type LicenseKey, type LimitProblem, limitProblems } from './license.js';

export type ErrorReason =
  | 'license_read'
  | 'license_parse'
  | 'license_limit'
  | 'nodes_read'
  | 'cores_read'
  | 'watch'
  | 'api_group_discovery'
  | 'node_count_parse'
  | 'core_count_parse';

export const ERROR_REASONS: readonly ErrorReason[] = [
  'license_read',
  'license_parse',
  'license_limit',
  'nodes_read',
  'cores_read',
  'watch',
  'api_group_discovery',
  'node_count_parse',
  'core_count_parse',
];

/**
 * A part of the source that can fail on its own: the LicenseKey, the node count, and the core count
 * (only while cores are counted).
 */
export type Component = 'license' | 'nodes' | 'cores';

/** Tigera's own count, from its latest LicenseUsageReport (usage.tigera.io/v1). */
export interface UsageReport {
  intervalEndSeconds: number;
  vcpusMax: number;
  nodesMax: number;
}

export class Snapshot {
  /** undefined until the first successful read; null when no LicenseKey exists. */
  license: LicenseKey | null | undefined = undefined;
  nodeCount: number | undefined = undefined;
  /** undefined while cores are not counted (or not yet). */
  coreCount: number | undefined = undefined;
  /** The limits that could not be read in the LicenseKey last offered, which was refused for them. */
  refusedLimits: readonly LimitProblem[] = [];
  usageReport: UsageReport | undefined = undefined;
  lastSuccessSeconds: number | undefined = undefined;
  readonly errors = new Map<ErrorReason, number>();
  /** Health by component; the core count has none while cores are not counted. */
  private readonly healthy = new Map<Component, boolean>();
  private readonly listeners = new Set<() => void>();

  /**
   * Takes a LicenseKey read from the source. One whose status limits cannot be read is refused, as a
   * read error: the last good licence stays and the source is down until a readable one comes (a
   * limit must never silently disappear). Returns the problems, empty when the licence was taken.
   */
  setLicense(license: LicenseKey | null, nowSeconds = Date.now() / 1000): readonly LimitProblem[] {
    const problems = limitProblems(license);
    this.refusedLimits = problems;
    if (problems.length > 0) {
      this.recordError('license', 'license_limit');
      return problems;
    }
    this.license = license;
    this.markSuccess('license', nowSeconds);
    return problems;
  }

  setNodeCount(count: number, nowSeconds = Date.now() / 1000): void {
    this.nodeCount = count;
    this.markSuccess('nodes', nowSeconds);
  }

  setCoreCount(count: number, nowSeconds = Date.now() / 1000): void {
    this.coreCount = count;
    this.markSuccess('cores', nowSeconds);
  }

  /** Cores are no longer counted: no core count, and its health no longer counts. */
  clearCoreCount(): void {
    this.coreCount = undefined;
    this.healthy.delete('cores');
    this.notify();
  }

  setUsageReport(report: UsageReport | undefined): void {
    this.usageReport = report;
  }

  /** The component's data is confirmed current (a watch event, bookmark or reconnect). */
  markSuccess(component: Component, nowSeconds = Date.now() / 1000): void {
    // A refused LicenseKey is still the current one: the watch being healthy does not make it readable.
    if (component === 'license' && this.refusedLimits.length > 0) return;
    this.healthy.set(component, true);
    if (this.up) this.lastSuccessSeconds = nowSeconds;
    this.notify();
  }

  /** The component failed: keep the last values, count the error, report the source down. */
  recordError(component: Component, reason: ErrorReason): void {
    this.healthy.set(component, false);
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
    this.notify();
  }

  /** The licence and the node count were last read successfully, and so were the cores if counted. */
  get up(): boolean {
    return (
      this.healthy.get('license') === true &&
      this.healthy.get('nodes') === true &&
      this.healthy.get('cores') !== false
    );
  }

  /** Ready once the licence and the node count have been read successfully at least once. */
  get ready(): boolean {
    return this.license !== undefined && this.nodeCount !== undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
