// The status page, server-rendered: channel health, dead letters with Retry and Discard, rows still
// waiting, and the last deliveries. One page, no script, a small inline stylesheet (its hash is in the
// Content-Security-Policy), sized for a laptop screen. Pure: data in, HTML out.
import type { ChannelView, EntryView, LogView } from '../outbox/inspect.js';
import { humanDuration, humanTime } from '../units.js';
import { Html, html } from './html.js';

/** What the page and /api/v1/outbox show. */
export interface StatusData {
  generated_at: string;
  version: string;
  channels: ChannelView[];
  /** Every dead letter (up to the listing limit), newest first. */
  dead: EntryView[];
  dead_total: number;
  /** Rows pending or in flight, newest first. */
  waiting: EntryView[];
  waiting_total: number;
  /** The delivery log, newest first. */
  recent: LogView[];
}

export interface PageOptions {
  csrf: string;
  /** The outcome of the action just taken, in words. */
  notice?: { text: string; ok: boolean };
}

export const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap;padding:12px 24px;background:#24292f;color:#fff}
header h1{margin:0;font-size:18px}
header .meta{color:#c9d1d9;font-size:13px}
header a{color:#9ecbff}
main{max-width:1400px;margin:0 auto;padding:12px 24px 32px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:4px 16px 12px}
h2{font-size:15px;margin:12px 0 8px}
.count{display:inline-block;min-width:22px;padding:0 7px;border-radius:10px;background:#eaeef2;font-size:12px;text-align:center}
.count.bad{background:#cf222e;color:#fff}
table{width:100%;border-collapse:collapse}
th{text-align:left;font-weight:600;color:#57606a;font-size:12px;border-bottom:1px solid #d0d7de;padding:6px 8px}
td{vertical-align:top;border-bottom:1px solid #eaeef2;padding:6px 8px}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.small{font-size:12px;color:#57606a}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.error{color:#a40e26;overflow-wrap:anywhere;max-width:44ch}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.ok,.sent{background:#dafbe1;color:#116329}
.failing,.dead,.retry{background:#ffebe9;color:#a40e26}
.dead-letters,.skipped,.discarded{background:#fff8c5;color:#7d4e00}
.idle,.requeued,.pending,.inflight{background:#ddf4ff;color:#0a3069}
.notice{padding:8px 12px;border-radius:6px;margin:12px 0;border:1px solid}
.notice.ok{border-color:#4ac26b}.notice.bad{border-color:#ff8182;background:#ffebe9;color:#a40e26}
.empty{color:#57606a;margin:4px 0}
.actions{white-space:nowrap}
.actions form{display:inline}
button{font:inherit;font-size:13px;padding:3px 12px;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.primary{background:#1f883d;border-color:#1a7f37;color:#fff}
button.danger{background:#cf222e;border-color:#a40e26;color:#fff}
button:disabled{opacity:.5;cursor:not-allowed}
details{display:inline-block;margin-left:6px}
summary{cursor:pointer;color:#a40e26;font-size:13px}
details form{display:block;margin-top:4px}
`;

/** `14:03 UTC (5m ago)` today, `2026-12-03 14:03 UTC (1d ago)` before; the exact time on hover. */
const when = (iso: string | null, now: number): Html | string => {
  if (iso === null) return '—';
  const at = Date.parse(iso);
  const ago = now - at;
  const text = humanTime(at);
  const shown = text.slice(0, 10) === humanTime(now).slice(0, 10) ? text.slice(11) : text;
  return html`<span title="${iso}">${shown}</span> <span class="small">(${ago >= 0 ? `${humanDuration(ago)} ago` : `in ${humanDuration(-ago)}`})</span>`;
};

const badge = (text: string, cls = text) =>
  html`<span class="badge ${cls.replace(/\s+/g, '-')}">${text}</span>`;

const count = (n: number, bad = false) => html`<span class="count${bad && n > 0 ? ' bad' : ''}">${n}</span>`;

function group(entry: EntryView): Html {
  const alerts = entry.alerts.map((a) => {
    const labels = Object.entries(a.distinct)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return html`<div class="small">${a.status} · <span class="mono">${a.alertname}</span>${labels ? html` <span class="mono">${labels}</span>` : ''}</div>`;
  });
  return html`<strong>${entry.title}</strong>${entry.status ? html` ${badge(entry.status, entry.status === 'firing' ? 'failing' : 'ok')}` : ''}${alerts}`;
}

function channelsTable(channels: ChannelView[], now: number): Html {
  if (channels.length === 0) return html`<p class="empty">No channel is configured.</p>`;
  return html`<table id="channels">
<thead><tr><th>Channel</th><th>Health</th><th>Last success</th><th>Last error</th><th class="num">Pending</th><th class="num">In flight</th><th class="num">Dead</th><th>Oldest waiting</th></tr></thead>
<tbody>${channels.map(
    (c) => html`<tr data-channel="${c.channel}">
<td><strong>${c.channel}</strong>${c.type ? html` <span class="small">${c.type}</span>` : ''}</td>
<td>${badge(c.health)}</td>
<td>${when(c.last_success_at, now)}</td>
<td>${c.last_error_at ? html`${when(c.last_error_at, now)}<div class="error">${c.last_error ?? ''}</div>` : '—'}</td>
<td class="num">${c.pending}</td><td class="num">${c.inflight}</td><td class="num">${c.dead}</td>
<td>${when(c.oldest_pending_at, now)}</td>
</tr>`,
  )}</tbody></table>`;
}

function deadTable(data: StatusData, csrf: string, now: number): Html {
  if (data.dead.length === 0)
    return html`<p class="empty">None: every notification was delivered or is still being tried.</p>`;
  const rows = data.dead.map((e) => {
    const superseded = e.superseded_at !== null;
    return html`<tr data-row="${e.id}">
<td class="num">${e.id}</td>
<td>${e.channel}</td>
<td>${group(e)}</td>
<td><div class="error">${e.last_error ?? ''}</div>${superseded ? html`<div class="small">Superseded: a newer notification of this group was delivered ${when(e.superseded_at, now)}; sending this one would show an older state.</div>` : ''}</td>
<td>${when(e.dead_at, now)}<div class="small">received ${when(e.created_at, now)} · ${e.attempts} attempt${e.attempts === 1 ? '' : 's'}</div></td>
<td class="actions">
<form method="post" action="/outbox/${e.id}/retry"><input type="hidden" name="csrf" value="${csrf}"><button class="primary" type="submit"${superseded ? html` disabled title="superseded: discard it"` : ''}>Retry</button></form>
<details><summary>Discard…</summary><form method="post" action="/outbox/${e.id}/discard"><input type="hidden" name="csrf" value="${csrf}"><button class="danger" type="submit">Discard row ${e.id}</button></form></details>
</td>
</tr>`;
  });
  const more =
    data.dead_total > data.dead.length
      ? html`<p class="small">${data.dead_total - data.dead.length} older dead letters are not shown: <span class="mono">license-receiver outbox list --state dead</span> lists them all.</p>`
      : '';
  return html`<table id="dead">
<thead><tr><th class="num">Row</th><th>Channel</th><th>Alert group</th><th>Error</th><th>Given up</th><th>Action</th></tr></thead>
<tbody>${rows}</tbody></table>${more}`;
}

function waitingTable(data: StatusData, now: number): Html {
  if (data.waiting.length === 0) return html`<p class="empty">Nothing is waiting.</p>`;
  const more =
    data.waiting_total > data.waiting.length
      ? html`<p class="small">${data.waiting_total - data.waiting.length} more are not shown.</p>`
      : '';
  return html`<table id="waiting">
<thead><tr><th class="num">Row</th><th>Channel</th><th>Alert group</th><th>State</th><th>Received</th><th>Next attempt</th><th>Last error</th></tr></thead>
<tbody>${data.waiting.map(
    (e) => html`<tr data-row="${e.id}">
<td class="num">${e.id}</td><td>${e.channel}</td><td>${group(e)}</td>
<td>${badge(e.state)}<div class="small">${e.attempts} attempt${e.attempts === 1 ? '' : 's'}</div></td>
<td>${when(e.created_at, now)}</td><td>${e.state === 'pending' ? when(e.next_attempt_at, now) : 'now'}</td>
<td><div class="error">${e.last_error ?? ''}</div></td>
</tr>`,
  )}</tbody></table>${more}`;
}

const OUTCOME_WORDS: Record<LogView['outcome'], string> = {
  sent: 'sent',
  skipped: 'nothing to send',
  retry: 'failed, will retry',
  dead: 'gave up',
  requeued: 'queued again',
  discarded: 'discarded',
};

function recentTable(recent: LogView[], now: number): Html {
  if (recent.length === 0) return html`<p class="empty">No delivery yet.</p>`;
  return html`<table id="recent">
<thead><tr><th>When</th><th>Channel</th><th>Alert group</th><th>Kind</th><th>Outcome</th><th>Detail</th></tr></thead>
<tbody>${recent.map(
    (l) => html`<tr>
<td>${when(l.at, now)}</td><td>${l.channel}</td>
<td>${l.title ?? html`<span class="small mono">${l.group_id}</span>`} <span class="small">row ${l.row}</span></td>
<td>${l.kind ?? '—'}</td>
<td>${badge(OUTCOME_WORDS[l.outcome], l.outcome)}</td>
<td>${l.by ? html`<span class="small">by ${l.by}</span> ` : ''}<div class="error">${l.error ?? ''}</div></td>
</tr>`,
  )}</tbody></table>`;
}

export function renderStatusPage(data: StatusData, options: PageOptions): string {
  const now = Date.parse(data.generated_at);
  const failing = data.channels.filter((c) => c.health === 'failing').length;
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${data.dead_total > 0 ? `(${data.dead_total} dead) ` : ''}license-receiver · status</title>
<style>${new Html(STYLE)}</style></head>
<body>
<header><h1>license-receiver</h1>
<span class="meta">version ${data.version} · as of ${humanTime(now)} · ${data.channels.length} channel${data.channels.length === 1 ? '' : 's'}${failing > 0 ? `, ${failing} failing` : ''} · <a href="/">reload</a> · <a href="/api/v1/outbox">JSON</a></span></header>
<main>
${options.notice ? html`<p class="notice ${options.notice.ok ? 'ok' : 'bad'}" role="status">${options.notice.text}</p>` : ''}
<section><h2>Channels</h2>${channelsTable(data.channels, now)}</section>
<section><h2>Dead letters ${count(data.dead_total, true)}</h2>${deadTable(data, options.csrf, now)}</section>
<section><h2>Waiting ${count(data.waiting_total)}</h2>${waitingTable(data, now)}</section>
<section><h2>Last deliveries</h2>${recentTable(data.recent, now)}</section>
</main></body></html>
`;
  return page.text;
}
