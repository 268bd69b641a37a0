/**
 * The compute side of a checkpointed task in Node (runtime/task-checkpoints.ts
 * with the JS runner): a checkpoint holds exactly the pages whose content
 * changed since the previous one, found by comparison; a program that
 * declares its writes (`ctx.wrote`) gets only the declared pages compared.
 * The checkpoint worker is played by the real PageScan, reading the shadow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { createShadowMemory } from '../../client/checkpoint/page-diff.ts';
import { PageScan } from '../../client/checkpoint/page-scan.ts';
import { requestCheckpoint } from '../../client/checkpoint/tracker-words.ts';
import { createTrackerMemory } from '../../client/runtime/checkpointable/tracker-memory.ts';
import type { JsContext, JsProgram } from '../../client/runtime/js-program.ts';
import { runJs } from '../../client/runtime/js-runner.ts';
import { TaskCheckpoints } from '../../client/runtime/task-checkpoints.ts';
import type { CheckpointLink } from '../../client/runtime/task-protocol.ts';
import { taskSpec } from '../fixtures/runtime-harness.ts';

const PAGE = 4096;
const MAX_PAGES = 16; // wasm pages: 1 MiB

function link(): CheckpointLink {
  const maxBytes = MAX_PAGES * 65536;
  const tracker = createTrackerMemory({ maxBytes, pageSize: PAGE });
  return {
    memory: new WebAssembly.Memory({ initial: 4, maximum: MAX_PAGES, shared: true }),
    shadow: createShadowMemory(maxBytes),
    trackerMemory: tracker.memory,
    buffers: tracker.buffers,
    channel: CheckpointChannel.create().buffer,
  };
}

/** Runs `program` for `steps` steps, a checkpoint requested at start and after each but the last (a finished program has no more safepoints); returns the pages each checkpoint held, and its bytes. */
async function checkpointsOf(program: (ctx: JsContext, step: number) => void, steps: number) {
  const l = link();
  const channel = new CheckpointChannel(l.channel);
  const saved: { seq: number; pages: number[]; state: unknown }[] = [];
  const checkpoints = new TaskCheckpoints(l, (s) => {
    // What the checkpoint worker would do: save the protected pages from the shadow, then release them.
    const pages: number[] = [];
    const scan = new PageScan(l.buffers, l.shadow!, (page) => pages.push(page));
    while (scan.step(64) !== 'done');
    scan.finish();
    saved.push({ seq: s.seq, pages, state: channel.readSuspension(s.seq).state });
  });
  let step = 0;
  const js: JsProgram = {
    init: (ctx) => program(ctx, step),
    step: (ctx) => {
      step += 1;
      program(ctx, step);
      requestCheckpoint(l.buffers.tracker);
      return step >= steps;
    },
  };
  requestCheckpoint(l.buffers.tracker);
  const outcome = await runJs(js, taskSpec({ format: 'js', memory: { initial: 4, maximum: MAX_PAGES }, checkpoint: l }), {
    output: () => {},
    progress: () => {},
    safepoint: (capture) => checkpoints.reach(capture),
    wrote: (offset, length) => checkpoints.declareWritten(offset, length),
  });
  assert.equal(outcome.exitCode, 0);
  return saved;
}

test('each checkpoint holds the pages whose content changed since the previous one, and the step count', async () => {
  const saved = await checkpointsOf((ctx, step) => {
    const bytes = new Uint8Array(ctx.memory.buffer);
    if (step === 0) bytes.fill(1, 0, 3 * PAGE); // init: pages 0–2
    if (step === 1) bytes[5 * PAGE + 7] = 9;
    if (step === 2) bytes[5 * PAGE + 7] = 9; // the same value: nothing changed
    if (step === 3) bytes[PAGE - 1] = 2; // straddles nothing: page 0 only
  }, 4);
  assert.deepEqual(
    saved.map((s) => s.pages),
    [[0, 1, 2], [5], [], [0]],
  );
  assert.deepEqual(saved.map((s) => s.seq), [1, 2, 3, 4]);
  assert.deepEqual(saved.map((s) => (s.state as { steps: number }).steps), [0, 1, 2, 3]);
});

test('a program that declares its writes gets only the declared pages compared', async () => {
  const saved = await checkpointsOf((ctx, step) => {
    const bytes = new Uint8Array(ctx.memory.buffer);
    if (step === 0) bytes.fill(1, 0, 2 * PAGE); // the first look compares everything anyway
    if (step >= 1) {
      bytes[10] = 100 + step;
      ctx.wrote(10, 1);
      bytes[7 * PAGE] = 100 + step; // not declared: a program that declares must declare everything
    }
    if (step === 3) {
      bytes[9 * PAGE] = 1;
      ctx.wrote(9 * PAGE, 1);
    }
  }, 4);
  assert.deepEqual(
    saved.map((s) => s.pages),
    [[0, 1], [0], [0], [0, 9]],
  );
});
