/**
 * JS step programs as ranks of a coupled job (API.md: `ctx.send`,
 * `ctx.recv`): two programs in one thread, their RankPorts wired by a router
 * standing in for the page and the relay. A step never blocks: `recv` gives
 * null until a message is there and the program tries again in a later step.
 * The sum rank 1 computes from rank 0's numbers must be the sum computed here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedRing } from '../../client/messaging/shared-ring.ts';
import type { JsProgram } from '../../client/runtime/js-program.ts';
import { runJs } from '../../client/runtime/js-runner.ts';
import { GATE_BYTES, RankPort } from '../../client/runtime/rank-port.ts';
import { taskSpec } from '../fixtures/runtime-harness.ts';

const COUNT = 2_000;

/**
 * "Not yet: step me again", after a turn of the event loop. Both runners
 * share this thread, where Node's MessagePort (the runner's yield) can keep
 * serving one of them; in the browser each rank has a worker of its own.
 */
const later = () => new Promise<boolean>((resolve) => setImmediate(() => resolve(false)));

/** Rank 0 sends 1..COUNT as 8-byte floats, rank 1 adds them up and sends the total back; state lives in ctx.memory. */
const program: JsProgram = {
  init: () => {},
  step: (ctx) => {
    const state = new Float64Array(ctx.memory.buffer, 0, 2); // [next to send or received count, sum]
    if (ctx.rank === 0) {
      while (state[0]! < COUNT) {
        if (!ctx.send(1, new Uint8Array(Float64Array.of(state[0]! + 1).buffer))) return later(); // window full
        state[0]! += 1;
      }
      const total = ctx.recv(1);
      if (total === null) return later();
      ctx.print(`total ${new Float64Array(total.slice().buffer)[0]}`);
      return true;
    }
    for (let message = ctx.recv(0); message !== null; message = state[0]! < COUNT ? ctx.recv(0) : null) {
      state[1]! += new Float64Array(message.slice().buffer)[0]!;
      state[0]! += 1;
    }
    if (state[0]! < COUNT) return later();
    return ctx.send(0, new Uint8Array(Float64Array.of(state[1]!).buffer)) || later();
  },
};

test('two JS ranks exchange messages step by step, never blocking, and agree on the result', async () => {
  const channels = [0, 1].map(() => ({ epoch: 0, inbound: SharedRing.create(1 << 20), outbound: SharedRing.create(1 << 20), gate: new SharedArrayBuffer(GATE_BYTES) }));
  const rings = channels.map((c) => new SharedRing(c.inbound));
  const out = (to: number, batch: Uint8Array) => assert.ok(rings[to]!.push(batch));
  const ports = [0, 1].map((rank) => new RankPort({ rank, size: 2, channels: channels[rank]!, stats: () => {}, out }));
  const printed: string[] = [];
  const run = (rank: number) =>
    runJs(
      program,
      taskSpec({ format: 'js', rank, ranks: 2, memory: { initial: 1, maximum: 1 } }),
      { output: (_s, bytes) => printed.push(Buffer.from(bytes).toString()), progress: () => {}, port: ports[rank]! },
      { yieldIntervalMs: 1 },
    );
  const outcomes = await Promise.all([run(0), run(1)]);
  assert.deepEqual(outcomes.map((o) => o.exitCode), [0, 0]);
  assert.deepEqual(printed, [`total ${(COUNT * (COUNT + 1)) / 2}\n`]);
});
