/**
 * Property (DESIGN.md §6): ranks running deterministic programs over a network
 * that loses, duplicates, reorders and delays frames, with coordinated
 * snapshots and whole-job rollbacks at random moments, take every message of
 * every channel exactly once, in order, with its exact bytes; and neither a
 * send log nor a receive buffer ever outgrows its window. Old-epoch frames
 * stay in flight across each rollback to show they are harmless.
 *
 * Seeded: a failure names its seed; `MESSAGING_SEED=n` reruns only that one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Endpoint } from '../../client/messaging/endpoint.ts';
import type { EndpointStats } from '../../client/messaging/endpoint.ts';
import type { EndpointState } from '../../client/messaging/endpoint-state.ts';
import { decodeFrames, encodeFrames } from '../../client/messaging/frames.ts';
import type { Frame } from '../../client/messaging/frames.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEEDS = 200;
const TAGS = 2;
const MAX_PAYLOAD = 2048;
const RESEND_AFTER_MS = 100;
const MAX_TICKS = 50_000;

type Op = { kind: 'send'; to: number; tag: number } | { kind: 'take'; from: number; tag: number };

/** A rank's own state, saved with its endpoint at each snapshot: where it is, and what it sent and took. */
interface Program {
  pc: number;
  /** Messages sent, by channel (peer × TAGS + tag). */
  sent: number[];
  /** The n of each message taken, by channel, in the order taken. */
  taken: number[][];
}

/** Message n of (from, to, tag): a length in 0..2 KiB and bytes, both fixed by the four numbers. */
function content(from: number, to: number, tag: number, n: number): Uint8Array {
  const random = seededRandom((((from * 64 + to) * TAGS + tag) * 1_000_003 + n) >>> 0);
  const out = new Uint8Array(Math.floor(random() * (MAX_PAYLOAD + 1)));
  let x = Math.floor(random() * 2 ** 32);
  for (let i = 0; i < out.length; i++) out[i] = (x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0) >>> 24;
  return out;
}

/**
 * Each rank's program is its projection of one global list of transfers: the
 * sender's op is "send", the receiver's "take", both in list order. Any
 * transfer can complete once all earlier ones have, so no schedule deadlocks.
 */
function programs(random: () => number, size: number, transfers: number): Op[][] {
  const ops: Op[][] = Array.from({ length: size }, () => []);
  for (let i = 0; i < transfers; i++) {
    const from = Math.floor(random() * size);
    const to = (from + 1 + Math.floor(random() * (size - 1))) % size;
    const tag = random() < 0.8 ? 0 : 1;
    ops[from]!.push({ kind: 'send', to, tag });
    ops[to]!.push({ kind: 'take', from, tag });
  }
  return ops;
}

/** Runs ops until one blocks (window full, message not there yet) or `budget` ran. */
function step(rank: number, endpoint: Endpoint, program: Program, ops: readonly Op[], budget: number): void {
  for (; budget > 0 && program.pc < ops.length; budget--) {
    const op = ops[program.pc]!;
    if (op.kind === 'send') {
      const channel = op.to * TAGS + op.tag;
      if (!endpoint.send(op.to, op.tag, content(rank, op.to, op.tag, program.sent[channel]! + 1))) return;
      program.sent[channel]!++;
    } else {
      const payload = endpoint.take(op.from, op.tag);
      if (!payload) return;
      const taken = program.taken[op.from * TAGS + op.tag]!;
      const n = taken.length + 1;
      assert.deepEqual(payload, content(op.from, rank, op.tag, n), `rank ${rank} took the wrong bytes as message ${n} from ${op.from} tag ${op.tag}`);
      taken.push(n);
    }
    program.pc++;
  }
}

interface Packet {
  at: number;
  to: number;
  bytes: Uint8Array;
}

type Totals = Omit<EndpointStats, 'rejected'> & { rollbacks: number; snapshots: number; ticks: number };

function addStats(totals: Totals, stats: EndpointStats): void {
  for (const key of ['sent', 'resent', 'received', 'delivered', 'duplicates', 'acked', 'outOfWindow', 'stale'] as const) totals[key] += stats[key];
  assert.equal(stats.rejected, 0, 'no frame is ever misrouted here');
}

