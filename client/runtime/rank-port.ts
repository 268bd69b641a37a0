/**
 * A rank's messaging inside its compute worker (API.md `grid.send`,
 * `grid.recv`, `grid.barrier`; DESIGN.md §6; claims 50, 57–61, 76–80).
 *
 * The message layer (client/messaging/endpoint.ts) lives here, beside the
 * program, so its state is captured at the very instant the program stops
 * for a checkpoint: the send log and the receive state go into the
 * checkpoint with the memory (`save`), and a resumed rank starts from them
 * and resends its log. The page only moves bytes, through two shared rings:
 * frames arrive through one (the program may be blocked in `Atomics.wait`
 * and could not take a postMessage), and leave through the other (a
 * postMessage per batch would queue a reply the blocked worker never reads).
 *
 * Every blocking call is a safepoint: while it waits, `suspendHere()` may
 * begin a pending checkpoint (the program's stack unwinds through the call,
 * which returns at once and is called again by the rewind), so a coordinated
 * checkpoint reaches a rank that waits for a message. Nothing a blocking call
 * has done before it suspends is lost or done twice: `recv` takes nothing
 * until it returns, `send` queues nothing until the window has room, and a
 * barrier's progress is part of the saved state.
 *
 * After each coordinated checkpoint the rank waits at the gate until the
 * round's barrier opens (`awaitRelease`), and processes no frame meanwhile:
 * acking a message after its own checkpoint and before the sender's could
 * free it from the sender's log while no checkpoint holds it.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { MAX_RELAY_BYTES } from '../../shared/limits.ts';
import { Endpoint } from '../messaging/endpoint.ts';
import { parseEndpointState } from '../messaging/endpoint-state.ts';
import type { EndpointState } from '../messaging/endpoint-state.ts';
import { MessageTag, decodeFrames, encodeFrames } from '../messaging/frames.ts';
import type { Frame } from '../messaging/frames.ts';
import { SharedRing } from '../messaging/shared-ring.ts';
import { TaskError } from './task-error.ts';
import { liveness } from './liveness.ts';

/** What the page hands a rank's compute worker. */
export interface RankChannels {
  /** The job's rollback count: frames of other epochs are stale. */
  epoch: number;
  /** SharedRing of encoded frame batches from the other ranks. */
  inbound: SharedArrayBuffer;
  /** SharedRing of outgoing batches, each prefixed with the destination rank (u16, little-endian): `outboundRecord`. */
  outbound: SharedArrayBuffer;
  /** Int32 words GATE_SUSPENDED and GATE_RELEASED (awaitRelease). */
  gate: SharedArrayBuffer;
}

export const GATE_SUSPENDED = 0;
export const GATE_RELEASED = 1;
export const GATE_BYTES = 8;

/** What a rank's checkpoint holds besides the memory. */
export type RankState = { endpoint: EndpointState; barrierStep: number };

/** Message-layer counters since the last report. */
export interface MessageCounts {
  sent: number;
  resent: number;
  discarded: number;
}

/** Begins a pending checkpoint here if one may begin; true when it did (return at once). */
export type SuspendHere = () => boolean;

export interface RankPortOptions {
  rank: number;
  size: number;
  channels: RankChannels;
  /** Message-layer counters since the last report, about once a second. */
  stats: (delta: MessageCounts) => void;
  /** The rank's state in the checkpoint it resumes from. */
  saved?: JsonValue;
  /** Where batches for rank `to` go. @default the outbound ring (waiting for room when it is full) */
  out?: (to: number, batch: Uint8Array) => void;
}

/** An outbound ring record: the destination rank, then the batch. */
export function outboundRecord(to: number, batch: Uint8Array): Uint8Array {
  const record = new Uint8Array(2 + batch.byteLength);
  new DataView(record.buffer).setUint16(0, to, true);
  record.set(batch, 2);
  return record;
}

/** The destination rank and the batch of an outbound ring record. */
export function readOutboundRecord(record: Uint8Array): { to: number; batch: Uint8Array } {
  return { to: new DataView(record.buffer, record.byteOffset).getUint16(0, true), batch: record.slice(2) };
}

