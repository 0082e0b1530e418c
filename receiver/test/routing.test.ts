import { describe, expect, it } from 'vitest';
import { MatcherError, matches, parseMatcher, type Route, route } from '../src/routing.js';

describe('matchers (Alertmanager syntax)', () => {
  it.each([
    ['alertname="X"', { alertname: 'X' }, true],
    ['alertname="X"', { alertname: 'Y' }, false],
    ['severity!="info"', { severity: 'warning' }, true],
    ['severity!="info"', { severity: 'info' }, false],
    ['severity!="info"', {}, true], // a missing label is ""
    ['severity=""', {}, true],
    ['alertname=~"CalicoLicense.*"', { alertname: 'CalicoLicenseExpired' }, true],
    ['alertname=~"CalicoLicense.*"', { alertname: 'XCalicoLicenseExpired' }, false], // anchored
    ['alertname=~"Calico|Other"', { alertname: 'CalicoLicense' }, false], // anchored around the alternation
    ['alertname!~"Calico.*"', { alertname: 'KubePodCrashLooping' }, true],
    ['cluster=prod', { cluster: 'prod' }, true], // unquoted value
    [' cluster = "a \\"quoted\\" value" ', { cluster: 'a "quoted" value' }, true],
    ['"dotted.name"="v"', { 'dotted.name': 'v' }, true],
  ])('%s on %j → %s', (text, labels, expected) => {
    expect(matches(parseMatcher(text), labels as Record<string, string>)).toBe(expected);
  });

  it.each([['alertname'], ['=x'], ['a=~"("'], ['a="unterminated'], ['a=b,c']])('rejects %j', (text) => {
    expect(() => parseMatcher(text)).toThrow(MatcherError);
  });
});

describe('routes', () => {
  const r = (matchers: string[], channels: string[], extra: Partial<Route> = {}): Route => ({
    matchers: matchers.map(parseMatcher),
    channels,
    continue: false,
    ...extra,
  });
  const routes = [
    r(['alertname=~"CalicoLicense.*"', 'severity!="info"'], ['slack', 'mail']),
    r(['severity="critical"'], ['pager']),
    r([], ['audit'], { receiver: 'audit-receiver' }),
  ];

  it('stops at the first match without continue', () => {
    expect(
      route(routes, ['default'], {
        receiver: 'x',
        labels: { alertname: 'CalicoLicenseExpired', severity: 'critical' },
      }),
    ).toEqual(['slack', 'mail']);
  });

  it('goes on with continue and keeps each channel once', () => {
    const chained = [
      { ...(routes[0] as Route), continue: true },
      r(['severity="critical"'], ['pager', 'slack']),
    ];
    expect(
      route(chained, [], {
        receiver: 'x',
        labels: { alertname: 'CalicoLicenseExpired', severity: 'critical' },
      }),
    ).toEqual(['slack', 'mail', 'pager']);
  });

  it('falls back to the default channels', () => {
    expect(
      route(routes, ['default'], { receiver: 'x', labels: { alertname: 'Other', severity: 'info' } }),
    ).toEqual(['default']);
  });

  it('matches on the Alertmanager receiver when a route names one', () => {
    expect(route(routes, [], { receiver: 'audit-receiver', labels: { alertname: 'Other' } })).toEqual([
      'audit',
    ]);
    expect(route(routes, [], { receiver: 'someone-else', labels: { alertname: 'Other' } })).toEqual([]);
  });
});
