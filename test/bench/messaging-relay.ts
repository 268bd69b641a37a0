/**
 * Message throughput between 8 simulated ranks through the coordinator's
 * relay (messaging.bench.ts), three ways on the same sockets and the same job:
 *
 * - `relay`: the full message layer. Each rank has an Endpoint (default
 *   windows and resend timer) and sends 1 KiB messages to every other rank in
 *   turn until every channel's window is full; once per event-loop turn it
 *   drains, batches the frames per destination with `encodeFrames` and emits
 *   one `rank:send` per batch. Delivered batches are decoded, fed to
 *   `receive`, and the messages taken at once; acks go back the same way.
 * - `batched`: the same transport without the endpoint. Once per event-loop
 *   turn a rank makes one msg frame per message its window toward each peer
 *   allows, encodes them per destination with `encodeFrames` and emits one
 *   `rank:send` per batch, as `relay` does; receivers `decodeFrames` and
 *   count. No send log, payload copies, acks, resends or receive buffers: the
 *   seq on the wire is just a per-peer counter. Set against `relay`, it says
 *   what logging and acks cost.
 * - `raw`: bare 1 KiB payloads, one `rank:send` each, no endpoint, framing or
 *   acks; receivers just count (plain socket.io emits of the same pattern).
 *
 * So that `batched` and `raw` are the same pattern rather than an open hose
 * filling the coordinator's buffers, their senders keep as many messages in
 * flight per peer as the endpoint's window allows, reading what the peer
 * counted straight from memory (all ranks live in this process): flow
 * control with nothing on the wire. (The window reopens as a batch is
 * counted, not an ack's trip later; that head start is part of what acks
 * cost.)
 *
 * Counted: messages taken (relay) or received (batched, raw) per second,
 * summed over the ranks, after a warm-up. Between runs the senders stop and
 * everything in flight is let through, so no run starts with another's frames.
 */
import { DEFAULT_WINDOW_MESSAGES, Endpoint } from '../../client/messaging/endpoint.ts';
import { decodeFrames, encodeFrames, MessageTag } from '../../client/messaging/frames.ts';
import type { Frame } from '../../client/messaging/frames.ts';
import type { SimulatedRank } from './messaging-ranks.ts';

export type RelayMode = 'raw' | 'batched' | 'relay';
type Batching = Exclude<RelayMode, 'raw'>;

const PAYLOAD = new Uint8Array(1024).fill(7);
const TAG = MessageTag.program;
/** How often due resends are looked for (the endpoint's timer is only a deadline; something must drain). */
const RESEND_TICK_MS = 50;
const QUIESCE_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class BenchRank {
  readonly endpoint: Endpoint;
  /** Messages taken (relay) or received (batched, raw), all runs together. */
  taken = 0;
  sending = false;
  /** Batched and raw: messages sent to each peer, and received from each. */
  readonly sentTo: number[];
  readonly receivedFrom: number[];
  /** Batched and relay: `rank:send` batches emitted and msg frames in them. */
  readonly batches: Record<Batching, number> = { batched: 0, relay: 0 };
  readonly msgFrames: Record<Batching, number> = { batched: 0, relay: 0 };
  #scheduled = false;

  constructor(
    readonly sim: SimulatedRank,
    private readonly group: RelayGroup,
  ) {
    const { rank, ranks, coupled } = sim.task;
    this.endpoint = new Endpoint({ rank, size: ranks, epoch: coupled?.epoch ?? 0 });
    this.sentTo = new Array<number>(ranks).fill(0);
    this.receivedFrom = new Array<number>(ranks).fill(0);
    sim.volunteer.socket.on('rank:deliver', ({ from, data }) => this.#delivered(from, data));
  }

  get rank(): number {
    return this.sim.task.rank;
  }

  /** One pump per event-loop turn, after every delivery of that turn was taken in. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.group.mode === 'relay') this.#pumpRelay();
      else if (this.group.mode === 'batched') this.#pumpBatched();
      else this.#pumpRaw();
    });
  }

  /** Batched and raw: messages sent to peers and not yet counted by them. */
  inFlight(): number {
    return this.sentTo.reduce((sum, sent, peer) => sum + sent - (this.group.ranks[peer]?.receivedFrom[this.rank] ?? 0), 0);
  }

  #delivered(from: number, data: Uint8Array): void {
    if (this.group.mode === 'raw') {
      this.receivedFrom[from]!++;
      this.taken++;
      this.group.ranks[from]?.schedule(); // its window toward us just opened
      return;
    }
    if (this.group.mode === 'batched') {
      let count = 0;
      for (const frame of decodeFrames(data)) if (frame.kind === 'msg') count++;
      this.receivedFrom[from]! += count;
      this.taken += count;
      this.group.ranks[from]?.schedule();
      return;
    }
    for (const frame of decodeFrames(data)) this.endpoint.receive(frame);
    while (this.endpoint.take(from, TAG)) this.taken++;
    this.schedule();
  }

  #peers(): number[] {
    const { ranks } = this.sim.task;
    return Array.from({ length: ranks - 1 }, (_, i) => (this.rank + 1 + i) % ranks);
  }

  #window(peer: number): number {
    return DEFAULT_WINDOW_MESSAGES - (this.sentTo[peer]! - this.group.ranks[peer]!.receivedFrom[this.rank]!);
  }

  #emit(to: number, data: Uint8Array): void {
    const { taskId, lease } = this.sim.task;
    this.sim.volunteer.socket.emit('rank:send', { taskId, lease, to, data });
  }

  #pumpRelay(): void {
    if (this.sending) {
      const peers = this.#peers();
      for (let progress = true; progress; ) {
        progress = false;
        for (const peer of peers) progress = this.endpoint.send(peer, TAG, PAYLOAD) || progress;
      }
    }
    const byPeer = new Map<number, Frame[]>();
    for (const frame of this.endpoint.drain()) {
      const list = byPeer.get(frame.to);
      if (list) list.push(frame);
      else byPeer.set(frame.to, [frame]);
    }
    for (const [to, frames] of byPeer) {
      this.batches.relay++;
      this.msgFrames.relay += frames.filter((f) => f.kind === 'msg').length;
      this.#emit(to, encodeFrames(frames));
    }
  }

  /** What `relay` puts on the wire each turn, less its acks: as many msg frames per peer as the window allows, one batch per peer. */
  #pumpBatched(): void {
    if (!this.sending) return;
    const { rank } = this;
    const epoch = this.sim.task.coupled?.epoch ?? 0;
    for (const peer of this.#peers()) {
      const room = this.#window(peer);
      if (room <= 0) continue;
      const frames: Frame[] = [];
      for (let i = 0; i < room; i++) frames.push({ kind: 'msg', epoch, from: rank, to: peer, tag: TAG, seq: ++this.sentTo[peer]!, payload: PAYLOAD });
      this.batches.batched++;
      this.msgFrames.batched += room;
      this.#emit(peer, encodeFrames(frames));
    }
  }

  #pumpRaw(): void {
    if (!this.sending) return;
    const peers = this.#peers();
    for (let progress = true; progress; ) {
      progress = false;
      for (const peer of peers) {
        if (this.#window(peer) <= 0) continue;
        this.sentTo[peer]!++;
        this.#emit(peer, PAYLOAD);
        progress = true;
      }
    }
  }
}

