// JSON: the report model as it is, with numbers rounded to remove floating-point noise.
import type { Report } from '../model.js';

export function json(report: Report): string {
  return `${JSON.stringify(report, (_key, value) => (typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1e6) / 1e6 : value), 2)}\n`;
}
