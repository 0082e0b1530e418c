// Alert group → email, pure: a subject that stays the same for the thread's updates and reminders
// and says RESOLVED on the resolve, text and HTML parts with the same content, threading headers
// (In-Reply-To and References to the first mail; Thread-Topic and Thread-Index for Outlook, which
// groups by those rather than by subject). Every value is HTML-escaped in the HTML part, and no
// header takes raw label text: control characters (CR, LF…) become spaces and length is capped.

import { humanTime } from '../../units.js';
import type { ChannelRef, DeliveryEvent } from '../channel.js';
import { type Block, type Inline, isBreak, linkText } from '../doc.js';
import {
  alertName,
  alertText,
  changeLine,
  factPairs,
  headline,
  labelsInline,
  linkList,
  pastContext,
  plainText,
  remediationDoc,
  remediationOrigin,
  resolvedLine,
  since,
  truncate,
} from '../text.js';
import { threadIndexReply, threadIndexRoot } from './thread-index.js';

export interface EmailRenderOptions {
  from: string;
  to: string[];
  cc: string[];
  maxAlerts: number;
  /** Cap for each free-text value in the mail. */
  maxValue: number;
}

export interface EmailRef extends ChannelRef {
  /** Message-ID of the first mail of the incident: the thread root. */
  message_id: string;
  subject: string;
  /** The root's Thread-Index (absent in records of mails sent before it was set). */
  thread_index?: string;
}

export interface EmailMessage {
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  date: string;
  headers: Record<string, string>;
  text: string;
  html: string;
}

export function isEmailRef(ref: ChannelRef | undefined): ref is EmailRef {
  return typeof ref?.message_id === 'string' && typeof ref.subject === 'string';
}