/** Outbound room for several full windows; a record is at most MAX_RELAY_BYTES and its prefix. */
export const OUTBOUND_RING_BYTES = 8 * 1024 * 1024;

const MAX_WAIT_MS = 50;
const STATS_EVERY_MS = 1_000;
/** A finished rank waits this long at most for its last messages' acks (its job rolls back meanwhile if a peer is gone). */
const FLUSH_TIMEOUT_MS = 600_000;

export class RankPort {
  readonly #endpoint: Endpoint;
  readonly #inbound: SharedRing;
  readonly #gate: Int32Array;
  readonly #out: (to: number, batch: Uint8Array) => void;
  readonly #stats: (delta: MessageCounts) => void;
  readonly rank: number;
  readonly size: number;
  #barrierStep: number;
  #reported: MessageCounts = { sent: 0, resent: 0, discarded: 0 };
  #reportedAt = performance.now();

  constructor({ rank, size, channels, stats, saved, out }: RankPortOptions) {
    this.rank = rank;
    this.size = size;
    const state = saved === undefined ? undefined : asRankState(saved, rank, size);
    this.#endpoint = new Endpoint({ rank, size, epoch: channels.epoch, ...(state && { state: state.endpoint }) });
    this.#barrierStep = state?.barrierStep ?? 0;
    this.#inbound = new SharedRing(channels.inbound);
    this.#gate = new Int32Array(channels.gate);
    this.#stats = stats;
    this.#out = out ?? ringWriter(new SharedRing(channels.outbound));
    // A resumed rank resends its whole log at once (the endpoint does so after a restore).
    if (state) this.pump();
  }

  /** Queues a message to rank `to`; undefined when it suspended instead (the call is made again after the rewind). */
  send(to: number, payload: Uint8Array, suspendHere: SuspendHere, tag: number = MessageTag.program): 0 | undefined {
    this.#checkPeer(to);
    const sent = this.#block(() => this.#endpoint.send(to, tag, payload), suspendHere);
    return sent ? 0 : undefined;
  }

  /** The next message from rank `from`; undefined when it suspended instead. */
  recv(from: number, suspendHere: SuspendHere, tag: number = MessageTag.program): Uint8Array | undefined {
    this.#checkPeer(from);
    let message: Uint8Array | undefined;
    const got = this.#block(() => (message = this.#endpoint.take(from, tag)) !== undefined, suspendHere);
    return got ? message : undefined;
  }

  /** The next message from rank `from` if one has arrived (a JS step never blocks). */
  poll(from: number): Uint8Array | null {
    this.#checkPeer(from);
    this.pump();
    return this.#endpoint.take(from, MessageTag.program) ?? null;
  }

  /** Queues a message if the window has room (a JS step never blocks); false to try again later. */
  offer(to: number, payload: Uint8Array): boolean {
    this.#checkPeer(to);
    const queued = this.#endpoint.send(to, MessageTag.program, payload);
    this.pump();
    return queued;
  }

  /**
   * Waits until every rank reaches it: each sends an empty internal message
   * to rank 0, which answers them all once it has one from each. Reliable
   * messages make it survive rollbacks like any other exchange. False when it
   * suspended instead (its progress is saved, and the rewind goes on from there).
   */
  barrier(suspendHere: SuspendHere): boolean {
    const empty = new Uint8Array(0);
    const others = this.size - 1;
    for (;;) {
      const step = this.#barrierStep;
      let done: boolean;
      if (this.rank === 0) {
        if (step === 2 * others) break;
        done = step < others ? this.recv(step + 1, suspendHere, MessageTag.internal) !== undefined : this.send(step - others + 1, empty, suspendHere, MessageTag.internal) === 0;
      } else {
        if (step === 2) break;
        done = step === 0 ? this.send(0, empty, suspendHere, MessageTag.internal) === 0 : this.recv(0, suspendHere, MessageTag.internal) !== undefined;
      }
      if (!done) return false;
      this.#barrierStep = step + 1;
    }
    this.#barrierStep = 0;
    return true;
  }

