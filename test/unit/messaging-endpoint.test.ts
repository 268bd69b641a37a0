/** The reliable message layer, one behaviour at a time (DESIGN.md §6): the endpoint and its frame codec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Endpoint } from '../../client/messaging/endpoint.ts';
import type { EndpointOptions } from '../../client/messaging/endpoint.ts';
import { base64ToBytes, bytesToBase64 } from '../../client/messaging/endpoint-state.ts';
import type { EndpointState } from '../../client/messaging/endpoint-state.ts';
import { MAX_MESSAGE_BYTES, decodeFrames, encodeFrames } from '../../client/messaging/frames.ts';
import type { Frame } from '../../client/messaging/frames.ts';
import type { JsonValue } from '../../shared/checkpoint-format.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);

/** Two ranks of a job on one fake clock. */
function pair(options: Partial<EndpointOptions> = {}) {
  const clock = { t: 0 };
  const make = (rank: number) => new Endpoint({ rank, size: 2, epoch: 0, now: () => clock.t, ...options });
  return { clock, a: make(0), b: make(1) };
}

/** Hands every frame `from` drains to `to`, through the codec as a transport would. */
function deliver(from: Endpoint, to: Endpoint): Frame[] {
  const frames = from.drain();
  if (frames.length > 0) for (const frame of decodeFrames(encodeFrames(frames))) to.receive(frame);
  return frames;
}

const msgs = (frames: Frame[]) => frames.filter((f) => f.kind === 'msg').map((f) => f.seq);
const acks = (frames: Frame[]) => frames.filter((f) => f.kind === 'ack').map((f) => f.seq);

test('messages are taken once each, in order, and every one is acked', () => {
  const { a, b } = pair();
  for (const n of [1, 2, 3]) assert.equal(a.send(1, 0, bytes(n, n)), true);
  assert.deepEqual(msgs(deliver(a, b)), [1, 2, 3]);
  assert.deepEqual([b.take(0, 0), b.take(0, 0), b.take(0, 0), b.take(0, 0)], [bytes(1, 1), bytes(2, 2), bytes(3, 3), undefined]);
  assert.equal(b.take(0, 1), undefined, 'another tag is another channel');
  assert.deepEqual(acks(deliver(b, a)), [1, 2, 3]);
  assert.equal(a.unacked(), 0);
  assert.deepEqual({ sent: a.stats.sent, resent: a.stats.resent, acked: a.stats.acked }, { sent: 3, resent: 0, acked: 3 });
  assert.deepEqual({ received: b.stats.received, delivered: b.stats.delivered, duplicates: b.stats.duplicates }, { received: 3, delivered: 3, duplicates: 0 });
});

test('send copies its payload', () => {
  const { a, b } = pair();
  const payload = bytes(7);
  a.send(1, 0, payload);
  payload[0] = 9;
  deliver(a, b);
  assert.deepEqual(b.take(0, 0), bytes(7));
});

test('a duplicate is discarded and acked again, before and after it is taken', () => {
  const { a, b } = pair();
  a.send(1, 0, bytes(1));
  const [frame] = a.drain();
  b.receive(frame!);
  b.receive(frame!);
  assert.deepEqual(acks(b.drain()), [1], 'one ack per drain for the same seq');
  assert.equal(b.take(0, 0)?.[0], 1);
  b.receive(frame!);
  assert.deepEqual(acks(b.drain()), [1]);
  assert.equal(b.take(0, 0), undefined);
  assert.equal(b.stats.duplicates, 2);
  assert.equal(b.stats.delivered, 1);
});

test('out-of-order messages wait in the buffer for the missing one', () => {
  const { a, b } = pair();
  for (const n of [1, 2, 3]) a.send(1, 0, bytes(n));
  const [one, two, three] = a.drain();
  b.receive(three!);
  b.receive(two!);
  assert.equal(b.take(0, 0), undefined);
  assert.deepEqual(acks(b.drain()), [3, 2], 'buffered messages are acked');
  b.receive(one!);
  assert.deepEqual([b.take(0, 0), b.take(0, 0), b.take(0, 0)], [bytes(1), bytes(2), bytes(3)]);
});

