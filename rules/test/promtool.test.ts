// Runs the hand-written promtool unit tests (rules/tests/*.yaml) and lints every rendered rule file
// and PrometheusRule spec, with the promtool of each version pair (3.5 and Debian 12's 2.42: the rules
// must hold on both). All promtool runs start at once and are awaited per test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEachPair } from '../../test/helpers/tools.js';
import { OUTPUT_FILES } from '../src/render.js';
import { distVariants, listFiles, type RunResult, readYaml, rel, run, TESTS_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'license-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const testFiles = listFiles(TESTS_DIR, '.yaml');
const variants = distVariants();

/** Rule files to lint: every render, and every PrometheusRule's spec as a plain rule file. */
const lintTargets = new Map<string, string>();
for (const v of variants) {
  const ruleFile = join(v.dir, OUTPUT_FILES.rules);
  lintTargets.set(rel(ruleFile), ruleFile);
  // promtool does not read PrometheusRule objects: check the spec, extracted to a plain rule file.
  const cr = readYaml(join(v.dir, OUTPUT_FILES.prometheusRule)) as { spec: unknown };
  const specFile = join(tmp, `${v.label.replace(/[^a-z0-9]+/gi, '-')}.spec.yaml`);
  writeFileSync(specFile, yaml.dump(cr.spec));
  lintTargets.set(`${rel(join(v.dir, OUTPUT_FILES.prometheusRule))} (spec)`, specFile);
}

const explain = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

describeEachPair('promtool', ({ promtool }) => {
  // Start everything now; each `it` awaits its own run.
  const unitRuns = new Map<string, Promise<RunResult>>(
    testFiles.map((f) => [f, run(promtool, ['test', 'rules', f])]),
  );
  const lintRuns = new Map<string, Promise<RunResult>>(
    [...lintTargets].map(([name, file]) => [
      name,
      run(promtool, ['check', 'rules', '--lint=all', '--lint-fatal', file]),
    ]),
  );

  describe('test rules', () => {
    it('finds the test files', () => {
      expect(testFiles.length).toBeGreaterThanOrEqual(8);
    });
    for (const file of testFiles) {
      it(rel(file), async () => {
        const r = await unitRuns.get(file);
        if (r === undefined) throw new Error('not started');
        expect(r.code, explain(r)).toBe(0);
        expect(r.stdout).toContain('SUCCESS');
        // promtool only warns about rule_files that match nothing; treat that as a failure.
        expect(r.stdout + r.stderr).not.toMatch(/WARNING|no file match/i);
      });
    }
  });

  describe('check rules --lint=all --lint-fatal', () => {
    for (const [name, pending] of lintRuns) {
      it(name, async () => {
        const r = await pending;
        expect(r.code, explain(r)).toBe(0);
        expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
      });
    }
  });
});

describe('PrometheusRule', () => {
  for (const v of variants) {
    it(`${v.label}: validates against the prometheus-operator CRD schema and carries the rule file's groups`, () => {
      const cr = readYaml(join(v.dir, OUTPUT_FILES.prometheusRule)) as Record<string, unknown>;
      expect(() =>
        new PrometheusRule(cr as ConstructorParameters<typeof PrometheusRule>[0]).validate(),
      ).not.toThrow();
      expect(cr.spec).toEqual(readYaml(join(v.dir, OUTPUT_FILES.rules)));
    });
  }
});
