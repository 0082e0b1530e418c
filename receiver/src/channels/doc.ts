// The one document model of every channel, and the renderings of the ticket systems: Atlassian
// Document Format (Jira Cloud, API v3), Jira wiki markup (Data Center, API v2), GitHub Markdown and
// plain text (ServiceNow, email text). Slack mrkdwn, email HTML and Teams cards render the same model
// in their folders. Runbook and annotation text is Markdown; marked's lexer reads it into the model,
// so that each target gets its own syntax and its own escaping from one source. Pure.
import { lexer, type Token, type Tokens } from 'marked';

export type Mark = 'strong' | 'em' | 'strike' | 'code';
/**
 * A run of text. A link from Markdown whose text is not its URL carries the URL's real `host`, which
 * every clickable rendering shows after the text (see linkText): `[totally safe](https://evil.example)`
 * reads "totally safe (evil.example)" everywhere.
 */
export type Inline = { text: string; marks?: Mark[]; href?: string; host?: string } | { break: true };
export type Block =
  | { type: 'heading'; level: number; content: Inline[] }
  | { type: 'paragraph'; content: Inline[] }
  | { type: 'list'; ordered: boolean; items: Block[][] }
  | { type: 'code'; text: string; language?: string }
  | { type: 'rule' };

// ---------------------------------------------------------------------------------------------------
// Building

export const t = (text: string, ...marks: Mark[]): Inline => (marks.length > 0 ? { text, marks } : { text });
export const link = (text: string, href: string): Inline => ({ text, href });
export const para = (...content: Inline[]): Block => ({ type: 'paragraph', content });
export const heading = (text: string, level = 3): Block => ({ type: 'heading', level, content: [{ text }] });
export const bullets = (items: Inline[][]): Block => ({
  type: 'list',
  ordered: false,
  items: items.map((content) => [para(...content)]),
});

/**
 * Markdown (as runbooks are written) → blocks. Raw HTML is kept as text, never interpreted. `breaks`:
 * every newline is a line break (text written line by line, such as an alert annotation).
 */
export function fromMarkdown(markdown: string, options: { breaks?: boolean } = {}): Block[] {
  return blocksOf(lexer(markdown, { gfm: true, breaks: options.breaks ?? false }));
}

function blocksOf(tokens: Token[]): Block[] {
  const blocks: Block[] = [];
  for (const token of tokens) {
    switch (token.type) {
      case 'heading':
        blocks.push({
          type: 'heading',
          level: Math.min(6, token.depth + 2),
          content: inlinesOf(token.tokens),
        });
        break;
      case 'paragraph':
      case 'text':
        blocks.push(
          para(
            ...inlinesOf(
              (token as Tokens.Text).tokens ?? [{ type: 'text', raw: token.raw, text: token.text } as Token],
            ),
          ),
        );
        break;
      case 'list':
        blocks.push({
          type: 'list',
          ordered: token.ordered,
          items: (token as Tokens.List).items.map((item) => blocksOf(item.tokens)),
        });
        break;
      case 'code':
        blocks.push(
          token.lang
            ? { type: 'code', text: token.text, language: token.lang }
            : { type: 'code', text: token.text },
        );
        break;
      case 'hr':
        blocks.push({ type: 'rule' });
        break;
      case 'blockquote':
        blocks.push(...blocksOf(token.tokens ?? []));
        break;
      case 'space':
        break;
      default:
        if (token.raw.trim()) blocks.push(para(t(token.raw.trim())));
    }
  }
  return blocks;
}

function inlinesOf(tokens: Token[] | undefined, marks: Mark[] = []): Inline[] {
  const out: Inline[] = [];
  const push = (text: string, extra: Partial<{ href: string; host: string }> = {}, m = marks) => {
    if (text) out.push({ text, ...(m.length > 0 ? { marks: m } : {}), ...extra });
  };
  for (const token of tokens ?? []) {
    switch (token.type) {
      case 'strong':
      case 'em':
        out.push(...inlinesOf(token.tokens, [...marks, token.type]));
        break;
      case 'del':
        out.push(...inlinesOf(token.tokens, [...marks, 'strike']));
        break;
      case 'codespan':
        push(token.text, {}, [...marks, 'code']);
        break;
      case 'link': {
        // The link's words as the reader sees them (its own emphasis dropped: one run of text).
        const text =
          inlinesOf(token.tokens)
            .map((i) => ('text' in i ? i.text : ' '))
            .join('') || token.href;
        const href = token.href;
        if (!safeHref(href)) push(text);
        else {
          const host = disguisedHost(text, href);
          push(text, host === undefined ? { href } : { href, host });
        }
        break;
      }
      case 'br':
        out.push({ break: true });
        break;
      case 'text':
        if (token.tokens) out.push(...inlinesOf(token.tokens, marks));
        else pushLines(out, token.text, marks);
        break;
      default:
        pushLines(out, token.raw, marks);
    }
  }
  return out;
}

/** Markdown text: a newline inside a paragraph is a soft break, shown as a space. */
function pushLines(out: Inline[], text: string, marks: Mark[]): void {
  const line = text.replace(/\s*\n\s*/g, ' ');
  if (line) out.push(marks.length > 0 ? { text: line, marks } : { text: line });
}

