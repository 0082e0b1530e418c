// Durations in Prometheus' own grammar (model.ParseDuration): "90s", "10m", "1h30m", "7d", "500ms".
// Units y w d h m s ms, in that order, each at most once, whole numbers only; "0" needs no unit.
// Alertmanager, Prometheus rule files and PromQL range selectors take exactly these, so a value that
// works in one place of this project works in every other.

const UNITS_MS: ReadonlyArray<number> = [
  365 * 86_400_000, // y
  7 * 86_400_000, // w
  86_400_000, // d
  3_600_000, // h
  60_000, // m
  1000, // s
  1, // ms
];

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** What a duration looks like, for error messages ("expected …"). */
export const DURATION_EXPECTED = 'a Prometheus duration such as 30s, 10m, 1h, 1h30m or 7d';
/** The same, for settings where 0 makes no sense. */
export const POSITIVE_DURATION_EXPECTED = `${DURATION_EXPECTED}, longer than 0s`;

/** Milliseconds in a duration, or undefined when the text is not one (or too long to count exactly). */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  let ms = 0;
  UNITS_MS.forEach((factor, i) => {
    const part = match[i + 1];
    if (part !== undefined) ms += Number(part) * factor;
  });
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Seconds in a duration (500ms → 0.5), or undefined when the text is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const ms = parseDurationMs(text);
  return ms === undefined ? undefined : ms / 1000;
}
