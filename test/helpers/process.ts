// Starts a program of ours as a child process, collects its output, and stops it at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './metrics.js';

export interface Started {
  child: ChildProcess;
  output: () => string;
  /** JSON log lines printed so far. */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface StartOptions {
  /**
   * Write the child's output to this file instead of collecting it in memory (benchmarks: reading a
   * busy child's pipe would cost the measuring process CPU). output() and logs() read the file.
   */
  outputFile?: string;
  /** Start it in a process group of its own (as a shell starts a job), so that a test can signal the group. */
  detached?: boolean;
}

export function start(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: StartOptions = {},
): Started {
  const fd = options.outputFile === undefined ? undefined : openSync(options.outputFile, 'w');
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    detached: options.detached ?? false,
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  running.add(child);
  let collected = '';
  child.stdout?.on('data', (d: Buffer) => {
    collected += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    collected += d.toString();
  });
  const output = () =>
    options.outputFile === undefined ? collected : readFileSync(options.outputFile, 'utf8');
  // 'exit' can come before the last output is read: wait for the pipes to close too, but not for ever
  // (a grandchild that kept them open must not hang the test).
  const drained = Promise.race([
    new Promise<void>((resolve) => child.on('close', () => resolve())),
    new Promise<void>((resolve) => child.on('exit', () => setTimeout(resolve, 1000).unref())),
  ]);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      void drained.then(() => resolve(code));
    });
  });
  return {
    child,
    output,
    logs: () =>
      output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits for the first JSON log line whose `msg` is `msg` (and whose fields match `fields`), and returns it. */
export async function waitForLog(
  started: Started,
  msg: string,
  fields: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = started
      .logs()
      .find(
        (l) =>
          l.msg === msg &&
          Object.entries(fields).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)),
      );
    if (line) return line;
    if (Date.now() > deadline || started.child.exitCode !== null || started.child.signalCode !== null)
      throw new Error(
        `no log line ${JSON.stringify(msg)} within ${timeoutMs} ms; output:\n${started.output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Processes (any user's, where /proc lets us read them) whose environment holds `name=value`, as
 * "pid command line": what a program started, grandchildren included, however it was stopped.
 */
export function processesWithEnv(name: string, value: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${name}=${value}`)) continue;
      found.push(
        `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').slice(0, 100)}`,
      );
    } catch {
      // gone, or not readable
    }
  }
  return found;
}

/** Waits until `started`'s output contains `text`; fails at once, with its output, if it exits first. */
export async function waitForOutput(started: Started, text: string, timeoutMs: number): Promise<void> {
  let waiting = true;
  const exitedFirst = started.exited.then((code) => {
    if (waiting) throw new Error(`exited (code ${code}) before printing ${JSON.stringify(text)}`);
  });
  try {
    await Promise.race([
      waitFor(() => started.output().includes(text), timeoutMs, JSON.stringify(text)),
      exitedFirst,
    ]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${started.output().slice(-6000)}`);
  } finally {
    waiting = false;
  }
}
