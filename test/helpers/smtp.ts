// A real SMTP server (npm smtp-server) on 127.0.0.1 for tests: STARTTLS with a certificate from a test
// CA, optional AUTH, every message parsed with mailparser. It can go down and come back on the same
// port, answer the next messages with an SMTP error, and refuse chosen recipients at RCPT TO.
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  parsed: ParsedMail;
  raw: string;
  envelope: { from: string; to: string[] };
  /** True when the session was upgraded with STARTTLS (or was TLS from the start). */
  secure: boolean;
  user?: string;
}

export interface TestSmtpOptions {
  /** PEM key and certificate for STARTTLS; without them STARTTLS is not offered. */
  tls?: { key: Buffer; cert: Buffer };
  auth?: { user: string; pass: string };
  port?: number;
}

export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  private server: SMTPServer | undefined;
  private rejections: { code: number; message: string }[] = [];
  /** Recipients refused at RCPT TO, with how many more times. */
  private readonly refusals = new Map<string, { code: number; message: string; times: number }>();
  port = 0;

  private constructor(private readonly options: TestSmtpOptions) {}

  static async start(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(options);
    smtp.port = options.port ?? 0;
    await smtp.up();
    return smtp;
  }

  /** Starts listening (again), on the same port as before. */
  async up(): Promise<void> {
    const { tls, auth } = this.options;
    const options: SMTPServerOptions = {
      secure: false,
      logger: false,
      disabledCommands: tls ? [] : ['STARTTLS'],
      hideSTARTTLS: !tls,
      authOptional: !auth,
      ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      onAuth: (a, _session, callback) => {
        if (auth && a.username === auth.user && a.password === auth.pass)
          callback(null, { user: a.username });
        else callback(new Error('Invalid username or password'));
      },
      onRcptTo: (address, _session, callback) => {
        const refusal = this.refusals.get(address.address.toLowerCase());
        if (refusal && refusal.times > 0) {
          refusal.times--;
          callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const rejection = this.rejections.shift();
          if (rejection) {
            const err = Object.assign(new Error(rejection.message), { responseCode: rejection.code });
            callback(err);
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw).then(
            (parsed) => {
              const mail: ReceivedMail = {
                parsed,
                raw,
                envelope: {
                  from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                  to: session.envelope.rcptTo.map((r) => r.address),
                },
                secure: session.secure,
              };
              if (typeof session.user === 'string') mail.user = session.user;
              this.mails.push(mail);
              callback();
            },
            (err: Error) => callback(err),
          );
        });
      },
    };
    const server = new SMTPServer(options);
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.listen(this.port, '127.0.0.1', () => resolve());
      server.server.once('error', reject);
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops open connections: the server is "down". */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Pooled clients keep connections open; end them so that close() returns.
      for (const connection of server.connections) connection.close();
    });
  }

  /** RCPT TO `address` is answered with this SMTP error (450 temporary, 550 permanent) `times` times. */
  refuseRecipient(address: string, code: number, message: string, times = Number.POSITIVE_INFINITY): void {
    this.refusals.set(address.toLowerCase(), { code, message, times });
  }

  /** The next `count` messages are answered with this SMTP error after DATA. */
  rejectNext(code: number, message: string, count = 1): void {
    for (let i = 0; i < count; i++) this.rejections.push({ code, message });
  }

  async close(): Promise<void> {
    await this.down();
  }
}
