// Email destination: one pooled SMTP transport (nodemailer), STARTTLS required by default. The first
// mail of an incident keeps its Message-ID in the group's record; later mails of the group reply to it.
// A server may refuse some recipients at RCPT TO and take the mail for the others: then the mail
// counts as sent, and each refused recipient is a part of its own (PartlyDelivered) — the same mail,
// sent again later to that address alone (4xx), or dead-lettered naming the address (5xx).
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryEvent,
  PartlyDelivered,
  type RateLimit,
  type RemainingPart,
  type WireRequest,
} from '../channel.js';
import { defineChannel } from '../descriptor.js';
import { oneLine } from '../http.js';
import { buildEmailSettings, type EmailSettings, emailSchema, type SmtpSettings } from './config.js';
import { type EmailMessage, type EmailRef, isEmailRef, renderEmail } from './render.js';

export const emailChannel = defineChannel({
  type: 'email',
  schema: emailSchema,
  build: buildEmailSettings,
  create: (settings, logger) => new EmailChannel(settings, logger),
  print: (request) => printMail(request.body as EmailMessage),
});

export class EmailChannel implements Channel {
  readonly type = 'email';
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency: number;
  private transport: ReturnType<typeof createTransport> | undefined;

  constructor(
    private readonly config: EmailSettings,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
    this.rateLimit = config.rateLimit;
    this.concurrency = config.smtp.maxConnections;
  }

  render(event: DeliveryEvent, ref?: ChannelRef): WireRequest[] {
    return [{ action: 'SMTP', body: renderEmail(event, ref, this.config) }];
  }

  async send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const mail = renderEmail(event, ref, this.config);
    const kept: ChannelRef =
      isEmailRef(ref) && event.kind !== 'new'
        ? ref
        : ({
            message_id: mail.messageId,
            subject: mail.subject,
            ...(mail.headers['Thread-Index'] ? { thread_index: mail.headers['Thread-Index'] } : {}),
          } satisfies EmailRef);
    let refused: RefusedRecipient[];
    try {
      refused = refusedOf(await this.deliver(mail));
    } catch (err) {
      // Every recipient refused: a part of each kind left is still a partial outcome.
      refused = refusedOf(err);
      const temporary = refused.filter((r) => r.temporary);
      if (temporary.length === 0 || temporary.length === refused.length) throw classifySmtpError(err);
    }
    if (refused.length === 0) return kept;
    throw new PartlyDelivered(
      kept,
      refused.map(
        (r): RemainingPart => ({
          target: r.address,
          part: { mail, recipient: r.address },
          error: r.response,
          retryable: r.temporary,
        }),
      ),
    );
  }

  /** The same mail again, to one recipient a server refused before (envelope only; headers unchanged). */
  async sendPart(part: ChannelRef): Promise<void> {
    const { mail, recipient } = part as { mail: EmailMessage; recipient: string };
    try {
      await this.deliver(mail, recipient);
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  private deliver(mail: EmailMessage, only?: string): Promise<{ rejectedErrors?: unknown[] }> {
    this.transport ??= createTransport(this.config.smtp, this.logger);
    return this.transport.sendMail({
      from: mail.from,
      to: mail.to,
      cc: mail.cc.length > 0 ? mail.cc : undefined,
      ...(only !== undefined ? { envelope: { from: mail.from, to: [only] } } : {}),
      subject: mail.subject,
      messageId: mail.messageId,
      inReplyTo: mail.inReplyTo,
      references: mail.references,
      date: new Date(mail.date),
      headers: mail.headers,
      text: mail.text,
      html: mail.html,
    });
  }

  async close(): Promise<void> {
    this.transport?.close();
    this.transport = undefined;
  }
}

function createTransport(smtp: SmtpSettings, logger: Logger) {
  const transport = nodemailer.createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.implicitTls,
    requireTLS: smtp.requireTls && !smtp.implicitTls,
    ...(smtp.username !== undefined ? { auth: { user: smtp.username, pass: smtp.password ?? '' } } : {}),
    ...(smtp.hello ? { name: smtp.hello } : {}),
    tls: {
      rejectUnauthorized: !smtp.insecureSkipVerify,
      ...(smtp.serverName ? { servername: smtp.serverName } : {}),
      ...(smtp.ca ? { ca: smtp.ca } : {}),
    },
    maxConnections: smtp.maxConnections,
    maxMessages: 100,
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs * 3,
    logger: false,
  });
  transport.on('error', (err: Error) => logger.warn({ err: err.message }, 'SMTP pool error'));
  return transport;
}

interface RefusedRecipient {
  address: string;
  response: string;
  temporary: boolean;
}

/** The recipients refused at RCPT TO, from nodemailer's answer or its all-refused error. */
function refusedOf(outcome: unknown): RefusedRecipient[] {
  const errors = (outcome as { rejectedErrors?: unknown[] } | undefined)?.rejectedErrors ?? [];
  return errors.flatMap((e) => {
    const { recipient, response, responseCode } = e as {
      recipient?: string;
      response?: string;
      responseCode?: number;
    };
    if (typeof recipient !== 'string') return [];
    return [
      {
        address: recipient,
        response: oneLine(response ?? 'refused').slice(0, 300),
        temporary: (responseCode ?? 500) < 500,
      },
    ];
  });
}

/** SMTP 4xx, connection and timeout errors are retryable; 5xx, authentication and TLS failures are not. */
export function classifySmtpError(err: unknown): ChannelError {
  const e = err as Error & { code?: string; responseCode?: number; response?: string; command?: string };
  const what = [e.code, e.responseCode, (e.response ?? e.message)?.slice(0, 300)]
    .filter((x) => x !== undefined)
    .join(' ');
  if (typeof e.responseCode === 'number') {
    return new ChannelError(`SMTP server answered: ${what}`, e.responseCode < 500, undefined, { cause: err });
  }
  const permanent = ['EAUTH', 'ETLS', 'EENVELOPE', 'EMESSAGE', 'ENOAUTH'];
  if (e.code && permanent.includes(e.code))
    return new ChannelError(`SMTP failed: ${what}`, false, undefined, { cause: err });
  return new ChannelError(`SMTP failed: ${what}`, true, undefined, { cause: err });
}

/** The mail as a mail client would show its source: headers, then each part. */
function printMail(mail: EmailMessage): string {
  const headers = [
    `From: ${mail.from}`,
    `To: ${mail.to.join(', ')}`,
    ...(mail.cc.length > 0 ? [`Cc: ${mail.cc.join(', ')}`] : []),
    `Subject: ${mail.subject}`,
    `Message-ID: ${mail.messageId}`,
    `Date: ${mail.date}`,
    ...Object.entries(mail.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${headers.join('\n')}\n\n----- text/plain -----\n${mail.text}\n\n----- text/html -----\n${mail.html}`;
}