test('a message beyond the receive window is dropped without an ack', () => {
  const b = new Endpoint({ rank: 1, size: 2, epoch: 0, window: { messages: 4, bytes: 1000 } });
  const msg = (seq: number): Frame => ({ kind: 'msg', epoch: 0, from: 0, to: 1, tag: 0, seq, payload: bytes(seq) });
  b.receive(msg(5));
  assert.deepEqual(b.drain(), []);
  assert.equal(b.stats.outOfWindow, 1);
  b.receive(msg(4));
  b.receive(msg(1));
  assert.deepEqual(acks(b.drain()), [4, 1]);
  assert.equal(b.take(0, 0)?.[0], 1);
  b.receive(msg(5));
  assert.deepEqual(acks(b.drain()), [5], 'taking seq 1 moved the window');
  assert.equal(b.maxChannelUsage().buffered, 2);
});

test('a full window refuses sends until an ack frees it', () => {
  const { a, b } = pair({ window: { messages: 2, bytes: 1000 } });
  assert.equal(a.send(1, 0, bytes(1)), true);
  assert.equal(a.send(1, 0, bytes(2)), true);
  assert.equal(a.send(1, 0, bytes(3)), false);
  assert.equal(a.send(1, 1, bytes(3)), true, 'the window is per channel');
  assert.equal(a.send(0, 0, bytes(3)), true);
  const frames = a.drain().filter((f) => f.to === 1 && f.tag === 0);
  b.receive(frames[1]!);
  deliver(b, a);
  assert.equal(a.send(1, 0, bytes(3)), false, 'seq 3 would sit outside the receiver window while seq 1 is missing');
  b.receive(frames[0]!);
  deliver(b, a);
  assert.equal(a.send(1, 0, bytes(3)), true);
  assert.equal(a.unacked(), 3);
});

test('the byte window admits one oversized message only when nothing else is unacked', () => {
  const { a, b } = pair({ window: { messages: 64, bytes: 10 } });
  assert.equal(a.send(1, 0, new Uint8Array(6)), true);
  assert.equal(a.send(1, 0, new Uint8Array(6)), false);
  assert.equal(a.send(1, 0, new Uint8Array(4)), true);
  deliver(a, b);
  deliver(b, a);
  assert.equal(a.send(1, 0, new Uint8Array(50)), true);
  assert.equal(a.send(1, 0, new Uint8Array(0)), false, 'the channel is over its byte window until the big one is acked');
  assert.equal(a.send(1, 1, new Uint8Array(4)), true);
  assert.deepEqual(a.maxChannelUsage(), { unacked: 1, unackedBytes: 50, buffered: 0 });
});

test('bad arguments are errors, frames for someone else are counted and ignored', () => {
  const { a } = pair();
  assert.throws(() => a.send(1, 0, new Uint8Array(MAX_MESSAGE_BYTES + 1)), RangeError);
  assert.equal(a.send(1, 0, new Uint8Array(MAX_MESSAGE_BYTES)), true);
  assert.throws(() => a.send(2, 0, bytes(1)), /to: expected an integer in 0\.\.1/);
  assert.throws(() => a.send(1, 256, bytes(1)), RangeError);
  assert.throws(() => new Endpoint({ rank: 2, size: 2, epoch: 0 }), /rank/);
  a.receive({ kind: 'msg', epoch: 0, from: 1, to: 1, tag: 0, seq: 1, payload: bytes(1) });
  a.receive({ kind: 'msg', epoch: 0, from: 5, to: 0, tag: 0, seq: 1, payload: bytes(1) });
  a.receive({ kind: 'msg', epoch: 0, from: 1, to: 0, tag: 0, seq: 0, payload: bytes(1) });
  a.receive({ kind: 'msg', epoch: 0, from: 1, to: 0, tag: 0, seq: 1 });
  assert.equal(a.stats.rejected, 4);
  assert.equal(a.stats.received, 0);
});

