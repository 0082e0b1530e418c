import { describe, expect, it } from 'vitest';
import { evaluateLicense, type LicenseKey, limitProblems, readLimit } from '../src/license.js';

const DAY = 86_400;
const EXPIRY = '2027-03-31T23:59:59Z';
const EXPIRY_S = Date.parse(EXPIRY) / 1000;
const DEFAULT_GRACE = 30 * DAY;

function key(status: Record<string, unknown> | null | undefined): LicenseKey {
  return { apiVersion: 'projectcalico.org/v3', kind: 'LicenseKey', metadata: { name: 'default' }, status };
}
const withGrace = (gracePeriod?: string) =>
  key({ expiry: EXPIRY, maxnodes: 100, package: 'Enterprise', features: ['cnx', 'all'], gracePeriod });

describe('evaluateLicense: state at each boundary', () => {
  const ninety = withGrace('90d');
  const cases: [string, LicenseKey | null, number, string, number | undefined][] = [
    // name, licence, now, expected state, expected days left
    ['well before expiry', ninety, EXPIRY_S - 40 * DAY, 'valid', 40],
    ['one second before expiry', ninety, EXPIRY_S - 1, 'valid', 0],
    ['at expiry', ninety, EXPIRY_S, 'in-grace-period', 0],
    ['one second after expiry', ninety, EXPIRY_S + 1, 'in-grace-period', -1],
    ['one second before grace end', ninety, EXPIRY_S + 90 * DAY - 1, 'in-grace-period', -90],
    ['at grace end', ninety, EXPIRY_S + 90 * DAY, 'expired', -90],
    ['one second after grace end', ninety, EXPIRY_S + 90 * DAY + 1, 'expired', -91],
    [
      'no gracePeriod: default 30d applies',
      withGrace(undefined),
      EXPIRY_S + 30 * DAY - 1,
      'in-grace-period',
      -30,
    ],
    ['no gracePeriod: expired at default end', withGrace(undefined), EXPIRY_S + 30 * DAY, 'expired', -30],
    ['gracePeriod 0d: straight to expired', withGrace('0d'), EXPIRY_S, 'expired', 0],
    ['no LicenseKey', null, EXPIRY_S, 'no-license-loaded', undefined],
  ];
  it.each(cases)('%s', (_name, license, now, state, days) => {
    const view = evaluateLicense(license, now, DEFAULT_GRACE);
    expect(view.state).toBe(state);
    expect(view.daysLeft).toBe(days);
  });

  it('reports expiry, grace length and grace end as timestamps', () => {
    const view = evaluateLicense(ninety, EXPIRY_S - DAY, DEFAULT_GRACE);
    expect(view).toMatchObject({
      expirySeconds: EXPIRY_S,
      graceSeconds: 90 * DAY,
      graceEndSeconds: EXPIRY_S + 90 * DAY,
      maxNodes: 100,
      package: 'Enterprise',
      features: ['cnx', 'all'],
      defaultGraceUsed: false,
    });
  });

  it('uses the default grace period and says so when status.gracePeriod is absent or unreadable', () => {
    for (const grace of [undefined, 'ninety days']) {
      const view = evaluateLicense(withGrace(grace), EXPIRY_S, 7 * DAY);
      expect(view.graceSeconds).toBe(7 * DAY);
      expect(view.defaultGraceUsed).toBe(true);
    }
  });

  it('keeps the node limit in every state (grace and expired too)', () => {
    for (const now of [EXPIRY_S - 1, EXPIRY_S + 1, EXPIRY_S + 100 * DAY]) {
      expect(evaluateLicense(ninety, now, DEFAULT_GRACE).maxNodes).toBe(100);
    }
  });

  it('treats an absent maxnodes as unlimited', () => {
    const view = evaluateLicense(key({ expiry: EXPIRY }), EXPIRY_S - DAY, DEFAULT_GRACE);
    expect(view.state).toBe('valid');
    expect(view.maxNodes).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('evaluateLicense: unusable status is invalid', () => {
  const invalid: [string, LicenseKey][] = [
    ['missing status', key(undefined)],
    ['null status', key(null)],
    ['malformed expiry', key({ expiry: 'next tuesday', maxnodes: 10 })],
    ['date without time', key({ expiry: '2027-03-31', maxnodes: 10 })],
    ['numeric expiry', key({ expiry: 1806537599 })],
    ['missing expiry', key({ maxnodes: 10 })],
    [
      'Valid condition False with reason InvalidLicense',
      key({
        expiry: EXPIRY,
        maxnodes: 10,
        conditions: [
          { type: 'Valid', status: 'False', reason: 'InvalidLicense', message: 'error decrypting license' },
        ],
      }),
    ],
  ];
  it.each(invalid)('%s', (_name, license) => {
    const view = evaluateLicense(license, EXPIRY_S - DAY, DEFAULT_GRACE);
    expect(view.state).toBe('invalid');
    expect(view.reason).toBeTruthy();
  });

  it('an InvalidLicense condition keeps the known expiry and limit', () => {
    const license = key({
      expiry: EXPIRY,
      maxnodes: 10,
      conditions: [{ type: 'Valid', status: 'False', reason: 'InvalidLicense' }],
    });
    const view = evaluateLicense(license, EXPIRY_S - DAY, DEFAULT_GRACE);
    expect(view).toMatchObject({ state: 'invalid', expirySeconds: EXPIRY_S, maxNodes: 10, daysLeft: 1 });
  });

  it('an ExpiredLicense condition does not override the time-based state', () => {
    const license = key({
      expiry: EXPIRY,
      conditions: [{ type: 'Valid', status: 'True', reason: 'ExpiredLicense' }],
    });
    expect(evaluateLicense(license, EXPIRY_S + 1, DEFAULT_GRACE).state).toBe('in-grace-period');
  });

  it('rejects a negative maxnodes as unknown rather than unlimited', () => {
    expect(evaluateLicense(key({ expiry: EXPIRY, maxnodes: -1 }), 0, DEFAULT_GRACE).maxNodes).toBeUndefined();
  });
});

describe('status limits', () => {
  it('reads maxcores beside maxnodes; absent or 0 maxcores is no core limit', () => {
    const view = (status: Record<string, unknown>) =>
      evaluateLicense(key({ expiry: EXPIRY, ...status }), 0, 0);
    expect(view({ maxnodes: 10, maxcores: 512 })).toMatchObject({ maxNodes: 10, maxCores: 512 });
    expect(view({ maxcores: 512 })).toMatchObject({ maxNodes: Number.POSITIVE_INFINITY, maxCores: 512 });
    expect(view({ maxnodes: 10 }).maxCores).toBe(Number.POSITIVE_INFINITY);
    expect(view({ maxnodes: 10, maxcores: 0 }).maxCores).toBe(Number.POSITIVE_INFINITY);
    expect(view({ maxnodes: 0 }).maxNodes).toBe(0); // unchanged: a zero node limit is a limit
  });

  it.each([
    ['100', 'not_a_number', 'status.maxcores is "100" (a string): expected a whole number ≥ 0'],
    [true, 'not_a_number', 'status.maxcores is true: expected'],
    [Number.NaN, 'not_a_number', 'status.maxcores is NaN: expected'],
    [-1, 'negative', 'status.maxcores is -1: expected'],
    [7.5, 'fractional', 'status.maxcores is 7.5: expected'],
    [
      2 ** 53,
      'out_of_range',
      'status.maxcores is 9007199254740992: expected a whole number ≥ 0 (at most 9007199254740991)',
    ],
    [Number.POSITIVE_INFINITY, 'out_of_range', 'status.maxcores is Infinity: expected'],
  ])('names the field, the value and what was expected: %j', (value, problem, message) => {
    const read = readLimit(value, 'maxcores');
    expect(read).toMatchObject({ field: 'maxcores', problem });
    expect('message' in read && read.message).toContain(message);
  });

  it('lists every unreadable limit of a LicenseKey, none for one without status', () => {
    const bad = key({ expiry: EXPIRY, maxnodes: '5', maxcores: -2 });
    expect(limitProblems(bad).map((p) => `${p.field}:${p.problem}`)).toEqual([
      'maxnodes:not_a_number',
      'maxcores:negative',
    ]);
    expect(limitProblems(key(null))).toEqual([]);
    expect(limitProblems(null)).toEqual([]);
    expect(readLimit(Number.MAX_SAFE_INTEGER, 'maxnodes')).toEqual({ value: Number.MAX_SAFE_INTEGER });
  });
});
