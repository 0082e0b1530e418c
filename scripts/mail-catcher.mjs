// A local mail catcher for `npm run demo`: an SMTP server (npm smtp-server) that keeps every message
// it is sent in memory, and a web inbox that lists and shows them. Both on 127.0.0.1 only, no TLS,
// no authentication: it is for looking at what the receiver sends, on this machine.
//
//   node scripts/mail-catcher.mjs [--smtp-port 1025] [--http-port 8025]
//
// Inbox: GET /            the messages, newest first (refreshes itself)
//        GET /mail/N      one message: headers, its thread, the HTML part (sandboxed) and the text part
//        GET /api/mails   the messages as JSON
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const HOST = '127.0.0.1';

const escapeHtml = (text) =>
  String(text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
  tr:hover td { background: #f6f8fa; }
  dt { font-weight: 600; } dd { margin: 0 0 .4em 0; }
  pre { background: #f6f8fa; padding: 1em; white-space: pre-wrap; }
  iframe { width: 100%; height: 32em; border: 1px solid #ddd; }
  .muted { color: #777; }
</style></head><body>${body}</body></html>\n`;

/**
 * Starts the SMTP server and the inbox. Port 0 picks a free port; the answer says which.
 * `onMail(mail)` is called for every message received.
 */
export async function startMailCatcher({ smtpPort = 1025, httpPort = 8025, onMail = () => {} } = {}) {
  const mails = [];

  const smtp = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const mail = {
            id: mails.length + 1,
            receivedAt: new Date(),
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            parsed,
          };
          mails.push(mail);
          callback();
          onMail(mail);
        },
        (err) => callback(err),
      );
    },
  });
  smtp.on('error', () => {});
  await new Promise((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(smtpPort, HOST, resolve);
  });

  const byMessageId = (id) => mails.find((m) => m.parsed.messageId === id);
  const summary = (m) => ({
    id: m.id,
    receivedAt: m.receivedAt.toISOString(),
    from: m.parsed.from?.text ?? m.envelope.from,
    to: m.envelope.to,
    subject: m.parsed.subject ?? '',
    messageId: m.parsed.messageId,
    inReplyTo: m.parsed.inReplyTo,
    text: m.parsed.text ?? '',
  });

  const inbox = () => {
    const rows = [...mails]
      .reverse()
      .map(
        (m) => `<tr><td class="muted">${escapeHtml(m.receivedAt.toLocaleTimeString())}</td>
<td>${escapeHtml(m.parsed.from?.text ?? m.envelope.from)}</td><td>${escapeHtml(m.envelope.to.join(', '))}</td>
<td><a href="/mail/${m.id}">${escapeHtml(m.parsed.subject || '(no subject)')}</a>${m.parsed.inReplyTo ? ' <span class="muted">(reply)</span>' : ''}</td></tr>`,
      )
      .join('\n');
    return page(
      `Inbox (${mails.length})`,
      `<h1>Inbox <span class="muted">(${mails.length})</span></h1>
<p class="muted">SMTP on ${HOST}:${smtpAddress.port}. This page refreshes every 5 seconds.</p>
<meta http-equiv="refresh" content="5">
${mails.length === 0 ? '<p>No mail yet.</p>' : `<table><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr>${rows}</table>`}`,
    );
  };

  const message = (m) => {
    const thread = [];
    for (let parent = byMessageId(m.parsed.inReplyTo); parent; parent = byMessageId(parent.parsed.inReplyTo))
      thread.unshift(parent);
    const replies = mails.filter((other) => other.parsed.inReplyTo === m.parsed.messageId);
    const link = (other) => `<a href="/mail/${other.id}">${escapeHtml(other.parsed.subject)}</a>`;
    const html = m.parsed.html
      ? `<h2>HTML</h2><iframe sandbox srcdoc="${escapeHtml(m.parsed.html)}"></iframe>`
      : '';
    return page(
      m.parsed.subject ?? 'Mail',
      `<p><a href="/">← Inbox</a></p><h1>${escapeHtml(m.parsed.subject || '(no subject)')}</h1>
<dl><dt>From</dt><dd>${escapeHtml(m.parsed.from?.text ?? m.envelope.from)}</dd>
<dt>To</dt><dd>${escapeHtml(m.envelope.to.join(', '))}</dd>
<dt>Date</dt><dd>${escapeHtml(m.parsed.date?.toISOString() ?? '')}</dd>
<dt>Message-ID</dt><dd>${escapeHtml(m.parsed.messageId)}</dd>
${thread.length > 0 ? `<dt>In reply to</dt><dd>${thread.map(link).join(' → ')}</dd>` : ''}
${replies.length > 0 ? `<dt>Replies</dt><dd>${replies.map(link).join('<br>')}</dd>` : ''}</dl>
${html}<h2>Text</h2><pre>${escapeHtml(m.parsed.text ?? '')}</pre>`,
    );
  };

  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', inbox());
    if (url.pathname === '/api/mails')
      return send(200, 'application/json', `${JSON.stringify(mails.map(summary), null, 2)}\n`);
    const match = /^\/mail\/(\d+)$/.exec(url.pathname);
    const mail = match ? mails[Number(match[1]) - 1] : undefined;
    if (mail) return send(200, 'text/html; charset=utf-8', message(mail));
    send(404, 'text/plain', 'not found\n');
  });
  await new Promise((resolve, reject) => {
    web.once('error', reject);
    web.listen(httpPort, HOST, resolve);
  });

  const smtpAddress = smtp.server.address();
  const httpAddress = web.address();
  return {
    smtpPort: smtpAddress.port,
    httpPort: httpAddress.port,
    url: `http://${HOST}:${httpAddress.port}/`,
    mails,
    close: () =>
      Promise.all([
        new Promise((resolve) => smtp.close(resolve)),
        new Promise((resolve) => {
          web.close(resolve);
          web.closeAllConnections();
        }),
      ]),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'smtp-port': { type: 'string', default: '1025' },
      'http-port': { type: 'string', default: '8025' },
    },
  });
  const catcher = await startMailCatcher({
    smtpPort: Number(values['smtp-port']),
    httpPort: Number(values['http-port']),
    onMail: (mail) =>
      console.log(`mail: ${mail.parsed.subject ?? '(no subject)'} → ${mail.envelope.to.join(', ')}`),
  });
  console.log(`SMTP on ${HOST}:${catcher.smtpPort}; inbox at ${catcher.url}. Ctrl-C stops.`);
  const stop = () => catcher.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
