// RFC 3339 times as Go writes them (Kubernetes' metav1.Time, Alertmanager's startsAt/endsAt):
// `2026-01-02T15:04:05Z`, with optional fractional seconds and a numeric offset. Date.parse alone
// accepts too much — "2026", "May 1", and impossible dates: `2026-02-31` became 3 March.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/;

export const RFC3339_EXPECTED = 'an RFC 3339 time such as 2026-01-02T15:04:05Z';

/** Milliseconds since the epoch, or undefined when `text` is not an RFC 3339 time of a real day. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
