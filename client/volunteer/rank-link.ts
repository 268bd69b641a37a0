/**
 * The page's side of one rank of a coupled job (DESIGN.md §6): it moves the
 * rank's frames between its compute worker and the transport, and takes it
 * through the coordinator's rounds of coordinated checkpoints.
 *
 * - Frames from other ranks go into the worker's inbound ring; when the ring
 *   is full they wait here, up to WAITING_BYTES, beyond which they are
 *   dropped: the senders resend what stays unacknowledged, so a worker that
 *   does not take its messages (it waits at the gate, say) holds its senders
 *   back instead of filling the page's memory. Frames the
 *   worker sends come out of its outbound ring as soon as they are there
 *   (Atomics.waitAsync), and go to the transport.
 * - `round:checkpoint k` asks the worker for a checkpoint (and wakes it if it
 *   waits for a message); its stop is reported as `round:enter k`; the
 *   worker then waits at the gate until `round:release`. A round that is
 *   aborted or refused opens the gate too, and so does a timer when the
 *   coordinator never answers (it went away): a rank never waits forever.
 */
import { GridError } from '../../shared/errors.ts';
import { ROUND_TIMEOUT_MS } from '../../shared/limits.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { SharedRing } from '../messaging/shared-ring.ts';
import { GATE_BYTES, GATE_RELEASED, GATE_SUSPENDED, OUTBOUND_RING_BYTES, readOutboundRecord } from '../runtime/rank-port.ts';
import type { MessageCounts, RankChannels } from '../runtime/rank-port.ts';
import type { RankTransport } from './rank-transport.ts';

/** Room for several full windows of frames between the page and the worker. */
const INBOUND_RING_BYTES = 8 * 1024 * 1024;
const RETRY_MS = 5;
/** Frames waiting for room in the inbound ring, at most. */
const WAITING_BYTES = 16 * 1024 * 1024;

export class RankLink {
  readonly channels: RankChannels;
  readonly #ring: SharedRing;
  readonly #outbound: SharedRing;
  #closed = false;
  readonly #gate: Int32Array;
  /** Batches that did not fit the ring yet. */
  #waiting: Uint8Array[] = [];
  #waitingBytes = 0;
  /** Batches dropped because the worker did not make room (for the page's statistics). */
  dropped = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Rounds asked for and not yet served by a stop. */
  #rounds: number[] = [];
  /** Stops the page has heard of: the worker reports each one once, in order, so the n-th report is ticket n at the gate. */
  #stops = 0;
  #requestCheckpoint: (() => void) | undefined;
  #gateTimer: ReturnType<typeof setTimeout> | undefined;
  /** Barrier waits of this rank's coordinated checkpoints (ms), for the page's statistics. */
  readonly waits: number[] = [];

  constructor(
    private readonly task: Pick<TaskAssignment, 'taskId' | 'lease' | 'coupled'>,
    private readonly transport: RankTransport,
    /**
     * The link of rank `to` of the same job if it runs on this page too:
     * frames go to it directly, not through the coordinator (both are this
     * page's live ranks, so no lease needs checking; after a rollback both
     * are replaced, and the epoch makes anything older stale).
     */
    private readonly neighbour: (to: number) => RankLink | undefined = () => undefined,
  ) {
    const inbound = SharedRing.create(INBOUND_RING_BYTES);
    const outbound = SharedRing.create(OUTBOUND_RING_BYTES);
    const gate = new SharedArrayBuffer(GATE_BYTES);
    this.channels = { epoch: task.coupled?.epoch ?? 0, inbound, outbound, gate };
    this.#ring = new SharedRing(inbound);
    this.#outbound = new SharedRing(outbound);
    this.#gate = new Int32Array(gate);
    void this.#forwardOutbound();
  }

  /** The task's checkpointing is up: round requests can be served (those that came before are served now). */
  attach(requestCheckpoint: () => void): void {
    this.#requestCheckpoint = requestCheckpoint;
    if (this.#rounds.length > 0) this.#request();
  }

  /** Frames from another rank. */
  deliver(batch: Uint8Array): void {
    if (this.#waiting.length === 0 && this.#ring.push(batch)) return;
    if (this.#waitingBytes + batch.byteLength > WAITING_BYTES) {
      this.dropped++;
      return;
    }
    this.#waiting.push(batch);
    this.#waitingBytes += batch.byteLength;
    this.#drainLater();
  }

  stats(delta: MessageCounts): void {
    this.transport.stats(this.task, delta);
  }

  roundCheckpoint(round: number): void {
    this.#rounds.push(round);
    if (this.#requestCheckpoint) this.#request();
  }

  /**
   * The worker stopped for checkpoint `seq`. Requests coalesce, so one stop
   * may serve several rounds: it enters the newest, and the older ones were
   * aborted or will be. A stop nobody asked for is released at once. A stop
   * the gate already let go (a round was aborted between the stop and this
   * report) serves no round: its rank runs on, and a cut holding it could
   * lose the messages the rank acknowledges meanwhile. A round still asked
   * for gets a stop of its own.
   */
  suspended(seq: number): void {
    const ticket = ++this.#stops;
    if (Atomics.load(this.#gate, GATE_RELEASED) >= ticket) {
      if (this.#rounds.length > 0) this.#request();
      return;
    }
    const round = this.#rounds.length > 0 ? Math.max(...this.#rounds) : undefined;
    this.#rounds = [];
    if (round === undefined) return this.release();
    clearTimeout(this.#gateTimer);
    this.#gateTimer = setTimeout(() => this.release(), ROUND_TIMEOUT_MS * 1.5);
    this.transport.enter(this.task, round, seq).catch((error: unknown) => {
      // Refused (the round is over): run on. No answer (a timeout) proves nothing: the coordinator may have
      // recorded this stop in a round that is still filling, so the rank waits for that round's release or
      // abort, or for the gate timer.
      if (error instanceof GridError) this.release();
    });
  }

  /** Opens the gate for every stop so far (the round's barrier exited, or it was aborted). */
  release(): void {
    clearTimeout(this.#gateTimer);
    Atomics.store(this.#gate, GATE_RELEASED, Atomics.load(this.#gate, GATE_SUSPENDED));
    Atomics.notify(this.#gate, GATE_RELEASED);
  }

  close(): void {
    this.#closed = true;
    this.#outbound.wake();
    clearTimeout(this.#retry);
    this.#waiting = [];
    this.#waitingBytes = 0;
    this.release();
  }

  /** Sends what the worker puts in its outbound ring, as soon as it is there, until closed. */
  async #forwardOutbound(): Promise<void> {
    while (!this.#closed) {
      for (let record = this.#outbound.pop(); record; record = this.#outbound.pop()) {
        const { to, batch } = readOutboundRecord(record);
        const here = this.neighbour(to);
        if (here) here.deliver(batch);
        else this.transport.send(this.task, to, batch);
      }
      await this.#outbound.waitAsync(1_000);
    }
  }

  #request(): void {
    this.#requestCheckpoint?.();
    this.#ring.wake(); // a rank blocked in recv looks at the request now
  }

  #drainLater(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      while (this.#waiting.length > 0 && this.#ring.push(this.#waiting[0]!)) this.#waitingBytes -= this.#waiting.shift()!.byteLength;
      if (this.#waiting.length > 0) this.#drainLater();
    }, RETRY_MS);
  }
}