test('an unacked message goes out again after resendAfterMs, and each frame once per drain', () => {
  const { clock, a, b } = pair({ resendAfterMs: 500 });
  a.send(1, 0, bytes(1));
  assert.equal(a.nextResendAt(), 0, 'a queued message is due now');
  assert.deepEqual(msgs(a.drain()), [1]);
  assert.equal(a.nextResendAt(), 500);
  clock.t = 300;
  a.send(1, 0, bytes(2));
  assert.deepEqual(msgs(a.drain()), [2]);
  clock.t = 499;
  assert.deepEqual(a.drain(), []);
  clock.t = 500;
  assert.deepEqual(msgs(a.drain()), [1]);
  assert.equal(a.nextResendAt(), 800);
  clock.t = 5000;
  assert.deepEqual(msgs(deliver(a, b)), [2, 1], 'both due, each once');
  deliver(b, a);
  assert.equal(a.nextResendAt(), undefined);
  assert.deepEqual({ sent: a.stats.sent, resent: a.stats.resent, acked: a.stats.acked }, { sent: 2, resent: 3, acked: 2 });
});

test('resendAll puts the whole log on the wire at the next drain, once', () => {
  const { a } = pair({ resendAfterMs: 0 });
  for (const n of [1, 2, 3]) a.send(1, n % 2, bytes(n));
  a.resendAll();
  assert.deepEqual(msgs(a.drain()).sort(), [1, 1, 2], 'never-sent messages are counted as sent, not twice');
  a.resendAll();
  a.resendAll();
  assert.deepEqual(msgs(a.drain()).sort(), [1, 1, 2]);
  assert.deepEqual({ sent: a.stats.sent, resent: a.stats.resent }, { sent: 3, resent: 3 });
});

test('a message resent twice at one instant falls due once', () => {
  const { clock, a } = pair({ resendAfterMs: 500 });
  a.send(1, 0, bytes(1));
  a.drain();
  a.resendAll();
  assert.deepEqual(msgs(a.drain()), [1]);
  clock.t = 500;
  assert.deepEqual(msgs(a.drain()), [1]);
  assert.equal(a.nextResendAt(), 1000);
});

test('frames of another epoch are ignored: a stale ack never frees the log', () => {
  const a = new Endpoint({ rank: 0, size: 2, epoch: 1 });
  a.send(1, 0, bytes(1));
  a.drain();
  a.receive({ kind: 'ack', epoch: 0, from: 1, to: 0, tag: 0, seq: 1 });
  a.receive({ kind: 'msg', epoch: 2, from: 1, to: 0, tag: 0, seq: 1, payload: bytes(1) });
  assert.equal(a.unacked(), 1);
  assert.deepEqual(a.drain(), [], 'no ack for a stale msg');
  assert.equal(a.take(1, 0), undefined);
  assert.equal(a.stats.stale, 2);
  a.receive({ kind: 'ack', epoch: 1, from: 1, to: 0, tag: 0, seq: 1 });
  assert.equal(a.unacked(), 0);
});

