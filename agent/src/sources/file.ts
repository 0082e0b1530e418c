// File source: a LicenseKey YAML (as `kubectl get licensekeys.p default -o yaml` prints it) and a
// node count, re-read when the files change and at every poll interval.
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as yaml from 'js-yaml';
import type { Logger } from 'pino';
import type { LicenseKey } from '../license.js';
import type { ErrorReason, Snapshot } from '../snapshot.js';
import type { Source } from './source.js';

export interface FileSourceOptions {
  snapshot: Snapshot;
  logger: Logger;
  licenseFile: string;
  /** A fixed node count, or a file holding one. */
  nodeCount: { value: number } | { file: string };
  pollIntervalMs: number;
}

/** Parses a LicenseKey document (or a List holding one named default); throws naming what is wrong. */
export function parseLicenseKeyYaml(text: string, origin: string): LicenseKey {
  const doc = text.trim() === '' ? undefined : loadYaml(text, origin);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`${origin}: expected a LicenseKey object, got ${describe(doc)}`);
  }
  const object = doc as { kind?: unknown; items?: unknown };
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    const item = (object.items as LicenseKey[]).find((i) => i?.metadata?.name === 'default');
    if (!item) throw new Error(`${origin}: the List holds no LicenseKey named "default"`);
    return parseLicenseKeyYaml(yaml.dump(item), origin);
  }
  if (object.kind !== 'LicenseKey') {
    throw new Error(`${origin}: kind is ${JSON.stringify(object.kind)}, expected "LicenseKey"`);
  }
  const name = (doc as LicenseKey).metadata?.name;
  if (name !== 'default') {
    throw new Error(
      `${origin}: metadata.name is ${JSON.stringify(name)}, expected "default" (the singleton)`,
    );
  }
  return doc as LicenseKey;
}

export function parseNodeCount(text: string, origin: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    throw new Error(
      `${origin}: node count is ${JSON.stringify(trimmed.slice(0, 40))}, expected a whole number ≥ 0`,
    );
  }
  return Number(trimmed);
}

function loadYaml(text: string, origin: string): unknown {
  try {
    return yaml.load(text);
  } catch (err) {
    throw new Error(`${origin}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A file that could not be read at all (as opposed to read but not understood). */
class UnreadableError extends Error {
  constructor(
    file: string,
    err: NodeJS.ErrnoException,
    readonly reason: ErrorReason,
  ) {
    super(`${file}: ${err.code ?? err.message}`);
  }
}

async function read(file: string, reason: ErrorReason): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UnreadableError(file, err as NodeJS.ErrnoException, reason);
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty document';
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

export class FileSource implements Source {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private lastErrors = new Map<string, string>();
  /** Components read successfully at least once: only they have last good values to keep. */
  private readonly readOnce = new Set<string>();

  constructor(private readonly options: FileSourceOptions) {}

  start(): void {
    const files = [this.options.licenseFile];
    if ('file' in this.options.nodeCount) files.push(this.options.nodeCount.file);
    // Watch the folders, not the files: editors and ConfigMap updates replace files by renaming.
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const names = new Set(files.filter((f) => dirname(f) === dir).map((f) => basename(f)));
        const watcher = watch(dir, (_event, name) => {
          if (name === null || names.has(name) || name.startsWith('..')) this.reload();
        });
        watcher.on('error', () => {}); // the poll still covers a folder that went away
        this.watchers.push(watcher);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, dir }, 'cannot watch folder; polling only');
      }
    }
    this.timer = setInterval(() => this.reload(), this.options.pollIntervalMs);
    this.reload();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.reading;
  }

  /** Re-reads both inputs; serialised so that a burst of change events reads once at a time. */
  reload(): Promise<void> {
    this.reading = this.reading.then(() => this.readAll());
    return this.reading;
  }

  private async readAll(): Promise<void> {
    const { snapshot, licenseFile, nodeCount } = this.options;
    await this.attempt('license', async () => {
      snapshot.setLicense(parseLicenseKeyYaml(await read(licenseFile, 'license_read'), licenseFile));
    });
    await this.attempt('nodes', async () => {
      if ('value' in nodeCount) return snapshot.setNodeCount(nodeCount.value);
      snapshot.setNodeCount(parseNodeCount(await read(nodeCount.file, 'nodes_read'), nodeCount.file));
    });
  }

  private async attempt(component: 'license' | 'nodes', step: () => Promise<void>): Promise<void> {
    try {
      await step();
      this.readOnce.add(component);
      if (this.lastErrors.delete(component)) this.options.logger.info({ component }, 'source readable again');
    } catch (err) {
      const error = err as Error;
      const parseReason = component === 'license' ? 'license_parse' : 'node_count_parse';
      const reason = error instanceof UnreadableError ? error.reason : parseReason;
      this.options.snapshot.recordError(component, reason);
      // Log a failure when it changes, not at every poll.
      if (this.lastErrors.get(component) !== error.message) {
        this.options.logger.error(
          { err: error.message, reason },
          this.readOnce.has(component)
            ? 'reading the licence source failed; keeping the last good values'
            : 'reading the licence source failed; no values yet',
        );
        this.lastErrors.set(component, error.message);
      }
    }
  }
}
