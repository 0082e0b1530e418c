// `npm run demo` as the README tells a new user to run it: it starts everything, shows the first
// notification and a mail in the inbox within about 30 s, and however it is stopped — Ctrl-C in its
// terminal, `kill -INT` or `kill -TERM` of the npm process — nothing it started keeps running.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/pipeline.mjs';
import { waitFor } from '../helpers/metrics.js';
import { processesWithEnv, type Started, start, waitForOutput } from '../helpers/process.js';

const dirs: string[] = [];
let demo: Started | undefined;

const processesOf = (dir: string) => processesWithEnv('DEMO_DIR', dir);

/**
 * `npm run demo` in a process group of its own, as a terminal runs it. Its ports are its own choice
 * (the defaults, or free ones when taken): a port picked here could be taken by the time the demo,
 * after its build, starts.
 */
function startDemo(): { demo: Started; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lm-demo-'));
  dirs.push(dir);
  demo = start(
    'npm',
    ['run', 'demo', '--prefix', ROOT],
    { DEMO_DIR: dir, DEMO_FREE_PORTS: '1' },
    { detached: true },
  );
  return { demo, dir };
}

async function expectAllGone(dir: string, how: string): Promise<void> {
  await waitFor(() => processesOf(dir).length === 0, 15_000, `every process to stop after ${how}`).catch(
    (err: Error) => {
      throw new Error(`${err.message}; still running:\n${processesOf(dir).join('\n')}`);
    },
  );
}

afterEach(() => {
  // A failed test must not leave its demo running: end its whole process group.
  const pid = demo?.child.pid;
  if (pid !== undefined && demo?.child.exitCode === null) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  demo = undefined;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it('shows the first notification and mail within 40 s, and Ctrl-C stops everything', async () => {
    const started = Date.now();
    const { demo: running, dir } = startDemo();
    await waitForOutput(running, 'Notification #1', 50_000);
    await waitForOutput(running, '✉  Mail', 10_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`demo: first notification ${seconds.toFixed(1)} s after \`npm run demo\``);
    expect(seconds).toBeLessThan(40);
    const output = running.output();
    for (const step of [1, 2, 3, 4, 5, 6, 7]) expect(output).toMatch(new RegExp(`\\[${step}/7\\] .*ok`));
    const urls = [
      ...output.matchAll(/^ {2}(?:Prometheus alerts|Receiver status|Mail inbox|Agent metrics) +(\S+)/gm),
    ].map((m) => m[1] as string);
    expect(urls).toHaveLength(4);
    for (const url of urls) expect((await fetch(url)).status, url).toBe(200);
    expect(output).toContain('What to do');
    // The usage report command it prints runs against the demo's Prometheus.
    const report = /Usage report +npx license-report (.+?) {3}/.exec(output)?.[1]?.split(' ') ?? [];
    const { stdout } = await promisify(execFile)(join(ROOT, 'report/bin/license-report.js'), report);
    expect(stdout).toContain('# Calico Enterprise licence usage');

    // Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
    process.kill(-(running.child.pid as number), 'SIGINT');
    await running.exited;
    await expectAllGone(dir, 'Ctrl-C');
    expect(running.output()).toContain('Stopped.');
    for (const url of urls) await expect(fetch(url), `${url} after Ctrl-C`).rejects.toThrow();
  }, 90_000);

  it.each([
    ['kill -INT', 'SIGINT'],
    ['kill -TERM', 'SIGTERM'],
  ] as const)(
    'stops everything on %s of the npm process',
    async (how, signal) => {
      const { demo: running, dir } = startDemo();
      await waitForOutput(running, 'Ctrl-C stops everything', 50_000);
      expect(processesOf(dir).length, 'npm, the demo and what it started').toBeGreaterThan(5);
      process.kill(running.child.pid as number, signal);
      await expectAllGone(dir, how);
      expect(running.output()).toContain('Stopped.');
    },
    90_000,
  );
});
