// Email destination: one pooled SMTP transport (nodemailer), STARTTLS required by default. The first
// mail of an incident keeps its Message-ID in the group's record; later mails of the group reply to it.
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryEvent,
  type RateLimit,
  type WireRequest,
} from '../channel.js';
import { defineChannel } from '../descriptor.js';
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
    this.transport ??= createTransport(this.config.smtp, this.logger);
    try {
      await this.transport.sendMail({
        from: mail.from,
        to: mail.to,
        cc: mail.cc.length > 0 ? mail.cc : undefined,
        subject: mail.subject,
        messageId: mail.messageId,
        inReplyTo: mail.inReplyTo,
        references: mail.references,
        date: new Date(mail.date),
        headers: mail.headers,
        text: mail.text,
        html: mail.html,
      });
    } catch (err) {
      throw classifySmtpError(err);
    }
    if (isEmailRef(ref) && event.kind !== 'new') return ref;
    const root: EmailRef = { message_id: mail.messageId, subject: mail.subject };
    return root;
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
