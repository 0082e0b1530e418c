// The leaves of the receiver's config schema, shared by config.ts and each channel's own schema: every
// leaf knows what it expects, so that every error can say the key, the value and the expectation.

import { DURATION_EXPECTED, POSITIVE_DURATION_EXPECTED, parseDurationMs } from '@license-monitor/common';
import { z } from 'zod';
import type { RateLimit } from './channels/channel.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function leaf<T>(inner: z.ZodType<T>, expected: string) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined || value === null) {
      ctx.addIssue({ code: 'custom', message: `missing: expected ${expected}` });
      return z.NEVER;
    }
    const result = inner.safeParse(value);
    if (!result.success) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
      return z.NEVER;
    }
    return result.data;
  });
}

export const text = (expected = 'a non-empty string') => leaf(z.string().min(1), expected);
export const duration = () =>
  leaf(
    z
      .string()
      .transform((s) => parseDurationMs(s) ?? -1)
      .pipe(z.number().min(0)),
    DURATION_EXPECTED,
  );
export const positiveDuration = () =>
  leaf(
    z
      .string()
      .transform((s) => parseDurationMs(s) ?? -1)
      .pipe(z.number().positive()),
    POSITIVE_DURATION_EXPECTED,
  );
export const bool = () => leaf(z.boolean(), 'true or false');
export const whole = (min: number, max: number) =>
  leaf(z.number().int().min(min).max(max), `a whole number from ${min} to ${max}`);
export const envName = () =>
  leaf(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    'the name of an environment variable, such as SLACK_BOT_TOKEN',
  );
export const path = () => leaf(z.string().min(1), 'a file path');
export const EMAIL = /^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/;
export const address = () =>
  leaf(
    z.string().regex(EMAIL),
    'an email address such as alerts@example.com or "Alerts <alerts@example.com>"',
  );
export const list = <T>(item: z.ZodType<T>, expected: string) =>
  z.array(item, { error: `expected ${expected}` });
export const rateLimit = () =>
  z.strictObject({
    per_second: leaf(z.number().positive(), 'a positive number of messages per second'),
    burst: leaf(z.number().int().min(1), 'a whole number ≥ 1'),
  });

/** An http(s) URL. */
export const httpUrl = (expected = 'an http(s) URL') => leaf(z.url({ protocol: /^https?$/ }), expected);

/**
 * Keys whose value may be a secret pasted in by mistake (a token into `token_env:`, a password under
 * `smtp.password:`, a header value): errors name the key, never such a value.
 */
const SECRET_KEY =
  /(token|passw(?:or)?d|secret|webhook_url|api[-_]?key|credentials?|authorization)(_env|_file)?$/i;

/**
 * The value of a secret-looking key, if an error may show it: the name of a variable as such names
 * are written (SLACK_BOT_TOKEN) for `*_env`, a path for `*_file`; nothing else (a token, a password).
 */
function showable(key: string, value: unknown): boolean {
  const segments = key.split(/[.[\]]+/).filter(Boolean);
  const last = segments.at(-1) ?? '';
  if (segments.at(-2) === 'headers') return false;
  const match = SECRET_KEY.exec(last);
  if (!match) return true;
  if (typeof value !== 'string') return false;
  if (match[2] === '_env') return /^[A-Z][A-Z0-9_]{0,63}$/.test(value);
  if (match[2] === '_file') return /^(\.{0,2}\/)?[\w.-]+(\/[\w.-]+)*$/.test(value) && /[/.]/.test(value);
  return false;
}

