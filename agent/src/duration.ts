// Durations as Prometheus and Go write them ("90s", "2m", "1h30m", "30d", "1w").
const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 31_536_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/y;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const input = text.trim();
  if (input === '' || input === '0') return input === '0' ? 0 : undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const at = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== at) return undefined;
    total += Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  }
  return total;
}

export const DURATION_EXPECTED = 'a duration such as 30s, 2m, 1h30m or 30d';
