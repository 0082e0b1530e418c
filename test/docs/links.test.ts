// Every link in the repository's Markdown that is not a URL points at a file or folder inside the
// repository that exists: a clone carries everything its documents refer to.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/pipeline.mjs';

const SKIP = new Set(['node_modules', '.git', '.cache', 'dist', 'build', 'data']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name) && !(entry.name === 'dist' && dir === join(ROOT, 'rules'))) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** Link targets of inline Markdown links and images, outside code spans and fenced blocks. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
}

const files = markdownFiles(ROOT);

describe('Markdown links', () => {
  it('finds the documents', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining(['README.md', 'docs/architecture.md', 'test/README.md', 'receiver/README.md']),
    );
  });

  it('the check catches a link out of the repository (so it can fail)', () => {
    expect(linkTargets('see [the design](../shared/ARCHITECTURE.md) and `[x](y)`')).toEqual([
      '../shared/ARCHITECTURE.md',
    ]);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s links only inside the repository', (_name, file) => {
    const problems: string[] = [];
    for (const target of linkTargets(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // a URL, an anchor
      const path = resolve(dirname(file), decodeURI(target.split('#')[0] as string));
      if (relative(ROOT, path).startsWith('..') || target.startsWith('/'))
        problems.push(`${target}: outside the repository`);
      else if (!existsSync(path)) problems.push(`${target}: no such file`);
    }
    expect(problems).toEqual([]);
  });
});
