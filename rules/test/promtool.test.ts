// Runs the hand-written promtool unit tests (rules/tests/*.yaml) and lints every rendered rule file
// and PrometheusRule spec with promtool 2.42. All promtool runs start at once and are awaited per test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_FILES } from '../src/render.js';
import {
  distVariants,
  findTool,
  listFiles,
  type RunResult,
  readYaml,
  rel,
  run,
  TESTS_DIR,
} from './helpers.js';

const promtool = findTool('promtool');
const tmp = mkdtempSync(join(tmpdir(), 'license-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const testFiles = listFiles(TESTS_DIR, '.yaml');
const variants = distVariants();

// Start everything now; each `it` awaits its own run.
const unitRuns = new Map<string, Promise<RunResult>>(
  testFiles.map((f) => [f, run(promtool, ['test', 'rules', f])]),
);
const lint = (file: string) => run(promtool, ['check', 'rules', '--lint=all', '--lint-fatal', file]);
const lintRuns = new Map<string, Promise<RunResult>>();
for (const v of variants) {
  const ruleFile = join(v.dir, OUTPUT_FILES.rules);
  lintRuns.set(rel(ruleFile), lint(ruleFile));
  // promtool does not read PrometheusRule objects: check the spec, extracted to a plain rule file.
  const cr = readYaml(join(v.dir, OUTPUT_FILES.prometheusRule)) as { spec: unknown };
  const specFile = join(tmp, `${v.label.replace(/[^a-z0-9]+/gi, '-')}.spec.yaml`);
  writeFileSync(specFile, yaml.dump(cr.spec));
  lintRuns.set(`${rel(join(v.dir, OUTPUT_FILES.prometheusRule))} (spec)`, lint(specFile));
}

const explain = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

describe('promtool test rules', () => {
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

describe('promtool check rules --lint=all --lint-fatal', () => {
  for (const [name, pending] of lintRuns) {
    it(name, async () => {
      const r = await pending;
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
    });
  }
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
