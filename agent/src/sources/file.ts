// File source: a LicenseKey YAML (as `kubectl get licensekeys.p default -o yaml` prints it), a
// node count and optionally a core count, re-read when the files change and at every poll interval.
// A file changed within the last moment may be half written (an editor or `cat >` truncates, then
// writes): it is read again after a short settle delay until two reads agree, so a rewrite in place
// is never read as an empty or half document.
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as yaml from 'js-yaml';
import type { Logger } from 'pino';
import { COUNT_EXPECTED, evaluateLicense, isCount, type LicenseKey } from '../license.js';
import type { Component, ErrorReason, Snapshot } from '../snapshot.js';
import type { Source } from './source.js';

type Count = { value: number } | { file: string };

export interface FileSourceOptions {
  snapshot: Snapshot;
  logger: Logger;
  licenseFile: string;
  /** A fixed node count, or a file holding one. */
  nodeCount: Count;
  /** A fixed core count, or a file holding one; without it cores are not counted. */
  coreCount?: Count;
  pollIntervalMs: number;
  /** How long a file must stay unchanged before it is trusted (default 250 ms). */
  settleMs?: number;
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

export function parseCount(text: string, origin: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || !isCount(Number(trimmed))) {
    throw new Error(
      `${origin}: ${what} is ${JSON.stringify(trimmed.slice(0, 40))}, expected ${COUNT_EXPECTED}`,
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

/** A LicenseKey read but refused for its limits; the snapshot has counted the error. */
class RefusedError extends Error {}

async function read(file: string, reason: ErrorReason): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UnreadableError(file, err as NodeJS.ErrnoException, reason);
  }
}

const PARSE_REASONS: Record<Component, ErrorReason> = {
  license: 'license_parse',
  nodes: 'node_count_parse',
  cores: 'core_count_parse',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The file's content once it has settled: a file modified less than `settleMs` ago is read again after
 * the delay, until two reads agree (at most a few times: a file written without end is taken as is).
 */
async function readSettled(file: string, reason: ErrorReason, settleMs: number): Promise<string> {
  let text = await read(file, reason);
  for (let i = 0; i < 5; i++) {
    let modifiedAt: number;
    try {
      modifiedAt = (await stat(file)).mtimeMs;
    } catch (err) {
      throw new UnreadableError(file, err as NodeJS.ErrnoException, reason);
    }
    const age = Date.now() - modifiedAt;
    if (age >= settleMs) return text;
    await sleep(settleMs - Math.max(0, age));
    const again = await read(file, reason);
    if (again === text && Date.now() - modifiedAt >= settleMs) return text;
    text = again;
  }
  return text;
}

async function readCount(count: Count, what: string, reason: ErrorReason, settleMs: number): Promise<number> {
  if ('value' in count) return count.value;
  return parseCount(await readSettled(count.file, reason, settleMs), count.file, what);
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
  private warnedNoCoreCount = false;

  constructor(private readonly options: FileSourceOptions) {}

  start(): void {
    const { licenseFile, nodeCount, coreCount } = this.options;
    const files = [licenseFile];
    for (const count of [nodeCount, coreCount]) if (count && 'file' in count) files.push(count.file);
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
    const { snapshot, licenseFile, nodeCount, coreCount } = this.options;
    const settle = this.options.settleMs ?? 250;
    await this.attempt('license', async () => {
      const text = await readSettled(licenseFile, 'license_read', settle);
      const license = parseLicenseKeyYaml(text, licenseFile);
      const refused = snapshot.setLicense(license);
      if (refused.length > 0)
        throw new RefusedError(`${licenseFile}: ${refused.map((p) => p.message).join('; ')}`);
      this.warnIfCoresUncounted(license);
    });
    await this.attempt('nodes', async () => {
      snapshot.setNodeCount(await readCount(nodeCount, 'node count', 'nodes_read', settle));
    });
    if (coreCount) {
      await this.attempt('cores', async () => {
        snapshot.setCoreCount(await readCount(coreCount, 'core count', 'cores_read', settle));
      });
    }
  }

  /** A core limit with no core count given: calico_cores_used stays absent; say so once. */
  private warnIfCoresUncounted(license: LicenseKey): void {
    if (this.options.coreCount || this.warnedNoCoreCount) return;
    const maxCores = evaluateLicense(license, 0, 0).maxCores;
    if (maxCores === undefined || maxCores === Number.POSITIVE_INFINITY) return;
    this.warnedNoCoreCount = true;
    this.options.logger.warn(
      { maxcores: maxCores },
      'the licence limits CPU cores but neither --core-count nor --core-count-file is given: calico_cores_used stays absent',
    );
  }

  private async attempt(component: Component, step: () => Promise<void>): Promise<void> {
    try {
      await step();
      this.readOnce.add(component);
      if (this.lastErrors.delete(component)) this.options.logger.info({ component }, 'source readable again');
    } catch (err) {
      const error = err as Error;
      const reason =
        error instanceof UnreadableError
          ? error.reason
          : error instanceof RefusedError
            ? 'license_limit'
            : PARSE_REASONS[component];
      // A refused licence was counted by the snapshot when it refused it.
      if (!(error instanceof RefusedError)) this.options.snapshot.recordError(component, reason);
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
