// Byte sizes ("1MiB", "512KiB") and times for people. Durations in config are Prometheus' own grammar,
// parsed by @license-monitor/common.

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1_000_000,
  kib: 1024,
  mib: 1024 * 1024,
};

/** Bytes in a size such as 1048576, "512KiB" or "1MiB"; undefined when it is not one. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = SIZE_UNITS[(match?.[2] ?? 'x').toLowerCase()];
  if (!match || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

export const BYTES_EXPECTED = 'a size in bytes such as 1048576, 512KiB or 1MiB';

/** "2h 5m", "3d 4h", "45s": how long something lasted, for people. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 && m < 10 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** "2026-11-28 12:30 UTC": a time for people, always in UTC so that every reader sees the same. */
export function humanTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
