// Outlook's conversation headers. Outlook and Exchange group mails into one conversation by their
// Thread-Topic (the subject without prefixes) and Thread-Index, not by subject, so a resolve reply
// whose subject says RESOLVED still joins the FIRING mail's conversation. Thread-Index follows
// [MS-OXOMSG] 2.2.1.3 (PidTagConversationIndex): a 22-byte header — 0x01, the 40 high bits of the
// FILETIME the conversation began, a 16-byte GUID — then one 5-byte response level per reply: a delta
// code bit, 31 bits of the time since the header, 4 random bits, 4 bits of sequence.
import { createHash } from 'node:crypto';

const HEADER_BYTES = 22;
/** Milliseconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
const FILETIME_EPOCH_MS = 11_644_473_600_000n;

const filetime = (ms: number): bigint => (BigInt(Math.floor(ms)) + FILETIME_EPOCH_MS) * 10_000n;

/** The Thread-Index of a conversation's first mail: its time and a GUID from `seed` (the Message-ID). */
export function threadIndexRoot(ms: number, seed: string): string {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = 0x01;
  const top = filetime(ms) >> 24n; // the 40 most significant bits
  for (let i = 0; i < 5; i++) header[1 + i] = Number((top >> BigInt(8 * (4 - i))) & 0xffn);
  createHash('sha256').update(seed).digest().copy(header, 6, 0, 16);
  return header.toString('base64');
}

/** The Thread-Index of a reply to the mail whose Thread-Index is `root`; undefined when `root` is not one. */
export function threadIndexReply(root: string, ms: number, seed: string): string | undefined {
  const header = Buffer.from(root, 'base64').subarray(0, HEADER_BYTES);
  if (header.length !== HEADER_BYTES || header[0] !== 0x01) return undefined;
  let top = 0n;
  for (let i = 0; i < 5; i++) top = (top << 8n) | BigInt(header[1 + i] as number);
  let delta = filetime(ms) - (top << 24n);
  if (delta < 0n) delta = 0n;
  // Less than 2^49 (about 1.8 years): bits 48–18 of the delta; else bits 53–23 with the code bit set.
  const word =
    delta < 1n << 49n ? (delta >> 18n) & 0x7fffffffn : (1n << 31n) | ((delta >> 23n) & 0x7fffffffn);
  const level = Buffer.alloc(5);
  level.writeUInt32BE(Number(word), 0);
  const random = (createHash('sha256').update(seed).digest()[0] as number) & 0x0f;
  level[4] = (random << 4) | 0x01;
  return Buffer.concat([header, level]).toString('base64');
}