export class RelayGroup {
  mode: RelayMode = 'raw';
  readonly ranks: BenchRank[];
  readonly #ticker: ReturnType<typeof setInterval>;

  constructor(sims: readonly SimulatedRank[]) {
    this.ranks = sims.map((sim) => new BenchRank(sim, this));
    this.#ticker = setInterval(() => {
      if (this.mode === 'relay') for (const r of this.ranks) r.schedule();
    }, RESEND_TICK_MS);
  }

  /** One run: messages a second over `measureMs`, after `warmupMs` of the same traffic. */
  async run(mode: RelayMode, warmupMs: number, measureMs: number): Promise<number> {
    this.mode = mode;
    for (const r of this.ranks) {
      r.sending = true;
      r.schedule();
    }
    await sleep(warmupMs);
    const before = this.#taken();
    const startedAt = performance.now();
    await sleep(measureMs);
    const count = this.#taken() - before;
    const seconds = (performance.now() - startedAt) / 1000;
    for (const r of this.ranks) r.sending = false;
    await this.#quiesce();
    return count / seconds;
  }

  /** What the endpoints counted over every relay run, summed, and the mean messages per `rank:send` batch of relay and batched runs. */
  relayStats(): { resent: number; duplicates: number; outOfWindow: number; msgsPerBatch: Record<Batching, number> } {
    const sum = (f: (r: BenchRank) => number) => this.ranks.reduce((n, r) => n + f(r), 0);
    const perBatch = (mode: Batching) => sum((r) => r.msgFrames[mode]) / Math.max(1, sum((r) => r.batches[mode]));
    return {
      resent: sum((r) => r.endpoint.stats.resent),
      duplicates: sum((r) => r.endpoint.stats.duplicates),
      outOfWindow: sum((r) => r.endpoint.stats.outOfWindow),
      msgsPerBatch: { batched: perBatch('batched'), relay: perBatch('relay') },
    };
  }

  close(): void {
    clearInterval(this.#ticker);
  }

  #taken(): number {
    return this.ranks.reduce((n, r) => n + r.taken, 0);
  }

  async #quiesce(): Promise<void> {
    const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
    const busy = () => this.ranks.some((r) => (this.mode === 'relay' ? r.endpoint.unacked() > 0 : r.inFlight() > 0));
    while (busy()) {
      if (Date.now() > deadline) throw new Error(`${this.mode}: messages still in flight ${QUIESCE_TIMEOUT_MS} ms after the senders stopped`);
      await sleep(20);
    }
    await sleep(100); // the last acks' own deliveries
  }
}
