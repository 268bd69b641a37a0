/**
 * One rank's end of the reliable message layer (DESIGN.md §6), pure and
 * transport-agnostic: frames go in through `receive`, come out of `drain`, and
 * the caller moves them. Channels are directed (from, to, tag), seqs from 1.
 *
 * - The sender keeps every message until its ack arrives and resends it when
 *   no ack came within `resendAfterMs`, or at once after `resendAll()`.
 * - The receiver acks every message it accepts or already has, and hands each
 *   channel's messages to `take` once and in order. "Delivered" means taken:
 *   the receive window counts from the next seq to take, so a program that
 *   does not take holds its senders back instead of filling memory.
 * - Memory is bounded on both sides by the window. The sender keeps every seq
 *   it has out below oldest-unacked + window.messages, so a single lost
 *   message stalls the channel instead of pushing later ones past the
 *   receiver's window. An ack says "accepted", not "taken", so a receiver
 *   whose program lags still drops what lies beyond its window (unacked: the
 *   sender resends it once the program has taken what is ahead of it).
 * - Every frame carries the job's epoch (its rollback count); frames of another
 *   epoch are ignored, so an ack from before a rollback never frees a message
 *   the rolled-back sender must send again.
 */
import { MAX_MESSAGE_BYTES, MAX_TAG } from './frames.ts';
import type { Frame } from './frames.ts';
import { ENDPOINT_STATE_VERSION, base64ToBytes, bytesToBase64, parseEndpointState } from './endpoint-state.ts';
import type { EndpointState, SavedMessage } from './endpoint-state.ts';
import { MAX_RANKS } from '../../shared/limits.ts';

/** Per channel: at most this many unacked messages (and accepted, not-taken ones on the receiving side). */
export const DEFAULT_WINDOW_MESSAGES = 64;
/** Per channel: at most this many unacked payload bytes; one bigger message may go when nothing else is unacked. */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
/** An unacked message goes out again after this long. */
export const DEFAULT_RESEND_AFTER_MS = 500;

export interface EndpointOptions {
  rank: number;
  size: number;
  /** The job's rollback count: frames of another epoch are ignored. */
  epoch: number;
  /** @default { messages: DEFAULT_WINDOW_MESSAGES, bytes: DEFAULT_WINDOW_BYTES } */
  window?: { messages: number; bytes: number };
  /** @default DEFAULT_RESEND_AFTER_MS */
  resendAfterMs?: number;
  /** Milliseconds, never decreasing. @default performance.now */
  now?: () => number;
  /** A state from `save()`: restores it, and resends its whole log at the next drain. */
  state?: EndpointState;
}

export interface EndpointStats {
  /** Messages put on the wire for the first time. */
  sent: number;
  /** Messages put on the wire again (timeout, `resendAll`, restore). */
  resent: number;
  /** New messages accepted into the receive buffer. */
  received: number;
  /** Messages taken by the program. */
  delivered: number;
  /** Messages already delivered or buffered: discarded and acked again. */
  duplicates: number;
  /** Log entries freed by an ack. */
  acked: number;
  /** Messages beyond the receive window: dropped without an ack. */
  outOfWindow: number;
  /** Frames of another epoch: ignored. */
  stale: number;
  /** Frames not addressed to this rank or naming no valid channel: ignored. */
  rejected: number;
}

/** What the fullest channel holds now (for monitoring and tests). */
export interface ChannelUsage {
  unacked: number;
  unackedBytes: number;
  buffered: number;
}

interface Outgoing {
  readonly key: number;
  readonly tag: number;
  readonly to: number;
  readonly seq: number;
  readonly payload: Uint8Array;
  /** When it last went out; undefined before its first drain. */
  sentAt: number | undefined;
  /** Times on the wire, counting the sends of the incarnation it was restored from as one. */
  sends: number;
  /** Waiting in `unsent` for the next drain. */
  queued: boolean;
  /** Acked: gone from the log. */
  done: boolean;
}

