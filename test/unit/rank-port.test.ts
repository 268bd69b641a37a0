/**
 * A rank's messaging in its compute worker (client/runtime/rank-port.ts),
 * with ranks in one thread wired by a router that moves each batch a rank
 * sends into the receiver's inbound ring, as the page and the relay do. A
 * blocking call that would wait instead "suspends" (suspendHere says yes),
 * as it does when a checkpoint is pending; the state saved then restores a
 * rank that goes on where it stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedRing } from '../../client/messaging/shared-ring.ts';
import { GATE_BYTES, RankPort, readOutboundRecord } from '../../client/runtime/rank-port.ts';
import type { RankChannels } from '../../client/runtime/rank-port.ts';

interface Wiring {
  rings: SharedRing[];
  channels: RankChannels[];
  counts: { sent: number; resent: number; discarded: number };
}

function wire(size: number, epoch = 0): Wiring {
  const channels = Array.from({ length: size }, () => ({ epoch, inbound: SharedRing.create(1 << 20), outbound: SharedRing.create(1 << 20), gate: new SharedArrayBuffer(GATE_BYTES) }));
  return { channels, rings: channels.map((c) => new SharedRing(c.inbound)), counts: { sent: 0, resent: 0, discarded: 0 } };
}

function port(w: Wiring, rank: number, saved?: unknown): RankPort {
  const add = (d: { sent: number; resent: number; discarded: number }) => {
    w.counts.sent += d.sent;
    w.counts.resent += d.resent;
    w.counts.discarded += d.discarded;
  };
  const out = (to: number, batch: Uint8Array) => assert.ok(w.rings[to]!.push(batch));
  return new RankPort({ rank, size: w.channels.length, channels: w.channels[rank]!, stats: add, out, ...(saved !== undefined && { saved: saved as never }) });
}

const suspend = () => true;
const bytes = (...values: number[]) => Uint8Array.from(values);

test('messages arrive once and in order per channel; a recv with nothing there suspends instead of waiting', () => {
  const w = wire(2);
  const [a, b] = [port(w, 0), port(w, 1)];
  assert.equal(b.recv(0, suspend), undefined, 'nothing yet: it suspends');
  for (let i = 0; i < 10; i++) assert.equal(a.send(1, bytes(i, i + 1), suspend), 0);
  for (let i = 0; i < 10; i++) assert.deepEqual([...b.recv(0, suspend)!], [i, i + 1]);
  assert.equal(b.recv(0, suspend), undefined);
  assert.throws(() => a.send(0, bytes(1), suspend), { name: 'InvalidRank' });
  assert.throws(() => a.recv(2, suspend), { name: 'InvalidRank' });
});

test('a barrier suspended halfway resumes from its checkpoint after a rollback: nobody passes early, no arrival counts twice', () => {
  const w = wire(3);
  const ranks = [port(w, 0), port(w, 1), port(w, 2)];
  // Rank 1 arrives; rank 0 takes its arrival (and acks it) but still waits for rank 2: both suspend inside the barrier.
  assert.equal(ranks[1]!.barrier(suspend), false);
  assert.equal(ranks[0]!.barrier(suspend), false);
  // A coordinated checkpoint now: rank 1 has not seen the ack yet, so its arrival is still in its log.
  const line = ranks.map((r) => JSON.parse(JSON.stringify(r.save())) as unknown);
  // The job runs on past the line, then rolls back to it (epoch 1); the old incarnation's frames stay in the rings.
  assert.equal(ranks[2]!.barrier(suspend), false);
  assert.equal(ranks[0]!.barrier(suspend), true);
  const after = wire(3, 1);
  after.rings = w.rings;
  after.channels = w.channels.map((c) => ({ ...c, epoch: 1 }));
  const again = [port(after, 0, line[0]), port(after, 1, line[1]), port(after, 2, line[2])];
  // Rank 1 resends its arrival; rank 0 already has it: a duplicate, discarded. Rank 0 waits for rank 2 again.
  assert.equal(again[0]!.barrier(suspend), false);
  assert.equal(again[1]!.barrier(suspend), false, 'rank 1 cannot pass before everybody arrived');
  assert.equal(again[2]!.barrier(suspend), false);
  assert.equal(again[0]!.barrier(suspend), true);
  assert.equal(again[1]!.barrier(suspend), true);
  assert.equal(again[2]!.barrier(suspend), true);
  for (const r of again) r.reportStats();
  assert.ok(after.counts.resent >= 1 && after.counts.discarded >= 1, JSON.stringify(after.counts));
  // The next barrier starts afresh.
  assert.equal(again[0]!.barrier(suspend), false);
});

test('the gate holds a rank after its checkpoint until the page opens it for that stop', async () => {
  const w = wire(2);
  const a = port(w, 0);
  const ticket = a.stopped();
  // Atomics.wait blocks this thread, so the page's side (open the gate for every stop so far) runs in a worker.
  const { Worker } = await import('node:worker_threads');
  const opener = new Worker(
    `const { workerData } = require('node:worker_threads'); const g = new Int32Array(workerData); setTimeout(() => { Atomics.store(g, 1, Atomics.load(g, 0)); Atomics.notify(g, 1); }, 50);`,
    { eval: true, workerData: w.channels[0]!.gate },
  );
  const started = performance.now();
  a.awaitRelease(ticket);
  assert.ok(performance.now() - started >= 40, 'it waited for the gate');
  await opener.terminate();
});

test('without a router a rank writes its batches to the outbound ring, each tagged with its destination', () => {
  const w = wire(3);
  const a = new RankPort({ rank: 0, size: 3, channels: w.channels[0]!, stats: () => {} });
  a.send(2, bytes(7, 8, 9), suspend);
  const record = new SharedRing(w.channels[0]!.outbound).pop()!;
  const { to, batch } = readOutboundRecord(record);
  assert.equal(to, 2);
  assert.ok(w.rings[2]!.push(batch));
  const c = port(w, 2);
  assert.deepEqual([...c.recv(0, suspend)!], [7, 8, 9]);
});
