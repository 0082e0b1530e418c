// Replaces one `## Title` section of BENCHMARKS.md, keeping the others.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../BENCHMARKS.md', import.meta.url);

export function writeSection(title: string, section: string): void {
  const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmarks\n';
  const parts = current.split(/^(?=## )/m);
  const index = parts.findIndex((p) => p.startsWith(`## ${title}\n`));
  const text = `${section.trim()}\n\n`;
  if (index >= 0) parts[index] = text;
  else parts.push(text);
  writeFileSync(FILE, `${parts.join('').trimEnd()}\n`);
}

/** Figures as BENCHMARKS.md writes them. */
export const f1 = (n: number): string => n.toFixed(1);
export const f2 = (n: number): string => n.toFixed(2);
/** A target's verdict. */
export const ok = (cond: boolean): string => (cond ? 'met' : '**missed**');