interface SendChannel {
  nextSeq: number;
  /** By seq, in increasing order (insertion order). */
  readonly log: Map<number, Outgoing>;
  bytes: number;
}

interface ReceiveChannel {
  nextExpected: number;
  readonly buffered: Map<number, Uint8Array>;
}

// A channel key: the peer and the tag in one number.
const channelKey = (peer: number, tag: number) => peer * (MAX_TAG + 1) + tag;

// Resend timers are a FIFO of (channel, seq, when sent), in time order because sends are. A later send or an
// ack makes an item dead; dead items are dropped lazily. Items name the entry rather than hold it, so an acked
// payload is not kept alive until its timer would have fired.
interface TimerItem {
  readonly key: number;
  readonly seq: number;
  readonly at: number;
}

function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${what}: expected an integer in ${min}..${max}, got ${value}`);
}

export class Endpoint {
  readonly rank: number;
  readonly size: number;
  readonly epoch: number;
  readonly window: { readonly messages: number; readonly bytes: number };
  readonly resendAfterMs: number;
  readonly stats: Readonly<EndpointStats>;

  private readonly counters: EndpointStats = { sent: 0, resent: 0, received: 0, delivered: 0, duplicates: 0, acked: 0, outOfWindow: 0, stale: 0, rejected: 0 };
  private readonly now: () => number;
  private readonly sending = new Map<number, SendChannel>();
  private readonly receiving = new Map<number, ReceiveChannel>();
  private unsent: Outgoing[] = [];
  private timers: TimerItem[] = [];
  private timersHead = 0;
  private readonly acks = new Map<string, Frame>();
  private logSize = 0;

  constructor(options: EndpointOptions) {
    checkInteger(options.size, 1, MAX_RANKS, 'size');
    checkInteger(options.rank, 0, options.size - 1, 'rank');
    checkInteger(options.epoch, 0, 0xffff_ffff, 'epoch');
    const window = options.window ?? { messages: DEFAULT_WINDOW_MESSAGES, bytes: DEFAULT_WINDOW_BYTES };
    checkInteger(window.messages, 1, 2 ** 30, 'window.messages');
    checkInteger(window.bytes, 1, 2 ** 40, 'window.bytes');
    const resendAfterMs = options.resendAfterMs ?? DEFAULT_RESEND_AFTER_MS;
    if (!(resendAfterMs >= 0)) throw new RangeError(`resendAfterMs: expected a duration ≥ 0, got ${resendAfterMs}`);
    this.rank = options.rank;
    this.size = options.size;
    this.epoch = options.epoch;
    this.window = { messages: window.messages, bytes: window.bytes };
    this.resendAfterMs = resendAfterMs;
    this.now = options.now ?? (() => performance.now());
    this.stats = this.counters;
    if (options.state !== undefined) this.restore(parseEndpointState(options.state, this.rank, this.size));
  }

  /**
   * Queues a copy of `payload` for `to` on channel `tag`. False when the
   * channel's window is full: receive acks (`receive`) and try again.
   */
  send(to: number, tag: number, payload: Uint8Array): boolean {
    checkInteger(to, 0, this.size - 1, 'to');
    checkInteger(tag, 0, MAX_TAG, 'tag');
    if (payload.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`a message holds at most ${MAX_MESSAGE_BYTES} bytes, got ${payload.byteLength}`);
    const key = channelKey(to, tag);
    let channel = this.sending.get(key);
    if (!channel) this.sending.set(key, (channel = { nextSeq: 1, log: new Map(), bytes: 0 }));
    if (channel.log.size > 0) {
      const oldest = channel.log.keys().next().value!;
      if (channel.nextSeq >= oldest + this.window.messages) return false;
      if (channel.bytes + payload.byteLength > this.window.bytes) return false;
    }
    this.append(channel, to, tag, channel.nextSeq++, payload.slice(), 0);
    return true;
  }

  /** The next in-order message from `from` on `tag`, if it has arrived; it is removed from the buffer. */
  take(from: number, tag: number): Uint8Array | undefined {
    const channel = this.receiving.get(channelKey(from, tag));
    const payload = channel?.buffered.get(channel.nextExpected);
    if (!channel || !payload) return undefined;
    channel.buffered.delete(channel.nextExpected++);
    this.counters.delivered++;
    return payload;
  }

  /** Handles one incoming frame (a msg or an ack for this rank). */
  receive(frame: Frame): void {
    const valid = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
    if (frame.to !== this.rank || !valid(frame.from, this.size - 1) || !valid(frame.tag, MAX_TAG) || !(Number.isInteger(frame.seq) && frame.seq >= 1)) {
      this.counters.rejected++;
      return;
    }
    if (frame.epoch !== this.epoch) {
      this.counters.stale++;
      return;
    }
    const key = channelKey(frame.from, frame.tag);
    if (frame.kind === 'ack') return this.onAck(key, frame.seq);
    if (frame.kind !== 'msg' || !frame.payload) {
      this.counters.rejected++;
      return;
    }
    let channel = this.receiving.get(key);
    if (!channel) this.receiving.set(key, (channel = { nextExpected: 1, buffered: new Map() }));
    if (frame.seq < channel.nextExpected || channel.buffered.has(frame.seq)) {
      this.counters.duplicates++;
    } else if (frame.seq >= channel.nextExpected + this.window.messages) {
      this.counters.outOfWindow++;
      return;
    } else {
      // The payload may be a view into the transport's buffer: keep a copy.
      channel.buffered.set(frame.seq, frame.payload.slice());
      this.counters.received++;
    }
    this.acks.set(`${key} ${frame.seq}`, { kind: 'ack', epoch: this.epoch, from: this.rank, to: frame.from, tag: frame.tag, seq: frame.seq });
  }

  /** What to put on the wire now: pending acks, new messages and due resends, each at most once. */
  drain(): Frame[] {
    const now = this.now();
    const frames = [...this.acks.values()];
    this.acks.clear();
    const due: Outgoing[] = [];
    while (this.timersHead < this.timers.length && this.timers[this.timersHead]!.at + this.resendAfterMs <= now) {
      const entry = this.timed(this.timers[this.timersHead++]!);
      if (!entry) continue;
      // Queued now, so a second item with the same send time (two drains in one tick) does not pick it again.
      entry.queued = true;
      due.push(entry);
    }
    this.compactTimers();
    const unsent = this.unsent;
    this.unsent = [];
    for (const entry of [...due, ...unsent]) {
      if (entry.done) continue;
      entry.queued = false;
      if (entry.sends++ === 0) this.counters.sent++;
      else this.counters.resent++;
      entry.sentAt = now;
      this.timers.push({ key: entry.key, seq: entry.seq, at: now });
      frames.push({ kind: 'msg', epoch: this.epoch, from: this.rank, to: entry.to, tag: entry.tag, seq: entry.seq, payload: entry.payload });
    }
    return frames;
  }

  /** Sends the whole log again at the next drain (after a reconnect, a restore). */
  resendAll(): void {
    for (const entry of this.unsent) entry.queued = false;
    this.unsent = [];
    for (const channel of this.sending.values()) {
      for (const entry of channel.log.values()) {
        entry.queued = true;
        this.unsent.push(entry);
      }
    }
  }

  /** The earliest time a drain has something to resend (now, if a drain is already due), or undefined. */
  nextResendAt(): number | undefined {
    if (this.unsent.some((entry) => !entry.done)) return this.now();
    while (this.timersHead < this.timers.length) {
      const item = this.timers[this.timersHead]!;
      if (this.timed(item)) return item.at + this.resendAfterMs;
      this.timersHead++;
    }
    this.compactTimers();
    return undefined;
  }

  /** Messages in the send log: sent or queued, not yet acknowledged. */
  unacked(): number {
    return this.logSize;
  }

  /** The largest per-channel send log and receive buffer right now. */
  maxChannelUsage(): ChannelUsage {
    const usage: ChannelUsage = { unacked: 0, unackedBytes: 0, buffered: 0 };
    for (const c of this.sending.values()) {
      usage.unacked = Math.max(usage.unacked, c.log.size);
      usage.unackedBytes = Math.max(usage.unackedBytes, c.bytes);
    }
    for (const c of this.receiving.values()) usage.buffered = Math.max(usage.buffered, c.buffered.size);
    return usage;
  }

  /** The send log and the receive state, as plain JSON (pending acks are not kept: a restore's resends draw them again). */
  save(): EndpointState {
    const saved = (entries: Iterable<[number, Uint8Array]>): SavedMessage[] =>
      [...entries].sort((a, b) => a[0] - b[0]).map(([seq, payload]) => ({ seq, payload: bytesToBase64(payload) }));
    const byKey = <T>(map: Map<number, T>) => [...map].sort((a, b) => a[0] - b[0]);
    return {
      version: ENDPOINT_STATE_VERSION,
      rank: this.rank,
      size: this.size,
      send: byKey(this.sending).map(([key, c]) => ({
        to: Math.floor(key / (MAX_TAG + 1)),
        tag: key % (MAX_TAG + 1),
        nextSeq: c.nextSeq,
        log: saved([...c.log.values()].map((e) => [e.seq, e.payload])),
      })),
      receive: byKey(this.receiving)
        .filter(([, c]) => c.nextExpected > 1 || c.buffered.size > 0)
        .map(([key, c]) => ({ from: Math.floor(key / (MAX_TAG + 1)), tag: key % (MAX_TAG + 1), nextExpected: c.nextExpected, buffered: saved(c.buffered) })),
    };
  }

  private append(channel: SendChannel, to: number, tag: number, seq: number, payload: Uint8Array, sends: number): void {
    const entry: Outgoing = { key: channelKey(to, tag), to, tag, seq, payload, sentAt: undefined, sends, queued: true, done: false };
    channel.log.set(seq, entry);
    channel.bytes += payload.byteLength;
    this.logSize++;
    this.unsent.push(entry);
  }

  private onAck(key: number, seq: number): void {
    const channel = this.sending.get(key);
    const entry = channel?.log.get(seq);
    if (!channel || !entry) return;
    channel.log.delete(seq);
    channel.bytes -= entry.payload.byteLength;
    entry.done = true;
    this.logSize--;
    this.counters.acked++;
  }

  /** The entry a timer item stands for, if that item is its latest send and it is neither acked nor queued (queued ones go out anyway). */
  private timed(item: TimerItem): Outgoing | undefined {
    const entry = this.sending.get(item.key)?.log.get(item.seq);
    return entry && !entry.queued && entry.sentAt === item.at ? entry : undefined;
  }

  private compactTimers(): void {
    if (this.timersHead > 1024 && this.timersHead * 2 > this.timers.length) {
      this.timers = this.timers.slice(this.timersHead);
      this.timersHead = 0;
    }
  }

  private restore(state: EndpointState): void {
    for (const c of state.send) {
      const channel: SendChannel = { nextSeq: c.nextSeq, log: new Map(), bytes: 0 };
      this.sending.set(channelKey(c.to, c.tag), channel);
      // Counted as sent once: whatever the saved incarnation did, what goes out now is a resend.
      for (const m of c.log) this.append(channel, c.to, c.tag, m.seq, base64ToBytes(m.payload), 1);
    }
    for (const c of state.receive) {
      this.receiving.set(channelKey(c.from, c.tag), { nextExpected: c.nextExpected, buffered: new Map(c.buffered.map((m) => [m.seq, base64ToBytes(m.payload)])) });
    }
  }
}
