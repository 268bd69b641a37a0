/**
 * An endpoint's saved state: the send log (unacknowledged messages and the
 * next seq of each channel) and the receive state (next expected seq and the
 * accepted messages not yet taken). DESIGN.md §6 makes both part of every
 * checkpoint, so the state is plain JSON (payloads in base64) that fits the
 * manifest's `state`, and it is validated on the way back in: a checkpoint is
 * read from storage, and storage can hold anything.
 *
 * Type aliases, not interfaces, so a state is assignable to `JsonValue`.
 */
import { z } from 'zod';
import { GridError } from '../../shared/errors.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import { MAX_MESSAGE_BYTES, MAX_TAG } from './frames.ts';

export const ENDPOINT_STATE_VERSION = 1;

export type SavedMessage = { seq: number; payload: string };

/** One directed channel this rank sends on: everything it sent there and has no ack for yet. */
export type SavedSendChannel = { to: number; tag: number; nextSeq: number; log: SavedMessage[] };

/** One directed channel this rank receives on: messages accepted, not yet taken, from `nextExpected` up. */
export type SavedReceiveChannel = { from: number; tag: number; nextExpected: number; buffered: SavedMessage[] };

export type EndpointState = {
  version: typeof ENDPOINT_STATE_VERSION;
  rank: number;
  size: number;
  send: SavedSendChannel[];
  receive: SavedReceiveChannel[];
};

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const DECODE = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const PAD = '='.charCodeAt(0);
const ascii = new TextDecoder('ascii');

/**
 * Base64 of `bytes`, table-driven into one ASCII buffer: btoa needs a binary
 * string first, and building one from megabytes (fromCharCode in chunks) is
 * several times slower than this.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 3) * 4);
  const whole = bytes.byteLength - (bytes.byteLength % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = ENCODE[(n >>> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  if (whole < bytes.byteLength) {
    const n = (bytes[whole]! << 16) | ((bytes[whole + 1] ?? 0) << 8);
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = whole + 1 < bytes.byteLength ? ENCODE[(n >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

/** The bytes of a padded base64 string; throws a RangeError on any other character. */
export function base64ToBytes(base64: string): Uint8Array {
  if (base64.length % 4 !== 0) throw new RangeError(`base64 of ${base64.length} characters, not a multiple of 4`);
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((base64.length / 4) * 3 - padding);
  const sextet = (i: number) => {
    const value = DECODE[base64.charCodeAt(i)] ?? 255;
    if (value === 255) throw new RangeError(`base64: unexpected character at ${i}`);
    return value;
  };
  let o = 0;
  for (let i = 0; i < base64.length; i += 4) {
    const last = i + 4 === base64.length;
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (last && padding === 2 ? 0 : sextet(i + 2) << 6) | (last && padding > 0 ? 0 : sextet(i + 3));
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

const seq = z.number().int().min(1);
const base64 = z
  .string()
  .max(Math.ceil(MAX_MESSAGE_BYTES / 3) * 4, `expected at most ${MAX_MESSAGE_BYTES} bytes`)
  // A simple pattern: one with alternatives backtracks for hundreds of ms on a megabyte.
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64')
  .refine((s) => s.length % 4 === 0, 'expected base64 (a multiple of 4 characters)');
const messages = z.array(z.strictObject({ seq, payload: base64 }));

/** Seqs strictly increasing and within [min, below). */
function checkSeqs(list: readonly SavedMessage[], min: number, below: number, field: string, ctx: z.RefinementCtx): void {
  list.forEach((m, i) => {
    const previous = i > 0 ? list[i - 1]!.seq : min - 1;
    if (m.seq <= previous || m.seq >= below) ctx.addIssue({ code: 'custom', path: [field, i, 'seq'], message: `expected increasing seqs from ${min} below ${below}` });
  });
}

const schema = z.strictObject({
  version: z.literal(ENDPOINT_STATE_VERSION),
  rank: z.number().int().nonnegative(),
  size: z.number().int().positive(),
  send: z.array(
    z
      .strictObject({ to: z.number().int().nonnegative(), tag: z.number().int().min(0).max(MAX_TAG), nextSeq: seq, log: messages })
      .superRefine((c, ctx) => checkSeqs(c.log, 1, c.nextSeq, 'log', ctx)),
  ),
  receive: z.array(
    z
      .strictObject({ from: z.number().int().nonnegative(), tag: z.number().int().min(0).max(MAX_TAG), nextExpected: seq, buffered: messages })
      .superRefine((c, ctx) => checkSeqs(c.buffered, c.nextExpected, Infinity, 'buffered', ctx)),
  ),
});

/** Checks that `value` is the saved state of rank `rank` of `size`; throws a ValidationError naming the bad field. */
export function parseEndpointState(value: unknown, rank: number, size: number): EndpointState {
  const state = parseOrThrow(schema, value, 'endpoint state') as EndpointState;
  const fail = (message: string) => new GridError('ValidationError', `endpoint state: ${message}`);
  if (state.rank !== rank || state.size !== size) throw fail(`saved by rank ${state.rank} of ${state.size}, restored as rank ${rank} of ${size}`);
  const seen = new Set<string>();
  const checkChannel = (field: string, i: number, peer: number, tag: number) => {
    if (peer >= size) throw fail(`${field}[${i}]: rank ${peer} is not below size ${size}`);
    const key = `${field} ${peer} ${tag}`;
    if (seen.has(key)) throw fail(`${field}[${i}]: channel (${peer}, tag ${tag}) appears twice`);
    seen.add(key);
  };
  state.send.forEach((c, i) => checkChannel('send', i, c.to, c.tag));
  state.receive.forEach((c, i) => checkChannel('receive', i, c.from, c.tag));
  return state;
}
