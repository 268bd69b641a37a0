/**
 * The wire unit of the messages between ranks (DESIGN.md §6) and its binary
 * codec. A rank's endpoint hands the transport a batch of frames for one
 * peer; the batch travels as one buffer, so the codec allocates once per
 * batch and the decoder returns payloads as views into what arrived.
 *
 * Batch layout, little-endian:
 *   u8 version | u32 frame count | frames…
 * Frame: u8 kind (1 msg, 2 ack) | u8 tag | u16 from | u16 to | u32 epoch | u32 seq
 *        then, for a msg only, u32 payload length | payload bytes.
 * Bytes arrive from the relay, so the decoder trusts nothing: every length is
 * checked against what is left before anything is read.
 */
import { GridError } from '../../shared/errors.ts';

/** Largest payload of one message. A bigger `send` is a RangeError. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Tags are one byte on the wire. */
export const MAX_TAG = 255;
/** Ranks are two bytes on the wire. */
export const MAX_WIRE_RANK = 0xffff;
/** Epochs and seqs are four bytes on the wire. */
export const MAX_WIRE_U32 = 0xffff_ffff;

/** The tags in use: the program's own messages, and the runtime's (barriers). */
export const MessageTag = { program: 0, internal: 1 } as const;

export interface Frame {
  kind: 'msg' | 'ack';
  /** The job's rollback count when the frame was made; other epochs are ignored. */
  epoch: number;
  from: number;
  to: number;
  tag: number;
  /** Per directed channel (from, to, tag), from 1. An ack names the seq it acknowledges. */
  seq: number;
  /** msg only. */
  payload?: Uint8Array;
}

const FORMAT_VERSION = 1;
const BATCH_HEADER_BYTES = 5;
const FRAME_HEADER_BYTES = 14;
const LENGTH_BYTES = 4;
const KIND_CODE = { msg: 1, ack: 2 } as const;

function checkField(value: number, max: number, what: string, index: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`frames[${index}].${what}: expected an integer in 0..${max}, got ${value}`);
}

/** One buffer holding `frames` in order. Throws a RangeError on a field the format cannot carry. */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  let total = BATCH_HEADER_BYTES;
  frames.forEach((frame, i) => {
    total += FRAME_HEADER_BYTES;
    if (frame.kind === 'msg') {
      if (!frame.payload) throw new RangeError(`frames[${i}].payload: a msg carries a payload`);
      if (frame.payload.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`frames[${i}].payload: ${frame.payload.byteLength} bytes, at most ${MAX_MESSAGE_BYTES}`);
      total += LENGTH_BYTES + frame.payload.byteLength;
    } else if (frame.kind !== 'ack') throw new RangeError(`frames[${i}].kind: expected 'msg' or 'ack', got ${String(frame.kind)}`);
  });
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint8(0, FORMAT_VERSION);
  view.setUint32(1, frames.length, true);
  let at = BATCH_HEADER_BYTES;
  frames.forEach((frame, i) => {
    checkField(frame.tag, MAX_TAG, 'tag', i);
    checkField(frame.from, MAX_WIRE_RANK, 'from', i);
    checkField(frame.to, MAX_WIRE_RANK, 'to', i);
    checkField(frame.epoch, MAX_WIRE_U32, 'epoch', i);
    checkField(frame.seq, MAX_WIRE_U32, 'seq', i);
    view.setUint8(at, KIND_CODE[frame.kind]);
    view.setUint8(at + 1, frame.tag);
    view.setUint16(at + 2, frame.from, true);
    view.setUint16(at + 4, frame.to, true);
    view.setUint32(at + 6, frame.epoch, true);
    view.setUint32(at + 10, frame.seq, true);
    at += FRAME_HEADER_BYTES;
    if (frame.kind === 'msg') {
      const payload = frame.payload!;
      view.setUint32(at, payload.byteLength, true);
      out.set(payload, at + LENGTH_BYTES);
      at += LENGTH_BYTES + payload.byteLength;
    }
  });
  return out;
}

function malformed(message: string): GridError {
  return new GridError('ValidationError', `frame batch: ${message}`);
}

/**
 * The frames of a batch made by `encodeFrames`. Payloads are views into
 * `bytes` (copy them to keep them past the buffer's reuse). Throws a
 * ValidationError on anything malformed, without reading out of bounds.
 */
export function decodeFrames(bytes: Uint8Array): Frame[] {
  if (bytes.byteLength < BATCH_HEADER_BYTES) throw malformed(`${bytes.byteLength} bytes, shorter than its ${BATCH_HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== FORMAT_VERSION) throw malformed(`format version ${version}, expected ${FORMAT_VERSION}`);
  const count = view.getUint32(1, true);
  // Each frame takes at least a header: a count beyond that is garbage, and no array is sized from it.
  if (count > (bytes.byteLength - BATCH_HEADER_BYTES) / FRAME_HEADER_BYTES) throw malformed(`claims ${count} frames in ${bytes.byteLength} bytes`);
  const frames: Frame[] = [];
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + FRAME_HEADER_BYTES > bytes.byteLength) throw malformed(`frame ${i} is cut short at byte ${at}`);
    const code = view.getUint8(at);
    const header = {
      epoch: view.getUint32(at + 6, true),
      from: view.getUint16(at + 2, true),
      to: view.getUint16(at + 4, true),
      tag: view.getUint8(at + 1),
      seq: view.getUint32(at + 10, true),
    };
    at += FRAME_HEADER_BYTES;
    if (code === KIND_CODE.ack) {
      frames.push({ kind: 'ack', ...header });
    } else if (code === KIND_CODE.msg) {
      if (at + LENGTH_BYTES > bytes.byteLength) throw malformed(`frame ${i} is cut short before its payload length`);
      const length = view.getUint32(at, true);
      at += LENGTH_BYTES;
      if (length > MAX_MESSAGE_BYTES) throw malformed(`frame ${i} has a ${length}-byte payload, at most ${MAX_MESSAGE_BYTES}`);
      if (at + length > bytes.byteLength) throw malformed(`frame ${i} has a ${length}-byte payload but ${bytes.byteLength - at} bytes are left`);
      frames.push({ kind: 'msg', ...header, payload: bytes.subarray(at, at + length) });
      at += length;
    } else {
      throw malformed(`frame ${i} has kind code ${code}, expected ${KIND_CODE.msg} (msg) or ${KIND_CODE.ack} (ack)`);
    }
  }
  if (at !== bytes.byteLength) throw malformed(`${bytes.byteLength - at} bytes after the last of ${count} frames`);
  return frames;
}
