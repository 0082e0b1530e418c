// The README on a fresh clone, as a new user meets it: `git clone`, then `npm run demo` (which runs
// `npm ci` and `npm run build` itself) until the first notification, Ctrl-C, then the three
// `npx license-*` bins with the npm registry out of reach (they must be the project's own programs,
// never a download). It runs as an ordinary user without sudo for whom Prometheus and Alertmanager are
// not installed: they are fetched and unpacked without root, and Debian's Alertmanager must still find
// its templates.
//
// As root (CI) it creates a temporary user and hides the system's Prometheus and Alertmanager, if
// any, in a mount namespace of its own; as an ordinary user it runs as you when the system has none.
// A full `npm ci` takes minutes: it runs when CI=true or LM_FRESH_CLONE=1, and says why it is skipped
// otherwise.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/pipeline.mjs';
import { waitFor } from '../helpers/metrics.js';
import { processesWithEnv, type Started, start, waitForOutput } from '../helpers/process.js';

/** What Debian's prometheus and prometheus-alertmanager packages install that the project could use. */
const SYSTEM_FILES = [
  '/usr/bin/prometheus',
  '/usr/bin/promtool',
  '/usr/bin/prometheus-alertmanager',
  '/usr/bin/amtool',
  '/usr/share/prometheus',
];
const isRoot = process.getuid?.() === 0;
const installed = SYSTEM_FILES.filter((path) => existsSync(path));
const has = (program: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function skipReason(): string | undefined {
  if (process.env.CI !== 'true' && process.env.LM_FRESH_CLONE !== '1')
    return 'a full npm ci takes minutes: runs in CI (CI=true) or with LM_FRESH_CLONE=1';
  if (!has('git')) return 'git is not installed';
  if (isRoot) {
    const missing = ['useradd', 'userdel', 'setpriv', 'unshare'].filter((p) => !has(p));
    if (missing.length > 0) return `running as root needs ${missing.join(', ')} to act as an ordinary user`;
    return undefined;
  }
  if (installed.length > 0)
    return `the system's Prometheus/Alertmanager are installed (${installed.join(', ')}) and hiding them needs root; CI runs this as root`;
  return undefined;
}

const reason = skipReason();
const user = `lm-fresh-${process.pid}`;
let base = '';
let clone = '';
let home = '';

/** A shell command line, run as the test's ordinary user with a clean environment. */
function asUser(script: string, env: Record<string, string> = {}): { command: string; args: string[] } {
  const clean = {
    HOME: home,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    npm_config_update_notifier: 'false',
    ...env,
  };
  const assignments = Object.entries(clean).map(([k, v]) => `${k}=${v}`);
  if (!isRoot) return { command: 'env', args: ['-i', ...assignments, 'sh', '-c', script] };
  // Root: a mount namespace where the system's programs are replaced by one that fails loudly and
  // /usr/share/prometheus is gone (an overlay with a whiteout: absent, as without the package), then
  // the user's own credentials.
  const hideBins = installed
    .filter((path) => path.startsWith('/usr/bin/'))
    .map((path) => `mount --bind ${join(base, 'hidden')} ${path}`);
  const hideShare = installed.includes('/usr/share/prometheus')
    ? [
        `mount -t overlay overlay -o lowerdir=/usr/share,upperdir=${base}/share/up,workdir=${base}/share/work /usr/share`,
      ]
    : [];
  const hide = [...hideBins, ...hideShare].join(' && ');
  const become = `exec setpriv --reuid=${user} --regid=${user} --init-groups -- env -i ${assignments.map((a) => `'${a}'`).join(' ')} sh -c "$0"`;
  return {
    command: 'unshare',
    args: ['-m', '--', 'sh', '-c', `${hide ? `${hide} && ` : ''}${become}`, script],
  };
}

function runAsUser(script: string, env: Record<string, string> = {}): string {
  const { command, args } = asUser(script, env);
  try {
    return execFileSync(command, args, { cwd: clone, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${script} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

const processesOf = (dir: string) => processesWithEnv('DEMO_DIR', dir);

describe.skipIf(reason !== undefined)(`a fresh clone${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let demo: Started | undefined;
  let demoDir = '';

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'lm-fresh-'));
    chmodSync(base, 0o755);
    home = join(base, 'home');
    if (!isRoot) mkdirSync(home);
    if (isRoot) {
      execFileSync('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/sh', user]);
      writeFileSync(
        join(base, 'hidden'),
        '#!/bin/sh\necho "$0: the system package is hidden in this test" >&2\nexit 127\n',
      );
      chmodSync(join(base, 'hidden'), 0o755);
      // A whiteout (a 0/0 character device) hides /usr/share/prometheus in the overlay.
      mkdirSync(join(base, 'share/up'), { recursive: true });
      mkdirSync(join(base, 'share/work'));
      execFileSync('mknod', [join(base, 'share/up/prometheus'), 'c', '0', '0']);
    }
    clone = join(base, 'license-monitor');
    // What `git clone` of the repository gives: HEAD, committed files only.
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
    if (isRoot) execFileSync('chown', ['-R', `${user}:${user}`, clone]);
    demoDir = join(clone, '.cache/demo');
  });

  afterAll(() => {
    for (const pid of processesOf(demoDir).map((line) => line.split(' ')[0])) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (isRoot) execFileSync('userdel', ['--remove', user], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  });

  it('`npm run demo` as an ordinary user without Prometheus installed: first notification, then Ctrl-C stops everything', async () => {
    const { command, args } = asUser(`cd '${clone}' && npm run demo`, {
      DEMO_DIR: demoDir,
      DEMO_FREE_PORTS: '1',
    });
    const started = Date.now();
    demo = start(command, args, {}, { detached: true });
    const running = demo;
    await waitForOutput(running, 'Notification #1', 540_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `fresh clone: \`npm run demo\` as ${isRoot ? `the new user ${user}` : 'you'} → first notification in ${seconds.toFixed(0)} s (npm ci, build, Prometheus/Alertmanager fetched without root)`,
    );
    expect(running.output()).toMatch(/Fetching the current pair from Debian/);
    expect(running.output()).not.toContain('the system package is hidden');
    process.kill(-(running.child.pid as number), 'SIGINT');
    await running.exited;
    await waitFor(() => processesOf(demoDir).length === 0, 15_000, 'every demo process to stop');
  }, 600_000);

  it('`npx license-agent|license-rules|license-receiver --help` run the built programs, never the registry', () => {
    for (const [bin, usage] of [
      ['license-agent', '  license-agent --source file'],
      ['license-rules', '  license-rules render'],
      ['license-receiver', '  license-receiver serve --config FILE'],
    ]) {
      // A registry that refuses every connection: a download attempt fails instead of running something.
      const output = runAsUser(`cd '${clone}' && npx ${bin} --help`, {
        npm_config_registry: 'http://127.0.0.1:9/',
      });
      expect(output, bin).toContain(usage);
    }
  });
});
