// The Alertmanager fragment: valid for the amtool of each version pair (0.33 and Debian 12's 0.25) once
// wrapped in a minimal config, routes the licence alerts (and only them) to the receiver, and inhibits
// what the tiers and health alerts cover.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEachPair } from '../../test/helpers/tools.js';
import { OUTPUT_FILES, render } from '../src/render.js';
import { configWith, distVariants, readYaml, run } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'license-rules-am-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Fragment {
  route: Record<string, unknown>;
  receivers: Array<Record<string, unknown>>;
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
}

/** The fragment placed in a minimal alertmanager.yml, as the README tells users to merge it. */
function wrap(fragment: Fragment, name: string): string {
  const file = join(tmp, `${name}.yml`);
  writeFileSync(
    file,
    yaml.dump({
      route: { receiver: 'default', routes: [fragment.route] },
      receivers: [{ name: 'default' }, ...fragment.receivers],
      inhibit_rules: fragment.inhibit_rules,
    }),
  );
  return file;
}

describeEachPair('amtool', ({ amtool }) => {
  for (const v of distVariants()) {
    it(`${v.label}: check-config accepts the fragment`, async () => {
      const fragment = readYaml(join(v.dir, OUTPUT_FILES.alertmanager)) as Fragment;
      const r = await run(amtool, ['check-config', wrap(fragment, v.label.replace(/[^a-z0-9]+/gi, '-'))]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('SUCCESS');
    });
  }

  it('check-config rejects a broken fragment (the check can fail)', async () => {
    const fragment = readYaml(join(distVariants()[0]?.dir ?? '', OUTPUT_FILES.alertmanager)) as Fragment;
    const broken = structuredClone(fragment);
    const first = broken.inhibit_rules[0];
    if (first === undefined) throw new Error('no inhibit rules');
    first.source_matchers = ['alertname=~"(unclosed"'];
    const r = await run(amtool, ['check-config', wrap(broken, 'broken')]);
    expect(r.code).not.toBe(0);
  });

  it('routes the licence alerts to the webhook receiver and nothing else', async () => {
    const fragment = readYaml(join(distVariants()[0]?.dir ?? '', OUTPUT_FILES.alertmanager)) as Fragment;
    const file = wrap(fragment, 'routes');
    const licence = await run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${file}`,
      'alertname=CalicoLicenseExpired',
      'cluster=c1',
    ]);
    expect(licence.code, licence.stderr).toBe(0);
    expect(licence.stdout.trim()).toBe('calico-license');
    const other = await run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${file}`,
      'alertname=KubePodCrashLooping',
    ]);
    expect(other.stdout.trim()).toBe('default');
  });
});

describe('inhibit rules', () => {
  const { files } = render(configWith());
  const fragment = yaml.load(files[OUTPUT_FILES.alertmanager] ?? '') as Fragment;
  const rules = fragment.inhibit_rules;

  it('chain the expiry tiers: each later tier silences every earlier one, per cluster', () => {
    expect(rules.slice(0, 3)).toEqual([
      {
        source_matchers: ['alertname="CalicoLicenseExpired"'],
        target_matchers: [
          'alertname=~"CalicoLicenseExpiringSoon|CalicoLicenseExpiryCritical|CalicoLicenseInGracePeriod"',
        ],
        equal: ['cluster'],
      },
      {
        source_matchers: ['alertname="CalicoLicenseInGracePeriod"'],
        target_matchers: ['alertname=~"CalicoLicenseExpiringSoon|CalicoLicenseExpiryCritical"'],
        equal: ['cluster'],
      },
      {
        source_matchers: ['alertname="CalicoLicenseExpiryCritical"'],
        target_matchers: ['alertname="CalicoLicenseExpiringSoon"'],
        equal: ['cluster'],
      },
    ]);
  });

  it('let Missing, Invalid and AgentDown silence every value alert', () => {
    expect(rules).toContainEqual({
      source_matchers: ['alertname=~"CalicoLicenseMissing|CalicoLicenseInvalid|CalicoLicenseAgentDown"'],
      target_matchers: [
        'alertname=~"CalicoLicenseExpiringSoon|CalicoLicenseExpiryCritical|CalicoLicenseInGracePeriod|CalicoLicenseExpired|CalicoLicenseNodesOverCapacity|CalicoLicenseNodesNearCapacity|CalicoLicenseNodesCapacityForecast"',
      ],
      equal: ['cluster'],
    });
  });

  it('let over capacity silence near capacity and the forecast', () => {
    expect(rules).toContainEqual({
      source_matchers: ['alertname="CalicoLicenseNodesOverCapacity"'],
      target_matchers: ['alertname=~"CalicoLicenseNodesNearCapacity|CalicoLicenseNodesCapacityForecast"'],
      equal: ['cluster'],
    });
  });

  it('follow the configuration: disabled alerts and the cluster label', () => {
    const custom = render(
      configWith('clusterLabel: k8s_cluster\nalerts:\n  CalicoLicenseInGracePeriod: {enabled: false}\n'),
    );
    const f = yaml.load(custom.files[OUTPUT_FILES.alertmanager] ?? '') as Fragment;
    expect(f.inhibit_rules[0]).toEqual({
      source_matchers: ['alertname="CalicoLicenseExpired"'],
      target_matchers: ['alertname=~"CalicoLicenseExpiringSoon|CalicoLicenseExpiryCritical"'],
      equal: ['k8s_cluster'],
    });
    expect(JSON.stringify(f)).not.toContain('CalicoLicenseInGracePeriod');
    expect(f.route.group_by).toEqual(['alertname', 'k8s_cluster']);
  });
});