const safeHref = (href: string) => /^(https?:|mailto:)/i.test(href);

/** The host (or mail address) of `href`, unless the link's text already is the URL or that host. */
function disguisedHost(text: string, href: string): string | undefined {
  let target: string;
  try {
    const url = new URL(href);
    target = url.protocol === 'mailto:' ? decodeURIComponent(url.pathname) : url.host;
  } catch {
    return undefined;
  }
  const shown = text.trim().toLowerCase();
  const bare = href
    .toLowerCase()
    .replace(/^[a-z]+:(\/\/)?/, '')
    .replace(/\/$/, '');
  if ([href.toLowerCase(), bare, target.toLowerCase()].includes(shown)) return undefined;
  return target;
}

/** The text a clickable rendering shows for a link: its words and, when they could mislead, its host. */
export function linkText(inline: { text: string; host?: string }): string {
  return inline.host === undefined ? inline.text : `${inline.text} (${inline.host})`;
}

export const isBreak = (i: Inline): i is { break: true } => 'break' in i;

/** Inline runs with their surrounding white space apart: emphasis markers must touch the text. */
export function splitSpace(text: string): [lead: string, core: string, trail: string] {
  const [, lead = '', core = '', trail = ''] = /^(\s*)([\s\S]*?)(\s*)$/.exec(text) ?? [];
  return [lead, core, trail];
}

// ---------------------------------------------------------------------------------------------------
// Atlassian Document Format (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/)

export interface AdfNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
  version?: number;
}

export function toAdf(blocks: Block[]): AdfNode {
  return { type: 'doc', version: 1, content: blocks.map(adfBlock) };
}

function adfBlock(block: Block): AdfNode {
  switch (block.type) {
    case 'heading':
      return { type: 'heading', attrs: { level: block.level }, content: adfInlines(block.content) };
    case 'paragraph':
      return { type: 'paragraph', content: adfInlines(block.content) };
    case 'list':
      return {
        type: block.ordered ? 'orderedList' : 'bulletList',
        content: block.items.map((item) => ({
          type: 'listItem',
          content: item.length > 0 ? item.map(adfBlock) : [{ type: 'paragraph', content: [] }],
        })),
      };
    case 'code':
      return {
        type: 'codeBlock',
        ...(block.language ? { attrs: { language: block.language } } : {}),
        content: block.text ? [{ type: 'text', text: block.text }] : [],
      };
    case 'rule':
      return { type: 'rule' };
  }
}

function adfInlines(inlines: Inline[]): AdfNode[] {
  return inlines.flatMap((i): AdfNode[] => {
    if (isBreak(i)) return [{ type: 'hardBreak' }];
    if (!i.text) return [];
    const marks = [
      // ADF allows code only with link: a code span drops strong/em.
      ...(i.marks?.includes('code') ? [{ type: 'code' }] : (i.marks ?? []).map((m) => ({ type: m }))),
      ...(i.href ? [{ type: 'link', attrs: { href: i.href } }] : []),
    ];
    return [{ type: 'text', text: linkText(i), ...(marks.length > 0 ? { marks } : {}) }];
  });
}

// ---------------------------------------------------------------------------------------------------
// Jira wiki markup (https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa)

