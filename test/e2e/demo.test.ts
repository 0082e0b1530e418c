// `npm run demo` as the README tells a new user to run it (after its `predemo` step, which the test
// run's `pretest` has done): it starts everything, shows the first notification and a mail in the
// inbox within about 30 s, and Ctrl-C stops every process it started.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../../scripts/lib/pipeline.mjs';
import { waitFor } from '../helpers/metrics.js';
import { type Started, start } from '../helpers/process.js';

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lm-demo-'));
  let demo: Started | undefined;
  afterAll(async () => {
    await demo?.stop('SIGINT'); // the demo stops what it started (SIGKILL after 5 s)
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the first notification and mail within 30 s, and stops everything on Ctrl-C', async () => {
    const agentPort = await freePort();
    const started = Date.now();
    demo = start(process.execPath, [join(ROOT, 'scripts/demo.mjs')], {
      DEMO_DIR: dir,
      DEMO_LISTEN: `127.0.0.1:${agentPort}`,
    });
    const running = demo;
    try {
      await waitFor(
        () => running.output().includes('Notification #1') && running.output().includes('✉  Mail'),
        45_000,
        'the first notification and mail',
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${running.output()}`);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`demo: first notification after ${seconds.toFixed(1)} s`);
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

    const code = await running.stop('SIGINT');
    expect(code).toBe(0);
    expect(running.output()).toContain('Stopped.');
    for (const url of urls) await expect(fetch(url), `${url} after Ctrl-C`).rejects.toThrow();
  }, 60_000);
});