/** A header value from untrusted text: no control characters (so no CRLF injection), at most `max`. */
export function headerValue(text: string, max = 200): string {
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
  return truncate(clean, max, '…');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function domainOf(address: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(address);
  return match?.[1] ?? 'license-receiver.invalid';
}

export function renderEmail(
  event: DeliveryEvent,
  ref: ChannelRef | undefined,
  options: EmailRenderOptions,
): EmailMessage {
  const { group, now } = event;
  const root = event.kind !== 'new' && isEmailRef(ref) ? ref : undefined;
  const domain = domainOf(options.from);
  const messageId = `<${group.id.slice(0, 16)}.${now.toString(36)}.${event.kind}@${domain}>`;
  // Updates and reminders keep the first subject; the resolve says RESOLVED (the thread is kept by
  // the headers below, see receiver/README.md).
  const subject = root && group.status === 'firing' ? root.subject : headerValue(headline(group));
  const threadIndex = root
    ? root.thread_index && threadIndexReply(root.thread_index, now, messageId)
    : threadIndexRoot(now, messageId);
  const message: EmailMessage = {
    from: options.from,
    to: options.to,
    cc: options.cc,
    subject,
    messageId,
    date: new Date(now).toUTCString(),
    headers: {
      'X-Alert-Status': group.status,
      'X-Alert-Group': group.id,
      'Auto-Submitted': 'auto-generated',
      'Thread-Topic': headerValue(group.title),
      ...(threadIndex ? { 'Thread-Index': threadIndex } : {}),
    },
    text: plainText(event, options),
    html: html(event, options),
  };
  if (root) {
    message.inReplyTo = root.message_id;
    message.references = [root.message_id];
  }
  return message;
}

const COLOURS = { firing: '#c0392b', resolved: '#27ae60' } as const;

function html(event: DeliveryEvent, options: EmailRenderOptions): string {
  const { group, now } = event;
  const e = escapeHtml;
  const cap = (text: string) => truncate(text, options.maxValue);
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">',
  );
  const resolved = group.status === 'resolved';
  if (event.kind !== 'new' && !resolved)
    out.push(`<p style="font-size:15px"><strong>${e(changeLine(event))}</strong></p>`);
  out.push(`<h2 style="color:${COLOURS[group.status]};margin:0 0 8px">${e(cap(headline(group)))}</h2>`);
  if (resolved) {
    out.push(`<p style="font-size:15px"><strong>${e(resolvedLine(group, now))}</strong></p>`);
    const was = pastContext(group);
    if (was) out.push(`<p style="color:#555"><em>${e(cap(was))}</em></p>`);
  } else {
    if (group.summary) out.push(`<p><strong>${e(cap(group.summary))}</strong></p>`);
    if (group.description && group.description !== group.summary)
      out.push(`<p style="white-space:pre-wrap">${e(cap(group.description))}</p>`);
  }
  out.push('<table style="border-collapse:collapse">');
  for (const [k, v] of factPairs(group, now))
    out.push(`<tr><td style="padding:2px 12px 2px 0;color:#666">${e(k)}</td><td>${e(cap(v))}</td></tr>`);
  out.push(
    `<tr><td style="padding:2px 12px 2px 0;color:#666">Labels</td><td><code>${e(truncate(labelsInline(group.commonLabels), 2000))}</code></td></tr>`,
  );
  out.push('</table>');

  const all = [...group.firing, ...group.resolved];
  out.push(`<h3>Alerts (${group.firing.length} firing, ${group.resolved.length} resolved)</h3>`, '<ul>');
  for (const alert of all.slice(0, options.maxAlerts)) {
    const text = alertText(alert);
    out.push(
      `<li><strong style="color:${COLOURS[alert.status]}">[${alert.status}]</strong> <code>${e(cap(alertName(alert)))}</code> — ${e(since(alert, now))}${
        text && all.length > 1 ? `<br><span style="color:#555">${e(truncate(text, 500))}</span>` : ''
      }</li>`,
    );
  }
  if (all.length > options.maxAlerts)
    out.push(`<li>… and ${all.length - options.maxAlerts} more (${all.length} in total)</li>`);
  if (group.truncatedAlerts > 0)
    out.push(
      `<li>${group.truncatedAlerts} more alert${group.truncatedAlerts === 1 ? '' : 's'} left out by Alertmanager (max_alerts)</li>`,
    );
  out.push('</ul>');

  if (!resolved) {
    out.push(`<h3>What to do${e(remediationOrigin(group))}</h3>`);
    out.push(`<div>${toHtml(remediationDoc(group, options.maxValue))}</div>`);
  }
  const links = linkList(group);
  if (links.length > 0)
    out.push(`<p>${links.map(([label, url]) => `<a href="${e(url)}">${e(label)}</a>`).join(' · ')}</p>`);
  out.push(
    `<p style="color:#888;font-size:12px">license-receiver · group ${e(cap(group.identity))} · ${e(humanTime(now))}</p>`,
    '</body></html>',
  );
  return out.join('\n');
}

/**
 * The document as HTML for mail clients: every text escaped, links only to http(s) and mailto URLs
 * (the model keeps no other), their host shown when the text is not the URL.
 */
export function toHtml(blocks: Block[]): string {
  return blocks.map(htmlBlock).join('\n');
}

function htmlBlock(block: Block): string {
  switch (block.type) {
    case 'heading':
      return `<p style="margin:8px 0 4px"><strong>${htmlInlines(block.content)}</strong></p>`;
    case 'paragraph':
      return `<p style="margin:0 0 8px">${htmlInlines(block.content)}</p>`;
    case 'list': {
      const tag = block.ordered ? 'ol' : 'ul';
      const items = block.items.map((item) => `<li>${item.map(htmlBlock).join('\n')}</li>`);
      return `<${tag}>${items.join('\n')}</${tag}>`;
    }
    case 'code':
      return `<pre style="background:#f4f4f4;padding:6px">${escapeHtml(block.text)}</pre>`;
    case 'rule':
      return '<hr>';
  }
}

function htmlInlines(inlines: Inline[]): string {
  return inlines
    .map((i) => {
      if (isBreak(i)) return '<br>';
      let text = escapeHtml(linkText(i));
      if (i.marks?.includes('code')) text = `<code>${text}</code>`;
      if (i.marks?.includes('strong')) text = `<strong>${text}</strong>`;
      if (i.marks?.includes('em')) text = `<em>${text}</em>`;
      if (i.marks?.includes('strike')) text = `<del>${text}</del>`;
      if (i.href) text = `<a href="${escapeHtml(i.href)}">${text}</a>`;
      return text;
    })
    .join('');
}
