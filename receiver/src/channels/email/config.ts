// The `type: email` channel's config: the SMTP server (STARTTLS required by default), the optional
// login, and the addresses.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  address,
  type BuildContext,
  bool,
  channelSchema,
  envName,
  fail,
  list,
  path,
  positiveDuration,
  rateLimit,
  secretOf,
  text,
  toRateLimit,
  whole,
} from '../../schema.js';

/** Free-text values are capped so that one 100 KB annotation does not make a 100 KB mail. */
const MAX_VALUE = 20_000;

export const emailSchema = channelSchema('email', {
  smtp: z.strictObject(
    {
      host: text('an SMTP host name'),
      port: whole(1, 65_535).default(587),
      require_tls: bool().default(true),
      force_implicit_tls: bool().optional(),
      username: text('an SMTP user name').optional(),
      username_env: envName().optional(),
      password_env: envName().optional(),
      password_file: path().optional(),
      hello: text('a host name for EHLO').optional(),
      ca_file: path().optional(),
      server_name: text('a TLS server name').optional(),
      insecure_skip_verify: bool().default(false),
      max_connections: whole(1, 50).default(3),
      timeout: positiveDuration().default(10_000),
    },
    { error: 'expected an object with host, port, require_tls…' },
  ),
  from: address(),
  to: list(address(), 'a list of email addresses').min(1, { error: 'expected at least one address' }),
  cc: list(address(), 'a list of email addresses').default([]),
  max_alerts: whole(1, 500).default(50),
  rate_limit: rateLimit().default({ per_second: 5, burst: 10 }),
});

export type EmailSettings = ReturnType<typeof buildEmailSettings>;
export type SmtpSettings = EmailSettings['smtp'];

export function buildEmailSettings(raw: z.output<typeof emailSchema>, ctx: BuildContext) {
  const { key, secrets } = ctx;
  const s = raw.smtp;
  if (s.username !== undefined && s.username_env !== undefined)
    fail(`${key}.smtp.username_env`, s.username_env, 'only one of username and username_env');
  const hasUser = s.username !== undefined || s.username_env !== undefined;
  const hasPassword = s.password_env !== undefined || s.password_file !== undefined;
  if (hasUser !== hasPassword)
    fail(
      `${key}.smtp`,
      { username: s.username ?? s.username_env, password: s.password_env ?? s.password_file },
      'both a user name and a password for SMTP authentication, or neither',
    );
  // The user name is no secret, but may come from the same Secret as the password.
  const username =
    s.username ??
    (s.username_env !== undefined ? secrets.fromEnv(`${key}.smtp.username_env`, s.username_env) : undefined);
  const password = secretOf(
    secrets,
    `${key}.smtp.password`,
    { env: s.password_env, file: s.password_file },
    false,
  );
  return {
    type: 'email' as const,
    name: raw.name,
    smtp: {
      host: s.host,
      port: s.port,
      /** Refuse to send unless the server offers STARTTLS (ignored with implicit TLS). */
      requireTls: s.require_tls,
      /** TLS from the first byte (port 465 unless set). */
      implicitTls: s.force_implicit_tls ?? s.port === 465,
      insecureSkipVerify: s.insecure_skip_verify,
      maxConnections: s.max_connections,
      timeoutMs: s.timeout,
      username,
      password,
      /** Name sent with EHLO. */
      hello: s.hello,
      serverName: s.server_name,
      ca:
        s.ca_file === undefined
          ? undefined
          : readFileSync(ctx.existingFile(`${key}.smtp.ca_file`, s.ca_file), 'utf8'),
    },
    from: raw.from,
    to: raw.to,
    cc: raw.cc,
    maxAlerts: raw.max_alerts,
    maxValue: MAX_VALUE,
    rateLimit: toRateLimit(raw.rate_limit),
  };
}
