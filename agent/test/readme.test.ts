// The README's metric table is the agent's reference: every licence and agent metric the registry
// serves is in it, with its HELP text word for word, and the table names nothing the agent lacks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/metrics.js';
import { Snapshot } from '../src/snapshot.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** `name` → HELP cell of each row of the table under "### Metrics". */
function documented(): Map<string, string> {
  const section = README.slice(README.indexOf('\n### Metrics\n'));
  const end = section.indexOf('\n## ', 1);
  const rows = new Map<string, string>();
  for (const line of section.slice(0, end < 0 ? undefined : end).split('\n')) {
    const match = /^\| `([a-z_]+)(?:\{[^}]*\})?` \| ([^|]*) \|/.exec(line);
    if (match) rows.set(match[1] as string, (match[2] as string).trim());
  }
  return rows;
}

describe('README metric table', () => {
  it('lists every calico_ and license_ metric with its HELP text, and nothing else', async () => {
    const registry = createRegistry({
      snapshot: new Snapshot(),
      defaultGraceSeconds: 0,
      version: 't',
      source: 'file',
    });
    const served = new Map(
      registry
        .getMetricsAsArray()
        .filter((m) => /^(calico|license)_/.test(m.name))
        .map((m) => [m.name, m.help]),
    );
    const rows = documented();
    expect([...rows.keys()].sort()).toEqual([...served.keys()].sort());
    for (const [name, help] of served) expect(rows.get(name), name).toBe(help);
  });
});