  /** Moves frames: the inbound ring into the endpoint, and what the endpoint has to send out. */
  pump(): void {
    liveness.beat(); // a rank waiting for a message loops through here: alive, not hung
    for (let batch = this.#inbound.pop(); batch; batch = this.#inbound.pop()) {
      for (const frame of decodeFrames(batch)) this.#endpoint.receive(frame);
    }
    const outgoing = this.#endpoint.drain();
    if (outgoing.length > 0) this.#send(outgoing);
    if (performance.now() - this.#reportedAt >= STATS_EVERY_MS) this.reportStats();
  }

  /** The state a checkpoint of this rank holds. */
  save(): RankState {
    return { endpoint: this.#endpoint.save(), barrierStep: this.#barrierStep };
  }

  /** Counts a checkpoint just begun, before the page hears of it (so its release can never come first); answers its ticket. */
  stopped(): number {
    return Atomics.add(this.#gate, GATE_SUSPENDED, 1) + 1;
  }

  /** Waits until the page opens the gate for stop `suspension` (the round's barrier exited, or the round was abandoned). */
  awaitRelease(suspension: number): void {
    for (;;) {
      const released = Atomics.load(this.#gate, GATE_RELEASED);
      if (released >= suspension) return;
      liveness.beat();
      Atomics.wait(this.#gate, GATE_RELEASED, released, 1_000);
    }
  }

  /** The program ended: waits until every message it sent is acknowledged, so none is lost with this worker. */
  flush(): void {
    const deadline = performance.now() + FLUSH_TIMEOUT_MS;
    this.#block(() => this.#endpoint.unacked() === 0 || performance.now() > deadline, () => false);
    this.reportStats();
  }

  reportStats(): void {
    const { sent, resent, duplicates } = this.#endpoint.stats;
    const delta = { sent: sent - this.#reported.sent, resent: resent - this.#reported.resent, discarded: duplicates - this.#reported.discarded };
    this.#reported = { sent, resent, discarded: duplicates };
    this.#reportedAt = performance.now();
    if (delta.sent + delta.resent + delta.discarded > 0) this.#stats(delta);
  }

  /** Pumps until `ready()`, or until a checkpoint begins here (false). */
  #block(ready: () => boolean, suspendHere: SuspendHere): boolean {
    for (;;) {
      this.pump();
      if (ready()) {
        this.pump(); // what `ready` queued goes out now
        return true;
      }
      if (suspendHere()) return false;
      const resendAt = this.#endpoint.nextResendAt();
      const wait = resendAt === undefined ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(1, resendAt - performance.now()));
      this.#inbound.wait(wait);
    }
  }

  #send(frames: Frame[]): void {
    const byPeer = new Map<number, Frame[]>();
    for (const frame of frames) {
      const list = byPeer.get(frame.to);
      if (list) list.push(frame);
      else byPeer.set(frame.to, [frame]);
    }
    for (const [to, list] of byPeer) {
      let batch: Frame[] = [];
      let bytes = 0;
      for (const frame of list) {
        const size = (frame.payload?.byteLength ?? 0) + 64;
        if (batch.length > 0 && bytes + size > MAX_RELAY_BYTES) {
          this.#out(to, encodeFrames(batch));
          batch = [];
          bytes = 0;
        }
        batch.push(frame);
        bytes += size;
      }
      if (batch.length > 0) this.#out(to, encodeFrames(batch));
    }
  }

  #checkPeer(peer: number): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.size || peer === this.rank) {
      throw new TaskError('InvalidRank', `rank ${this.rank} of ${this.size} cannot exchange messages with rank ${peer}`);
    }
  }
}

/** Writes batches to the outbound ring, waiting while the page has not made room. */
function ringWriter(ring: SharedRing): (to: number, batch: Uint8Array) => void {
  return (to, batch) => {
    const record = outboundRecord(to, batch);
    while (!ring.push(record)) {
      liveness.beat();
      ring.waitForRoom(record.byteLength, 1_000);
    }
  };
}

function asRankState(value: JsonValue, rank: number, size: number): RankState {
  const state = value as Partial<RankState> | null;
  if (typeof state !== 'object' || state === null || !Number.isSafeInteger(state.barrierStep)) {
    throw new TaskError('InvalidCheckpoint', `not a rank's message state: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return { endpoint: parseEndpointState(state.endpoint, rank, size), barrierStep: state.barrierStep! };
}
