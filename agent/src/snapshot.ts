// The latest good reading of the source, plus the source's health. Sources write; metrics read.
import type { LicenseKey } from './license.js';

export type ErrorReason =
  | 'license_read'
  | 'license_parse'
  | 'nodes_read'
  | 'watch'
  | 'api_group_discovery'
  | 'node_count_parse';

export const ERROR_REASONS: readonly ErrorReason[] = [
  'license_read',
  'license_parse',
  'nodes_read',
  'watch',
  'api_group_discovery',
  'node_count_parse',
];

/** A part of the source that can fail on its own (the LicenseKey, the node count). */
export type Component = 'license' | 'nodes';

export class Snapshot {
  /** undefined until the first successful read; null when no LicenseKey exists. */
  license: LicenseKey | null | undefined = undefined;
  nodeCount: number | undefined = undefined;
  lastSuccessSeconds: number | undefined = undefined;
  readonly errors = new Map<ErrorReason, number>();
  private readonly healthy = new Map<Component, boolean>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly components: readonly Component[] = ['license', 'nodes']) {}

  setLicense(license: LicenseKey | null, nowSeconds = Date.now() / 1000): void {
    this.license = license;
    this.markSuccess('license', nowSeconds);
  }

  setNodeCount(count: number, nowSeconds = Date.now() / 1000): void {
    this.nodeCount = count;
    this.markSuccess('nodes', nowSeconds);
  }

  /** The component's data is confirmed current (a watch event, bookmark or reconnect). */
  markSuccess(component: Component, nowSeconds = Date.now() / 1000): void {
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

  /** Every component's last read succeeded. */
  get up(): boolean {
    return this.components.every((c) => this.healthy.get(c) === true);
  }

  /** Ready once every component has been read successfully at least once. */
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
