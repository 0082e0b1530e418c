// Slack's text rules. Only &, < and > are escaped (as &amp; &lt; &gt;): `<…>` is Slack's control syntax
// (`<!channel>`, `<@U123>`, `<url|text>`), so an unescaped label value could ping a whole channel.
// Every label and annotation value goes through escapeMrkdwn; mentions come only from the config.

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A runbook's Markdown as Slack mrkdwn, escaped first: **bold** and headings → *bold*, [text](url) →
 * <url|text> for http(s) URLs, list bullets → •. Code spans and fences are kept as they are.
 */
export function markdownToMrkdwn(markdown: string): string {
  const parts = markdown.replace(/\r\n?/g, '\n').split(/(```[\s\S]*?(?:```|$))/);
  return parts
    .map((part, i) => {
      const escaped = escapeMrkdwn(part);
      if (i % 2 === 1) return escaped.replace(/^```[^\n]*\n/, '```\n'); // a fenced code block, without its language
      return escaped
        .split(/(`[^`\n]*`)/)
        .map((piece, j) => (j % 2 === 1 ? piece : inline(piece)))
        .join('');
    })
    .join('');
}

function inline(text: string): string {
  return text
    .replace(/^\s{0,3}#{1,6}\s+(.+?)\s*#*$/gm, '*$1*')
    .replace(/\*\*(.+?)\*\*/g, '*$1*')
    .replace(/__(.+?)__/g, '*$1*')
    .replace(/^(\s*)[-*+]\s+/gm, '$1• ')
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_m, label: string, url: string) => link(url, label));
}

/** `<url|label>`; the URL must not contain `|` or `>` (already escaped as &gt;). */
export function link(url: string, label: string): string {
  return `<${url.replace(/\|/g, '%7C')}|${label.replace(/\|/g, '¦')}>`;
}
