// Slack's text rules. Only &, < and > are escaped (as &amp; &lt; &gt;): `<…>` is Slack's control syntax
// (`<!channel>`, `<@U123>`, `<url|text>`), so an unescaped label value could ping a whole channel.
// Every label and annotation value goes through escapeMrkdwn; mentions come only from the config.
import { type Block, type Inline, isBreak, linkText, splitSpace } from '../doc.js';

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `<url|label>`; the URL must not contain `|` or `>` (already escaped as &gt;). */
export function link(url: string, label: string): string {
  return `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${label.replace(/\|/g, '¦')}>`;
}

/**
 * The document as Slack mrkdwn: headings and **strong** as *bold*, _em_, ~strike~, `code`, code
 * blocks in ``` fences, lists with • or numbers, links as <url|text (host)>. Every text escaped.
 */
export function toMrkdwn(blocks: Block[]): string {
  return blocks.map((b) => mrkdwnBlock(b, '')).join('\n');
}

function mrkdwnBlock(block: Block, indent: string): string {
  switch (block.type) {
    case 'heading': {
      // A heading is bold as a whole: its own emphasis would nest markers Slack cannot read.
      const text = block.content.map((i) => (isBreak(i) ? ' ' : linkText(i))).join('');
      const [, core] = splitSpace(escapeMrkdwn(text));
      return core ? `*${core}*` : '';
    }
    case 'paragraph':
      return indent + mrkdwnInlines(block.content).replaceAll('\n', `\n${indent}`);
    case 'list':
      return block.items
        .map((item, n) => {
          const marker = block.ordered ? `${n + 1}. ` : '• ';
          const inner = `${indent}    `;
          return item
            .map((b, j) => {
              const text = mrkdwnBlock(b, inner);
              return j === 0 ? `${indent}${marker}${text.slice(inner.length)}` : text;
            })
            .join('\n');
        })
        .join('\n');
    case 'code':
      // Inside a fence Slack formats nothing; ``` in the code would end it early.
      // Not indented: Slack opens a fence only at the start of a line.
      return `\`\`\`\n${escapeMrkdwn(block.text).replaceAll('```', 'ˋˋˋ')}\n\`\`\``;
    case 'rule':
      return `${indent}──────`;
  }
}

function mrkdwnInlines(inlines: Inline[]): string {
  return inlines
    .map((i) => {
      if (isBreak(i)) return '\n';
      const [lead, core, trail] = splitSpace(linkText(i));
      if (!core) return i.text;
      let text = escapeMrkdwn(core.replace(/\r?\n/g, ' '));
      if (i.marks?.includes('code')) text = `\`${text.replaceAll('`', 'ˋ')}\``;
      if (i.marks?.includes('strong')) text = `*${text}*`;
      if (i.marks?.includes('em')) text = `_${text}_`;
      if (i.marks?.includes('strike')) text = `~${text}~`;
      if (i.href) text = link(i.href, text);
      return lead + text + trail;
    })
    .join('');
}