/** Characters that start wiki markup, escaped with a backslash. */
const WIKI_SPECIAL = /([\\{}[\]|*_+^~\-?#!])/g;

export function toWiki(blocks: Block[]): string {
  return blocks.map((b) => wikiBlock(b, '')).join('\n\n');
}

function wikiBlock(block: Block, listPrefix: string): string {
  switch (block.type) {
    case 'heading':
      return `h${block.level}. ${wikiInlines(block.content)}`;
    case 'paragraph':
      return wikiInlines(block.content);
    case 'list': {
      // A wiki list item is one line: a block inside it (a code block, a second paragraph) would end
      // the list and restart its numbering, so those continue the line after a forced break (\\).
      const prefix = listPrefix + (block.ordered ? '#' : '*');
      return block.items
        .map((item) => {
          const line: string[] = [];
          const nested: string[] = [];
          for (const b of item) {
            if (b.type === 'list') nested.push(wikiBlock(b, prefix));
            else if (b.type === 'paragraph') line.push(wikiInlines(b.content).replaceAll('\\\\\n', '\\\\ '));
            else if (b.type === 'code')
              line.push(
                ...b.text
                  .split('\n')
                  .filter(Boolean)
                  .map((l) => `{{${wikiEscape(l)}}}`),
              );
            else line.push(wikiBlock(b, '').replace(/\n/g, ' '));
          }
          return [`${prefix} ${line.join(' \\\\ ')}`, ...nested].join('\n');
        })
        .join('\n');
    }
    case 'code':
      // {noformat} shows text verbatim whatever it holds, except its own closing tag.
      return `{noformat}\n${block.text.replaceAll('{noformat}', '{ noformat}')}\n{noformat}`;
    case 'rule':
      return '----';
  }
}

function wikiInlines(inlines: Inline[]): string {
  return inlines
    .map((i) => {
      if (isBreak(i)) return '\\\\\n';
      const [lead, core, trail] = splitSpace(linkText(i));
      if (!core) return i.text;
      let text = i.marks?.includes('code') ? `{{${wikiEscape(core)}}}` : wikiEscape(core);
      if (i.marks?.includes('strong')) text = `*${text}*`;
      if (i.marks?.includes('em')) text = `_${text}_`;
      if (i.marks?.includes('strike')) text = `-${text}-`;
      if (i.href) text = `[${text}|${i.href.replace(/[|\]]/g, encodeURIComponent)}]`;
      return lead + text + trail;
    })
    .join('');
}

function wikiEscape(text: string): string {
  // Line breaks inside a value would start new wiki blocks (a line "h1. x" would become a heading).
  return text.replace(/\r?\n/g, ' ').replace(WIKI_SPECIAL, '\\$1');
}

// ---------------------------------------------------------------------------------------------------
// GitHub Markdown

/** Characters that make Markdown anywhere in a line; block markers matter only at its start. */
const MD_SPECIAL = /([\\`*_[\]<>~|])/g;
const MD_LINE_START = /^(\s*)([#>+=-]|\d+[.)])/;

export function toMarkdown(blocks: Block[]): string {
  return blocks.map((b) => mdBlock(b, '')).join('\n\n');
}

function mdBlock(block: Block, indent: string): string {
  switch (block.type) {
    case 'heading':
      return `${'#'.repeat(block.level)} ${mdInlines(block.content)}`;
    case 'paragraph':
      return indent + mdInlines(block.content).replaceAll('\n', `\n${indent}`);
    case 'list':
      return block.items
        .map((item, n) => {
          const marker = block.ordered ? `${n + 1}. ` : '- ';
          const inner = indent + ' '.repeat(marker.length);
          const parts = item.map((b, j) => {
            const text = mdBlock(b, inner);
            return j === 0 ? `${indent}${marker}${text.slice(inner.length)}` : text;
          });
          return parts.join('\n\n');
        })
        .join('\n');
    case 'code': {
      const fence = '`'.repeat(Math.max(3, longestRun(block.text, '`') + 1));
      return [`${fence}${block.language ?? ''}`, ...block.text.split('\n'), fence]
        .map((l) => indent + l)
        .join('\n');
    }
    case 'rule':
      return `${indent}---`;
  }
}

function mdInlines(inlines: Inline[]): string {
  return inlines
    .map((i, n) => {
      if (isBreak(i)) return '\\\n';
      // Emphasis markers must touch the text (`**Severity:** x`, not `**Severity: **x`).
      const [lead, core, trail] = splitSpace(linkText(i));
      if (!core) return i.text;
      let text: string;
      if (i.marks?.includes('code')) {
        const ticks = '`'.repeat(longestRun(core, '`') + 1);
        text = `${ticks}${core.startsWith('`') || core.endsWith('`') ? ` ${core} ` : core}${ticks}`;
      } else {
        text = core.replace(/\r?\n/g, ' ').replace(MD_SPECIAL, '\\$1').replace(/@/g, '@\u200b'); // no @mentions from alert text
        // Block markers matter only where a line starts: the first piece, or after a line break.
        const previous = inlines[n - 1];
        if (n === 0 || (previous && isBreak(previous)))
          text = text.replace(MD_LINE_START, (_, space: string, marker: string) => `${space}\\${marker}`);
      }
      if (i.marks?.includes('strong')) text = `**${text}**`;
      if (i.marks?.includes('em')) text = `_${text}_`;
      if (i.marks?.includes('strike')) text = `~~${text}~~`;
      if (i.href) text = `[${text}](${i.href.replace(/[()\s]/g, encodeURIComponent)})`;
      return lead + text + trail;
    })
    .join('');
}

function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------
// Plain text

export function toPlainText(blocks: Block[]): string {
  return blocks.map((b) => plainBlock(b, '')).join('\n\n');
}

function plainBlock(block: Block, indent: string): string {
  switch (block.type) {
    case 'heading': {
      const text = plainInlines(block.content);
      return /[:.?!]$/.test(text) ? text : `${text}:`;
    }
    case 'paragraph':
      return indent + plainInlines(block.content).replaceAll('\n', `\n${indent}`);
    case 'list':
      return block.items
        .map((item, n) => {
          const marker = block.ordered ? `${n + 1}. ` : '- ';
          const inner = indent + ' '.repeat(marker.length);
          return item
            .map((b, j) => {
              const text = plainBlock(b, inner);
              return j === 0 ? `${indent}${marker}${text.slice(inner.length)}` : text;
            })
            .join('\n');
        })
        .join('\n');
    case 'code':
      return block.text
        .split('\n')
        .map((l) => `${indent}    ${l}`)
        .join('\n');
    case 'rule':
      return `${indent}----`;
  }
}

function plainInlines(inlines: Inline[]): string {
  return inlines
    .map((i) => {
      if (isBreak(i)) return '\n';
      return i.href && i.href !== i.text ? `${i.text} (${i.href})` : i.text;
    })
    .join('');
}