function simulate(seed: number, totals: Totals): void {
  const random = seededRandom(seed);
  const chance = (p: number) => random() < p;
  const below = (n: number) => Math.floor(random() * n);
  const size = 3 + below(2);
  const window = { messages: [1, 2, 4, 8, 64][below(5)]!, bytes: [3000, 8192, 1 << 20][below(3)]! };
  const loss = random() * 0.3;
  const duplication = random() * 0.2;
  const ops = programs(random, size, 30 + below(120));
  let clock = 0;
  let epoch = 0;
  const make = (rank: number, state?: EndpointState) => new Endpoint({ rank, size, epoch, window, resendAfterMs: RESEND_AFTER_MS, now: () => clock, state });
  let endpoints = Array.from({ length: size }, (_, rank) => make(rank));
  let running: Program[] = Array.from({ length: size }, () => ({ pc: 0, sent: new Array(size * TAGS).fill(0), taken: Array.from({ length: size * TAGS }, () => []) }));
  // The start is the first recovery line, as a job's first checkpoint would be.
  let snapshot = { states: endpoints.map((e) => e.save()), programs: structuredClone(running) };
  let rollbacksLeft = below(4);
  let network: Packet[] = [];

  const transmit = (frames: Frame[]) => {
    const byPeer = new Map<number, Frame[]>();
    for (const frame of frames) {
      for (let copies = chance(duplication) ? 2 : 1; copies > 0; copies--) {
        if (chance(loss)) continue;
        const list = byPeer.get(frame.to) ?? [];
        list.splice(below(list.length + 1), 0, frame);
        byPeer.set(frame.to, list);
      }
    }
    for (const [to, list] of byPeer) {
      // Up to three packets per peer, each with its own delay: reordering within and across drains.
      for (let cut = 0; cut < list.length; ) {
        const end = chance(0.5) ? list.length : cut + 1 + below(list.length - cut);
        const delay = chance(0.05) ? 4 * RESEND_AFTER_MS * random() : 60 * random();
        network.push({ at: clock + delay, to, bytes: encodeFrames(list.slice(cut, end)) });
        cut = end;
      }
    }
  };

  for (let tick = 0; ; tick++) {
    assert.ok(tick < MAX_TICKS, `no progress after ${MAX_TICKS} ticks (pcs ${running.map((p) => p.pc)} of ${ops.map((o) => o.length)})`);
    const due = network.filter((p) => p.at <= clock);
    network = network.filter((p) => p.at > clock);
    for (const packet of due) {
      for (const frame of decodeFrames(packet.bytes)) endpoints[packet.to]!.receive(frame);
      packet.bytes.fill(0xee); // a transport reuses its buffers: payload views must not be kept
    }

    for (const rank of [...endpoints.keys()].sort(() => random() - 0.5)) {
      step(rank, endpoints[rank]!, running[rank]!, ops[rank]!, 1 + below(6));
      if (chance(0.005)) endpoints[rank]!.resendAll(); // a reconnect
      transmit(endpoints[rank]!.drain());
    }

    for (const endpoint of endpoints) {
      const usage = endpoint.maxChannelUsage();
      assert.ok(usage.unacked <= window.messages, `a send log holds ${usage.unacked} messages, window ${window.messages}`);
      assert.ok(usage.unackedBytes <= Math.max(window.bytes, MAX_PAYLOAD), `a send log holds ${usage.unackedBytes} bytes, window ${window.bytes}`);
      assert.ok(usage.unackedBytes <= window.bytes || usage.unacked === 1, 'an oversized message goes alone');
      assert.ok(usage.buffered <= window.messages, `a receive buffer holds ${usage.buffered} messages, window ${window.messages}`);
    }

    const finished = running.every((p, rank) => p.pc === ops[rank]!.length) && endpoints.every((e) => e.unacked() === 0);
    if (finished) {
      totals.ticks += tick;
      break;
    }
    if (chance(0.02)) {
      // A coordinated checkpoint: every rank at one instant, through JSON as it is stored.
      snapshot = { states: endpoints.map((e) => JSON.parse(JSON.stringify(e.save())) as EndpointState), programs: structuredClone(running) };
      totals.snapshots++;
    } else if (rollbacksLeft > 0 && chance(0.01)) {
      rollbacksLeft--;
      totals.rollbacks++;
      epoch++;
      for (const endpoint of endpoints) addStats(totals, endpoint.stats);
      endpoints = snapshot.states.map((state, rank) => make(rank, state));
      running = structuredClone(snapshot.programs);
      // Some frames of the old epoch are lost with the old incarnations, the rest still arrive, some much later.
      network = network.filter(() => chance(0.5)).map((p) => (chance(0.3) ? { ...p, at: p.at + 3 * RESEND_AFTER_MS } : p));
    }
    clock += 5 + below(20);
  }

  for (const endpoint of endpoints) addStats(totals, endpoint.stats);
  for (let to = 0; to < size; to++) {
    for (let from = 0; from < size; from++) {
      for (let tag = 0; tag < TAGS; tag++) {
        const count = ops[from]!.filter((op) => op.kind === 'send' && op.to === to && op.tag === tag).length;
        assert.equal(running[from]!.sent[to * TAGS + tag], count);
        const expected = Array.from({ length: count }, (_, i) => i + 1);
        assert.deepEqual(running[to]!.taken[from * TAGS + tag], expected, `channel ${from}→${to} tag ${tag}: taken once each, in order, none missing`);
      }
    }
  }
}

test(`${SEEDS} seeded runs over a lossy, duplicating, reordering network with rollbacks deliver exactly once, in order`, (t) => {
  const only = process.env.MESSAGING_SEED;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: SEEDS }, (_, i) => i + 1);
  const totals: Totals = { sent: 0, resent: 0, received: 0, delivered: 0, duplicates: 0, acked: 0, outOfWindow: 0, stale: 0, rollbacks: 0, snapshots: 0, ticks: 0 };
  const started = performance.now();
  for (const seed of seeds) {
    try {
      simulate(seed, totals);
    } catch (error) {
      throw new Error(`seed ${seed} (rerun with MESSAGING_SEED=${seed}): ${(error as Error).message}`, { cause: error });
    }
  }
  const elapsed = Math.round(performance.now() - started);
  t.diagnostic(`${seeds.length} seeds in ${elapsed} ms: ${JSON.stringify(totals)}`);
  if (only !== undefined) return;
  assert.ok(totals.rollbacks > 20 && totals.snapshots > 100, 'rollbacks and snapshots happened');
  assert.ok(totals.resent > 0 && totals.duplicates > 0 && totals.stale > 0, 'resends, duplicates and stale frames happened');
  assert.ok(totals.outOfWindow > 0, 'receive windows filled up (programs that lag behind their senders)');
});