test('save and restore keep the send log, the next seqs and the buffered bytes', () => {
  const { a, b } = pair({ window: { messages: 64, bytes: 4 << 20 } });
  const big = new Uint8Array(MAX_MESSAGE_BYTES).map((_, i) => (i * 7919) >>> 3);
  a.send(1, 0, bytes(1));
  a.send(1, 0, big);
  a.send(1, 1, bytes());
  const frames = a.drain();
  b.receive(frames[0]!);
  b.receive(frames[2]!);
  deliver(b, a);
  b.send(0, 0, bytes(42));
  b.receive(frames[1]!);
  assert.equal(b.take(0, 0)?.[0], 1);

  const sa = JSON.parse(JSON.stringify(a.save())) as EndpointState;
  const sb: JsonValue = b.save();
  assert.deepEqual(sa.send.map((c) => [c.to, c.tag, c.nextSeq, c.log.map((m) => m.seq)]), [[1, 0, 3, [2]], [1, 1, 2, []]]);
  const a2 = new Endpoint({ rank: 0, size: 2, epoch: 1, state: sa, window: { messages: 64, bytes: 4 << 20 } });
  const b2 = new Endpoint({ rank: 1, size: 2, epoch: 1, state: sb as EndpointState, window: { messages: 64, bytes: 4 << 20 } });
  assert.equal(a2.unacked(), 1);
  const resent = a2.drain();
  assert.deepEqual(msgs(resent), [2]);
  assert.deepEqual(resent[0]!.payload, big);
  assert.equal(a2.stats.resent, 1);
  assert.deepEqual(b2.take(0, 0), big, 'the buffered message survived');
  assert.deepEqual(b2.take(0, 1), bytes());
  for (const frame of resent) b2.receive(frame);
  assert.equal(b2.stats.duplicates, 1);
  assert.equal(a2.send(1, 0, bytes(3)), true);
  deliver(a2, b2);
  assert.deepEqual(b2.take(0, 0), bytes(3), 'seqs continue where the saved state left off');
  assert.deepEqual(msgs(b2.drain()), [1], 'b2 resends its own log');
  assert.deepEqual(new Endpoint({ rank: 0, size: 2, epoch: 0, state: new Endpoint({ rank: 0, size: 2, epoch: 0 }).save() }).save(), { version: 1, rank: 0, size: 2, send: [], receive: [] });
});

test('restoring garbage is a ValidationError naming the field', () => {
  const { a } = pair();
  a.send(1, 0, bytes(1, 2, 3));
  const good = a.save();
  const restore = (state: unknown, rank = 0) => new Endpoint({ rank, size: 2, epoch: 0, state: state as EndpointState });
  const cases: [unknown, RegExp][] = [
    [null, /endpoint state: \(body\)/],
    [{ ...good, version: 2 }, /version/],
    [good, /saved by rank 0 of 2, restored as rank 1 of 2/],
    [{ ...good, send: [{ ...good.send[0], log: [{ seq: 1, payload: 'A!==' }] }] }, /send\[0\]\.log\[0\]\.payload: expected base64/],
    [{ ...good, send: [{ ...good.send[0], log: [{ seq: 2, payload: '' }] }] }, /send\[0\]\.log\[0\]\.seq: expected increasing seqs from 1 below 2/],
    [{ ...good, send: [{ ...good.send[0], to: 2 }] }, /send\[0\]: rank 2 is not below size 2/],
    [{ ...good, send: [good.send[0], good.send[0]] }, /appears twice/],
    [{ ...good, receive: [{ from: 1, tag: 0, nextExpected: 3, buffered: [{ seq: 2, payload: '' }] }] }, /receive\[0\]\.buffered\[0\]\.seq/],
    [{ ...good, extra: 1 }, /ValidationError|extra|Unrecognized/i],
  ];
  for (const [state, message] of cases) {
    assert.throws(
      () => restore(state, state === good ? 1 : 0),
      (error: Error) => error.name === 'ValidationError' && message.test(error.message),
      JSON.stringify(state).slice(0, 200),
    );
  }
});

test('base64 round-trips every byte value and megabytes quickly', () => {
  for (const length of [0, 1, 2, 3, 4, 24_575, 24_576, 24_577]) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 131 + 7) & 255);
    const text = bytesToBase64(data);
    assert.equal(text, Buffer.from(data).toString('base64'));
    assert.deepEqual(base64ToBytes(text), data);
  }
  for (const bad of ['A', 'AB=C', 'A===', '@AAA', 'AAAA\u0100AAA']) assert.throws(() => base64ToBytes(bad), RangeError, bad);
  const big = new Uint8Array(4 << 20);
  for (let i = 0; i < big.length; i++) big[i] = Math.imul(i, 2_654_435_761) >>> 24;
  const started = performance.now();
  const back = base64ToBytes(bytesToBase64(big));
  const elapsed = performance.now() - started;
  assert.ok(Buffer.from(back).equals(big), '4 MiB round trip');
  assert.ok(elapsed < 2_000, `4 MiB took ${elapsed} ms`);
});

