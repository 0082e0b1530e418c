// Shared by the rules tests: paths, and running the external tools (promtool, amtool; which ones:
// test/helpers/tools.ts).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { type Config, loadConfig } from '../src/config.js';

export const RULES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(RULES_DIR, '..');
export const DIST_DIR = join(RULES_DIR, 'dist');
export const TESTS_DIR = join(RULES_DIR, 'tests');
export const EXAMPLES_DIR = join(RULES_DIR, 'examples');
export const RUNBOOKS_DIR = join(RULES_DIR, 'runbooks');
export const DEFAULTS_TEXT = readFileSync(join(RULES_DIR, 'thresholds.yaml'), 'utf8');

/** Config from thresholds.yaml plus an override given as YAML text (or nothing). */
export function configWith(override?: string): Config {
  return loadConfig(DEFAULTS_TEXT, override);
}

/**
 * The committed renders: dist/ is the defaults; dist/<name>/ is the defaults with
 * examples/<name>.yaml on top (one per input source other than the default).
 */
export function distVariants(): Array<{ dir: string; override?: string; label: string }> {
  const variants: Array<{ dir: string; override?: string; label: string }> = [
    { dir: DIST_DIR, label: 'dist (defaults)' },
  ];
  for (const entry of readdirSync(DIST_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const example = join(EXAMPLES_DIR, `${entry.name}.yaml`);
    variants.push({
      dir: join(DIST_DIR, entry.name),
      override: existsSync(example) ? readFileSync(example, 'utf8') : undefined,
      label: `dist/${entry.name} (examples/${entry.name}.yaml)`,
    });
  }
  return variants;
}

export const rel = (path: string) => relative(RULES_DIR, path);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** At most this many tool runs at once (each promtool test file keeps a core busy for seconds). */
const RUN_LIMIT = Math.max(2, availableParallelism());
let running = 0;
const queued: (() => void)[] = [];

/**
 * Runs a tool, waiting for a free slot first: started all at once, two pairs' promtool runs would
 * share two cores forty ways, and the first test awaiting one would time out.
 */
export async function run(file: string, args: string[], cwd = RULES_DIR): Promise<RunResult> {
  if (running >= RUN_LIMIT) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await runNow(file, args, cwd);
  } finally {
    running--;
    queued.shift()?.();
  }
}

function runNow(file: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function readYaml(path: string): unknown {
  return yaml.load(readFileSync(path, 'utf8'));
}

export function listFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}
