// What the reader should do next: the alert's `remediation` annotation if it has one; else the
// Mitigation section of <runbooks_dir>/<alertname>.md; else a fallback that points at the runbook URL.
// Plus the links that go with it: runbook, Prometheus graph, prefilled Alertmanager silence.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lexer, type Tokens } from 'marked';

export type RemediationSource = 'annotation' | 'runbook' | 'fallback';

export interface Remediation {
  /** Markdown-ish text, as written by the rule or runbook author (not yet escaped for any channel). */
  text: string;
  source: RemediationSource;
  /** The runbook file the text came from, for the message's "from …" note. */
  runbookFile?: string;
}

export interface Links {
  runbook?: string;
  graph?: string;
  silence?: string;
}

/** Alert names that can safely name a file: Prometheus metric-name characters and '-'. */
const SAFE_NAME = /^[A-Za-z0-9_:-]{1,200}$/;

/** Reads runbooks from a folder, on demand, re-reading a file when it changes. */
export class RunbookCatalog {
  private readonly cache = new Map<string, { mtimeMs: number; mitigation: string | undefined }>();

  constructor(readonly dir: string | undefined) {}

  /** The Mitigation section of the alert's runbook, or undefined when there is none. */
  mitigation(alertname: string): { text: string; file: string } | undefined {
    if (!this.dir || !SAFE_NAME.test(alertname)) return undefined;
    const file = join(this.dir, `${alertname}.md`);
    let mtimeMs: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) return undefined;
      mtimeMs = stat.mtimeMs;
    } catch {
      return undefined;
    }
    let entry = this.cache.get(alertname);
    if (entry?.mtimeMs !== mtimeMs) {
      let text: string | undefined;
      try {
        text = extractSection(readFileSync(file, 'utf8'), 'Mitigation');
      } catch {
        text = undefined;
      }
      entry = { mtimeMs, mitigation: text };
      this.cache.set(alertname, entry);
    }
    return entry.mitigation ? { text: entry.mitigation, file: `${alertname}.md` } : undefined;
  }
}

/**
 * The body of the first heading named `title` (any level, case-insensitive), up to the next heading
 * of the same or a higher level, as Markdown. Headings are the ones Markdown sees (marked's lexer): a
 * `#` line inside a code block is none.
 */
export function extractSection(markdown: string, title: string): string | undefined {
  const tokens = lexer(markdown.replace(/\r\n?/g, '\n'), { gfm: true });
  const start = tokens.findIndex(
    (t) => t.type === 'heading' && headingText(t as Tokens.Heading) === title.toLowerCase(),
  );
  if (start < 0) return undefined;
  const depth = (tokens[start] as Tokens.Heading).depth;
  let end = tokens.findIndex(
    (t, i) => i > start && t.type === 'heading' && (t as Tokens.Heading).depth <= depth,
  );
  if (end < 0) end = tokens.length;
  const text = tokens
    .slice(start + 1, end)
    .map((t) => t.raw)
    .join('')
    .trim();
  return text === '' ? undefined : text;
}

function headingText(heading: Tokens.Heading): string {
  return heading.text
    .replace(/\s+#+\s*$/, '')
    .trim()
    .toLowerCase();
}

export interface RemediationInput {
  alertname: string;
  /** Annotations to read `remediation` and `runbook_url` from (common ones first, then the first alert's). */
  annotations: Record<string, string>;
}

export function resolveRemediation(input: RemediationInput, catalog: RunbookCatalog): Remediation {
  const annotation = input.annotations.remediation?.trim();
  if (annotation) return { text: annotation, source: 'annotation' };
  const runbook = catalog.mitigation(input.alertname);
  if (runbook) return { text: runbook.text, source: 'runbook', runbookFile: runbook.file };
  const url = safeUrl(input.annotations.runbook_url);
  return {
    text: url
      ? `No remediation text is written for ${input.alertname}. Follow the runbook: ${url}`
      : `No remediation text or runbook is written for ${input.alertname}. Start from the alert's description and the Prometheus graph; add a \`remediation\` annotation or a runbook so that the next person knows what to do.`,
    source: 'fallback',
  };
}

/** Longer URLs are no links (servers refuse request lines past about 8 KB): one made of a 1 MB label. */
export const MAX_URL = 8192;

/** An http(s) URL, or undefined: nothing else becomes a link or a button. */
export function safeUrl(text: string | null | undefined): string | undefined {
  if (!text || text.length > MAX_URL) return undefined;
  try {
    const url = new URL(text.trim());
    const ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.href.length <= MAX_URL;
    return ok ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Alertmanager's "new silence" page prefilled with matchers for `labels`:
 * `<externalURL>/#/silences/new?filter={alertname="X",cluster="prod"}`.
 */
export function silenceUrl(
  alertmanagerUrl: string | undefined,
  labels: Record<string, string>,
): string | undefined {
  const base = safeUrl(alertmanagerUrl);
  const names = Object.keys(labels).sort();
  if (!base || names.length === 0) return undefined;
  const matchers = names.map((name) => `${name}=${JSON.stringify(labels[name])}`).join(',');
  const url = `${base.replace(/\/+$/, '')}/#/silences/new?filter=${encodeURIComponent(`{${matchers}}`)}`;
  // Fewer matchers would silence more than this group: no link rather than a broader one.
  return url.length <= MAX_URL ? url : undefined;
}