test('the codec round-trips a batch and hands out payload views', () => {
  const frames: Frame[] = [
    { kind: 'msg', epoch: 0xffff_ffff, from: 0xffff, to: 3, tag: 255, seq: 0xffff_ffff, payload: bytes(1, 2, 3) },
    { kind: 'ack', epoch: 7, from: 3, to: 0, tag: 1, seq: 12 },
    { kind: 'msg', epoch: 7, from: 1, to: 2, tag: 0, seq: 1, payload: bytes() },
  ];
  const encoded = encodeFrames(frames);
  assert.equal(encoded.byteLength, 5 + 3 * 14 + 2 * 4 + 3);
  const decoded = decodeFrames(encoded);
  assert.deepEqual(decoded, frames);
  assert.equal(decoded[0]!.payload!.buffer, encoded.buffer, 'a view, not a copy');
  assert.deepEqual(decodeFrames(encodeFrames([])), []);
  const offset = new Uint8Array(encoded.byteLength + 3);
  offset.set(encoded, 3);
  assert.deepEqual(decodeFrames(offset.subarray(3)), frames, 'a view at an offset decodes too');
  assert.throws(() => encodeFrames([{ kind: 'msg', epoch: 0, from: 0, to: 1, tag: 0, seq: 1 }]), /payload/);
  assert.throws(() => encodeFrames([{ kind: 'ack', epoch: -1, from: 0, to: 1, tag: 0, seq: 1 }]), /frames\[0\]\.epoch/);
  assert.throws(() => encodeFrames([{ kind: 'ack', epoch: 0, from: 0, to: 1, tag: 256, seq: 1 }]), /frames\[0\]\.tag/);
});

test('the codec refuses every malformed batch with a ValidationError', () => {
  const encoded = encodeFrames([
    { kind: 'msg', epoch: 1, from: 0, to: 1, tag: 0, seq: 1, payload: bytes(9, 9, 9, 9) },
    { kind: 'ack', epoch: 1, from: 0, to: 1, tag: 0, seq: 1 },
  ]);
  const refuses = (input: Uint8Array, message: RegExp) =>
    assert.throws(() => decodeFrames(input), (error: Error) => error.name === 'ValidationError' && message.test(error.message), message.source);
  for (let length = 0; length < encoded.byteLength; length++) refuses(encoded.subarray(0, length), /frame batch: /);
  refuses(Uint8Array.from([...encoded, 0]), /1 bytes after the last of 2 frames/);
  const mutate = (at: number, value: number, width = 1) => {
    const copy = encoded.slice();
    const view = new DataView(copy.buffer);
    if (width === 1) view.setUint8(at, value);
    else view.setUint32(at, value, true);
    return copy;
  };
  refuses(mutate(0, 2), /format version 2/);
  refuses(mutate(1, 0xffff_ffff, 4), /claims 4294967295 frames/);
  refuses(mutate(1, 1, 4), /bytes after the last of 1 frames/);
  refuses(mutate(5, 3), /kind code 3/);
  refuses(mutate(5 + 14, 0xffff_ffff, 4), /payload, at most/);
  refuses(mutate(5 + 14, 100, 4), /100-byte payload but/);
  for (let i = 0; i < 2_000; i++) {
    const noise = Uint8Array.from({ length: i % 64 }, (_, j) => (i * 7 + j * 13) & 255);
    noise[0] = 1;
    try {
      decodeFrames(noise);
    } catch (error) {
      assert.equal((error as Error).name, 'ValidationError');
    }
  }
});
