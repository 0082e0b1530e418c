// Checks on the tests themselves and on what is committed, because promtool lets tests pass that
// check nothing: a misspelt alertname with no expected alerts passes, a rule_files entry that matches
// nothing only warns, and there is no coverage report.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../src/config.js';
import { OUTPUT_FILES, render } from '../src/render.js';
import {
  configWith,
  DIST_DIR,
  distVariants,
  EXAMPLES_DIR,
  listFiles,
  RUNBOOKS_DIR,
  readYaml,
  rel,
  TESTS_DIR,
} from './helpers.js';

interface AlertCase {
  alertname?: string;
  eval_time?: string;
  exp_alerts?: unknown[] | null;
}
interface TestGroup {
  name?: string;
  interval?: string;
  alert_rule_test?: AlertCase[] | null;
}
interface TestFile {
  rule_files?: string[];
  tests?: TestGroup[];
}
interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string }> }>;
}

const testFiles = listFiles(TESTS_DIR, '.yaml').map((path) => ({ path, doc: readYaml(path) as TestFile }));
const ruleFilesOf = (t: { path: string; doc: TestFile }) =>
  (t.doc.rule_files ?? []).map((f) => resolve(dirname(t.path), f));
const alertsIn = (ruleFile: string) =>
  (readYaml(ruleFile) as RuleFile).groups.flatMap((g) =>
    g.rules.map((r) => r.alert).filter((a) => a !== undefined),
  );
const distRuleFiles = distVariants().map((v) => join(v.dir, OUTPUT_FILES.rules));
const DEFAULT_RULE_FILE = join(DIST_DIR, OUTPUT_FILES.rules);
const receiverGroupName = configWith().licenseReceiver.groupName;
const receiverGroup = (ruleFile: string) =>
  (readYaml(ruleFile) as RuleFile).groups.find((g) => g.name === receiverGroupName);

/**
 * The alerts a rule file's tests must cover. The license-receiver's group does not depend on the
 * source: when a variant's copy equals the default render's, the tests of dist/ cover it.
 */
function alertsToCover(ruleFile: string): string[] {
  const shared =
    ruleFile !== DEFAULT_RULE_FILE &&
    JSON.stringify(receiverGroup(ruleFile)) === JSON.stringify(receiverGroup(DEFAULT_RULE_FILE));
  return (readYaml(ruleFile) as RuleFile).groups
    .filter((g) => !(shared && g.name === receiverGroupName))
    .flatMap((g) => g.rules.map((r) => r.alert).filter((a) => a !== undefined));
}

describe('the promtool test files', () => {
  for (const t of testFiles) {
    describe(rel(t.path), () => {
      it('lists rule files, each of which exists (promtool only warns)', () => {
        const files = ruleFilesOf(t);
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          expect(/[*?[]/.test(f), `${f}: no globs, so a typo cannot match nothing`).toBe(false);
          expect(existsSync(f), `${rel(f)} does not exist`).toBe(true);
        }
      });
      it('sets interval on every test group (promtool 2.42 does not default it)', () => {
        for (const [i, g] of (t.doc.tests ?? []).entries()) {
          expect(g.interval, `test group ${i} (${g.name ?? 'unnamed'})`).toMatch(/^\d+[smhd]$/);
        }
      });
      it('only names alerts that its rule files define', () => {
        const defined = new Set(ruleFilesOf(t).filter(existsSync).flatMap(alertsIn));
        for (const g of t.doc.tests ?? []) {
          for (const c of g.alert_rule_test ?? []) {
            expect(
              defined.has(c.alertname ?? ''),
              `${g.name}: alertname ${c.alertname} at ${c.eval_time}`,
            ).toBe(true);
          }
        }
      });
    });
  }

  it('the license-receiver group of every dist/ variant is the default one (covered by its tests)', () => {
    expect(receiverGroup(DEFAULT_RULE_FILE)?.rules.length).toBe(4);
    for (const ruleFile of distRuleFiles) {
      expect(receiverGroup(ruleFile), rel(ruleFile)).toEqual(receiverGroup(DEFAULT_RULE_FILE));
    }
  });

  for (const ruleFile of distRuleFiles) {
    it(`cover every alert in ${rel(ruleFile)} with a firing and a non-firing case`, () => {
      const cases = testFiles
        .filter((t) => ruleFilesOf(t).includes(ruleFile))
        .flatMap((t) => (t.doc.tests ?? []).flatMap((g) => g.alert_rule_test ?? []));
      expect(cases.length, `no test file references ${rel(ruleFile)}`).toBeGreaterThan(0);
      const missing: string[] = [];
      for (const alert of alertsToCover(ruleFile)) {
        const mine = cases.filter((c) => c.alertname === alert);
        if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${alert}: no firing case`);
        if (!mine.some((c) => (c.exp_alerts ?? []).length === 0))
          missing.push(`${alert}: no non-firing case`);
      }
      expect(missing).toEqual([]);
    });
  }
});

describe('dist/', () => {
  for (const v of distVariants()) {
    it(`${v.label} equals a fresh render (run npm run render -w rules)`, () => {
      const { files } = render(configWith(v.override));
      const onDisk = readdirSync(v.dir, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
      expect(onDisk).toEqual(Object.keys(files).sort());
      for (const [name, content] of Object.entries(files)) {
        expect(readFileSync(join(v.dir, name), 'utf8'), `${rel(join(v.dir, name))} drifted`).toBe(content);
      }
    });
  }

  it('has a rendered variant for every example source override, and one per input source', () => {
    const sourceExamples = ['legacy-agent', 'tigera-operator'];
    for (const name of sourceExamples) {
      expect(existsSync(join(EXAMPLES_DIR, `${name}.yaml`))).toBe(true);
      expect(existsSync(join(DIST_DIR, name, OUTPUT_FILES.rules))).toBe(true);
    }
    const sources = distVariants().map((v) => configWith(v.override).source);
    expect(new Set(sources)).toEqual(new Set(['agent', 'legacy-agent', 'tigera-operator']));
  });
});

describe('runbooks', () => {
  for (const alert of ALERT_NAMES) {
    it(`${alert}.md has Meaning, Impact, Diagnosis and Mitigation`, () => {
      const file = join(RUNBOOKS_DIR, `${alert}.md`);
      expect(existsSync(file)).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith(`# ${alert}\n`)).toBe(true);
      const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      expect(headings.slice(0, 4)).toEqual(['Meaning', 'Impact', 'Diagnosis', 'Mitigation']);
      const mitigation = text.split(/^## Mitigation$/m)[1]?.split(/^## /m)[0] ?? '';
      expect(mitigation).toMatch(/kubectl /);
    });
  }

  it('runbook_url of every rendered alert points at its runbook file', () => {
    const { rules } = render(configWith());
    for (const r of rules) {
      expect(r.annotations.runbook_url).toMatch(new RegExp(`/rules/runbooks/${r.alert}\\.md$`));
    }
  });
});
