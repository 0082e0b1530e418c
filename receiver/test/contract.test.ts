// One contract from rules to messages. The receiver's fixtures of licence alerts are what the real
// rules produce (fixtures/from-rules.ts runs them through promtool); this file fails when the rules
// and the committed fixtures drift apart, and checks that every channel shows every fact of the
// annotation contract (FACTS in @license-monitor/common) that an alert carries — and nothing else.
import { readFileSync } from 'node:fs';
import { FACT_NAMES, type Fact, TIME_FACTS } from '@license-monitor/common';
import { describe, expect, it } from 'vitest';
import { sampleLicencePayload } from '../src/sample.js';
import { humanTime } from '../src/units.js';
import { everyChannel } from './fixtures/channels.js';
import { groupViewOf, plannedEvent } from './fixtures/events.js';
import {
  EXAMPLE_FILE,
  exampleText,
  FIXTURES_FILE,
  fixturesText,
  generateFromRules,
  type RuleFixtures,
} from './fixtures/from-rules.js';
import { ruleFixtures } from './fixtures/payloads.js';

/** How a fact reads in a message, whatever the channel's markup. */
function expectedText(fact: Fact, value: string, annotations: Record<string, string>): string {
  if (TIME_FACTS.includes(fact)) return humanTime(Date.parse(value));
  switch (fact) {
    case 'days_left':
      return annotations.expires_at === undefined ? value : `${value} days left`;
    case 'nodes_used':
    case 'cores_used': {
      const kind = fact.slice(0, 5);
      return `${value} used of ${annotations[`${kind}_licensed`]} licensed`;
    }
    case 'nodes_licensed':
    case 'cores_licensed':
      return `of ${value} licensed`;
    default:
      return `${value} at the peak of the forecast`;
  }
}

describe('receiver fixtures from the real rules', () => {
  it('are what the rules produce now (regenerate with `npm run fixtures -w receiver`)', async () => {
    const fixtures = await generateFromRules();
    const hint = 'the rules changed: run `npm run fixtures -w receiver` and commit the result';
    expect(fixturesText(fixtures), hint).toBe(readFileSync(FIXTURES_FILE, 'utf8'));
    expect(exampleText(fixtures), hint).toBe(readFileSync(EXAMPLE_FILE, 'utf8'));
  }, 60_000);

  it("match test-send's sample alert: the same labels, annotations and summary as the rule's", () => {
    const { firing } = ruleFixtures()['agent/CalicoLicenseExpiringSoon'] as RuleFixtures[string];
    const sample = sampleLicencePayload(Date.now(), 'firing');
    const names = (o: Record<string, string>) => Object.keys(o).sort();
    // The sample states no remediation of its own: the runbook's is quoted instead.
    expect(names(sample.commonLabels)).toEqual(names(firing.commonLabels));
    expect(names(sample.commonAnnotations)).toEqual(
      names(firing.commonAnnotations).filter((n) => n !== 'remediation'),
    );
    expect(sample.commonAnnotations.summary).toBe(firing.commonAnnotations.summary);
  });

  it('cover every fact of the contract, from every input source', () => {
    const fixtures: RuleFixtures = ruleFixtures();
    const carried = new Set(Object.values(fixtures).flatMap((f) => Object.keys(f.firing.commonAnnotations)));
    expect(FACT_NAMES.filter((f) => !carried.has(f))).toEqual([]);
    expect(new Set(Object.keys(fixtures).map((k) => k.split('/')[0]))).toEqual(
      new Set(['agent', 'legacy-agent', 'tigera-operator']),
    );
  });
});

describe('every channel shows the facts of a firing alert', () => {
  const channels = everyChannel();
  const fixtures = ruleFixtures();
  for (const [key, { firing }] of Object.entries(fixtures)) {
    const annotations = firing.commonAnnotations;
    const facts = FACT_NAMES.filter((f) => annotations[f] !== undefined);
    if (facts.length === 0) continue;
    it(`${key}: ${facts.join(', ')}`, () => {
      const event = plannedEvent(firing, {
        now: Date.parse(firing.alerts[0]?.startsAt as string) + 3_600_000,
      });
      for (const channel of channels) {
        // (Jira's wiki markup escapes a dash: `2026\-12\-10`.)
        const wire = JSON.stringify(channel.render(event)).replaceAll('\\\\', '');
        for (const fact of facts) {
          const text = expectedText(fact, annotations[fact] as string, annotations);
          expect(wire, `${channel.name} shows ${fact}`).toContain(JSON.stringify(text).slice(1, -1));
        }
      }
    });
  }

  it('reads exactly the contract: other names and labels are no facts', () => {
    const { firing } = fixtures['agent/CalicoLicenseExpiringSoon'] as RuleFixtures[string];
    const lookalike = {
      ...firing,
      commonLabels: { ...firing.commonLabels, nodes_used: '7' },
      commonAnnotations: { summary: 'x', days_remaining: '3', licensed_nodes: '9', days_left: '' },
      alerts: firing.alerts.map((a) => ({ ...a, annotations: { summary: 'x' } })),
    };
    expect(groupViewOf(lookalike).facts).toEqual({ daysLeft: '' });
    const lines = JSON.stringify(
      channels[3]?.render(plannedEvent(lookalike, { now: Date.parse(firing.alerts[0]?.startsAt as string) })),
    );
    expect(lines).toContain('Days left: unknown');
    expect(lines).not.toMatch(/Nodes|days_remaining: 3/);
  });
});
