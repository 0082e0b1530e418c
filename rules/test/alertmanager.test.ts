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

  it('check-config accepts the ops receiver as Slack, and as a receiver alertmanager.yml already has', async () => {
    const slack = render(
      configWith(
        'alertmanager:\n  opsReceiver:\n    config:\n      slack_configs:\n        - api_url_file: /etc/alertmanager/secrets/slack-ops\n          channel: "#platform"\n',
      ),
    );
    const slackFile = wrap(yaml.load(slack.files[OUTPUT_FILES.alertmanager] ?? '') as Fragment, 'ops-slack');
    const r1 = await run(amtool, ['check-config', slackFile]);
    expect(r1.code, `${r1.stdout}\n${r1.stderr}`).toBe(0);

    const existing = render(
      configWith('alertmanager:\n  opsReceiver:\n    name: platform-oncall\n    config: null\n'),
    );
    const fragment = yaml.load(existing.files[OUTPUT_FILES.alertmanager] ?? '') as Fragment;
    expect(fragment.receivers.map((r) => r.name)).toEqual(['calico-license']);
    // Alone, the route names a receiver nobody defines: amtool refuses it ...
    const alone = await run(amtool, ['check-config', wrap(fragment, 'ops-missing')]);
    expect(alone.code).not.toBe(0);
    expect(alone.stdout + alone.stderr).toContain('platform-oncall');
    // ... merged into a configuration that has it, it passes.
    const merged = wrap(
      { ...fragment, receivers: [...fragment.receivers, { name: 'platform-oncall' }] },
      'ops-existing',
    );
    const r2 = await run(amtool, ['check-config', merged]);
    expect(r2.code, `${r2.stdout}\n${r2.stderr}`).toBe(0);
  });

  it('check-config rejects a broken fragment (the check can fail)', async () => {
    const fragment = readYaml(join(distVariants()[0]?.dir ?? '', OUTPUT_FILES.alertmanager)) as Fragment;
    const broken = structuredClone(fragment);
    const first = broken.inhibit_rules[0];
    if (first === undefined) throw new Error('no inhibit rules');
    first.source_matchers = ['alertname=~"(unclosed"'];
    const r = await run(amtool, ['check-config', wrap(broken, 'broken')]);
    expect(r.code).not.toBe(0);
  });

  it('routes the licence alerts to the webhook receiver, the receiver’s own to the ops receiver, nothing else', async () => {
    const fragment = readYaml(join(distVariants()[0]?.dir ?? '', OUTPUT_FILES.alertmanager)) as Fragment;
    const file = wrap(fragment, 'routes');
    const receiverOf = async (...labels: string[]) => {
      const r = await run(amtool, ['config', 'routes', 'test', `--config.file=${file}`, ...labels]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    expect(await receiverOf('alertname=CalicoLicenseExpired', 'cluster=c1')).toBe('calico-license');
    expect(await receiverOf('alertname=LicenseReceiverDeadLetters', 'cluster=c1', 'channel=slack')).toBe(
      'license-monitor-ops',
    );
    expect(await receiverOf('alertname=KubePodCrashLooping')).toBe('default');
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
        'alertname=~"CalicoLicenseExpiringSoon|CalicoLicenseExpiryCritical|CalicoLicenseInGracePeriod|CalicoLicenseExpired|CalicoLicenseNodesOverCapacity|CalicoLicenseNodesNearCapacity|CalicoLicenseNodesCapacityForecast|CalicoLicenseCoresOverCapacity|CalicoLicenseCoresNearCapacity|CalicoLicenseCoresCapacityForecast"',
      ],
      equal: ['cluster'],
    });
  });

  it('let over capacity silence near capacity and the forecast, for nodes and for cores apart', () => {
    expect(rules).toContainEqual({
      source_matchers: ['alertname="CalicoLicenseNodesOverCapacity"'],
      target_matchers: ['alertname=~"CalicoLicenseNodesNearCapacity|CalicoLicenseNodesCapacityForecast"'],
      equal: ['cluster'],
    });
    expect(rules).toContainEqual({
      source_matchers: ['alertname="CalicoLicenseCoresOverCapacity"'],
      target_matchers: ['alertname=~"CalicoLicenseCoresNearCapacity|CalicoLicenseCoresCapacityForecast"'],
      equal: ['cluster'],
    });
  });

  it('let a receiver that is down silence its other alerts', () => {
    expect(rules.at(-1)).toEqual({
      source_matchers: ['alertname="LicenseReceiverDown"'],
      target_matchers: [
        'alertname=~"LicenseReceiverDeadLetters|LicenseReceiverNotificationsFailing|LicenseReceiverOutboxBacklog"',
      ],
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