/** A config value for an error message: JSON, short, and never what looks like a secret. */
export function show(value: unknown, key = ''): string {
  if (!showable(key, value)) return 'the value given (not shown: it may be a secret)';
  const text = JSON.stringify(value, (k, v) =>
    k === '' || v === undefined || showable(k, v) ? v : '(not shown)',
  );
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function fail(key: string, value: unknown, expected: string): never {
  if (value === undefined) throw new ConfigError(`${key}: missing: expected ${expected}`);
  throw new ConfigError(`${key}: ${show(value, key)} is not valid: expected ${expected}`);
}

export const toRateLimit = (r: { per_second: number; burst: number }): RateLimit => ({
  perSecond: r.per_second,
  burst: r.burst,
});

/** Reads a secret named by a config key: from an environment variable or a file (undefined when not asked). */
export interface Secrets {
  fromEnv(key: string, name: string | undefined): string | undefined;
  fromFile(key: string, path: string | undefined): string | undefined;
  /** Whether secrets are read at all (render needs none). */
  read: boolean;
}

/**
 * Fails for a secret whose content is not what `expected` says, naming the key it came from and that
 * key's value (the variable or file), never the secret itself.
 */
export function failSecret(
  key: string,
  source: { env: string | undefined; file: string | undefined },
  expected: string,
): never {
  if (source.env !== undefined) fail(`${key}_env`, source.env, expected);
  fail(`${key}_file`, source.file, expected);
}

/** What a channel's builder gets besides its checked keys. */
export interface BuildContext {
  /** Where the channel is in the config, such as `channels[2]`: errors name `${key}.<field>`. */
  key: string;
  secrets: Secrets;
  /** A path relative to the config file, checked to be an existing file; fails naming `key`. */
  existingFile(key: string, path: string): string;
}

/** A channel's config keys: `name`, `type: <type>` and its own, unknown keys refused. */
export function channelSchema<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.strictObject({ name: text('a channel name'), type: z.literal(type), ...shape });
}

/**
 * A secret given as `<name>_env` or `<name>_file` (one of them): its value when secrets are read.
 * `key` is the config path without the suffix, such as `channels[2].api_token`.
 */
export function secretOf(
  secrets: Secrets,
  key: string,
  source: { env: string | undefined; file: string | undefined },
  required: boolean,
): string | undefined {
  if (source.env !== undefined && source.file !== undefined)
    fail(`${key}_file`, source.file, `only one of ${key}_env and ${key}_file`);
  if (source.env === undefined && source.file === undefined) {
    if (required) fail(`${key}_env`, undefined, `${key}_env or ${key}_file naming where the secret is`);
    return undefined;
  }
  return secrets.fromFile(`${key}_file`, source.file) ?? secrets.fromEnv(`${key}_env`, source.env);
}

export const basicAuthSchema = z.strictObject({
  username: text('a user name'),
  password_file: path().optional(),
  password_env: envName().optional(),
});

/** Credentials: a bearer token (from a file or a variable), or basic auth. */
export const authSchema = z.strictObject({
  bearer_token_file: path().optional(),
  bearer_token_env: envName().optional(),
  basic_auth: basicAuthSchema.optional(),
});

export interface AuthSettings {
  bearerToken?: string;
  basic?: { username: string; password?: string | undefined };
}

/**
 * Credentials at `key` (`auth`): a bearer token, or basic auth (user and password). Without secrets
 * read, the token is '' and the password absent, so nothing authenticates.
 */
export function buildAuth(raw: z.output<typeof authSchema>, secrets: Secrets, key = 'auth'): AuthSettings {
  const bearer = raw.bearer_token_file !== undefined || raw.bearer_token_env !== undefined;
  if (bearer === (raw.basic_auth !== undefined))
    fail(key, raw, 'exactly one of bearer_token_file / bearer_token_env, or basic_auth');
  if (bearer) {
    const token = secretOf(
      secrets,
      `${key}.bearer_token`,
      { env: raw.bearer_token_env, file: raw.bearer_token_file },
      true,
    );
    return { bearerToken: token ?? '' };
  }
  return {
    basic: buildBasic(raw.basic_auth as z.output<typeof basicAuthSchema>, secrets, `${key}.basic_auth`),
  };
}

/** A user name and its password (from a file or an environment variable); no password without secrets. */
export function buildBasic(
  basic: z.output<typeof basicAuthSchema>,
  secrets: Secrets,
  key: string,
): { username: string; password?: string | undefined } {
  if ((basic.password_file === undefined) === (basic.password_env === undefined))
    fail(key, basic, 'exactly one of password_file and password_env');
  const password = secretOf(
    secrets,
    `${key}.password`,
    { env: basic.password_env, file: basic.password_file },
    true,
  );
  return { username: basic.username, password };
}
