// Scrapes a /metrics endpoint and reads values through a real exposition-format parser.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

type ParsedFamily = ReturnType<typeof parsePrometheusTextFormat>[number];

export class Metrics {
  private readonly families: Map<string, ParsedFamily>;

  constructor(text: string) {
    const parsed = parsePrometheusTextFormat(text);
    this.families = new Map(parsed.map((f) => [f.name, f]));
  }

  /** The family's type (gauge, counter…), or undefined when the family is not exposed at all. */
  type(name: string): string | undefined {
    return this.families.get(name)?.type;
  }

  /** All samples of a family, values as numbers (+Inf → Infinity). */
  samples(name: string): { labels: Record<string, string>; value: number }[] {
    return (this.families.get(name)?.metrics ?? []).map((m) => ({
      labels: m.labels ?? {},
      value: toNumber(m.value ?? 'NaN'),
    }));
  }

  /** The value of the one sample whose labels include `labels`; undefined when absent. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.samples(name).filter((s) =>
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    if (matching.length > 1)
      throw new Error(`${name}${JSON.stringify(labels)} matches ${matching.length} samples`);
    return matching[0]?.value;
  }

  /**
   * The sum of the samples whose labels include `labels` (0 when there are none): for a counter that
   * newer versions split by more labels (Alertmanager 0.33's notification counters carry `reason`,
   * `receiver_name`… beside `integration`).
   */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name)
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((total, s) => total + s.value, 0);
  }
}

function toNumber(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export async function scrape(url: string, init?: RequestInit): Promise<Metrics> {
  const res = await fetch(url, init);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Metrics(await res.text());
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
