/**
 * Transparent checkpoints of unmodified programs (issue 4), in Node: each
 * fixture is instrumented with polls and Asyncify (no barrier: Node 20 has no
 * multi-memory), checkpointed at the first poll, at random polls spread over
 * the run and during the exit-time flush, and every checkpoint is resumed in
 * a fresh instance from a copy of its memory. Every run's stdout, stderr and
 * exit code must equal node:wasi's uninterrupted run, byte for byte; resumed
 * runs after the bytes the checkpoint had already written.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { runFresh, runResumed, spreadGaps } from '../helpers/checkpointable-runs.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import type { RunResult, RunSetup, Snapshot } from '../helpers/checkpointable-runs.ts';
import { runInNodeWasi } from '../fixtures/runtime-harness.ts';

type ReferenceRun = ReturnType<typeof runInNodeWasi>;

const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'] as const;
const MAX_PAGES = 1024;

function load(name: string): { setup: RunSetup; initialPages: number; reference: ReferenceRun } {
  const original = readFileSync(new URL(`../fixtures/ckpt/${name}/program.wasm`, import.meta.url));
  const { bytes, memory } = shareMemory(original, MAX_PAGES);
  const { bytes: instrumented } = instrumentProgram(bytes, { barrier: false, request: 'global' });
  const module = new WebAssembly.Module(instrumented as Uint8Array<ArrayBuffer>);
  const reference = runInNodeWasi(original, [name]);
  assert.equal(reference.trap, undefined, `${name} runs to its end in node:wasi`);
  return { setup: { module, argv: [name], maximumPages: MAX_PAGES }, initialPages: memory.initial, reference };
}

/*
 * Each run instantiates a fresh shared memory, and V8 reserves a large guarded
 * address range for every wasm memory, freed only when it is collected. With a
 * small JS heap nothing triggers that collection, and after ~100 runs V8
 * aborted the process (SIGABRT, in about half the runs under `node --test`).
 * A real volunteer runs one program per worker, which is freed on terminate.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
afterEach(() => collectGarbage());

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** The output of a run resumed from `snapshot`, after what the checkpoint had written, must be the reference's. */
function assertResumed(reference: ReferenceRun, snapshot: Snapshot, resumed: RunResult, label: string): void {
  const { stdout, stderr } = snapshot.state.output;
  assert.equal(text(reference.stdout.subarray(0, stdout)) + text(resumed.stdout), text(reference.stdout), `${label}: stdout`);
  assert.equal(text(reference.stderr.subarray(0, stderr)) + text(resumed.stderr), text(reference.stderr), `${label}: stderr`);
  assert.equal(resumed.exitCode, reference.exitCode, `${label}: exit code`);
}

for (const name of FIXTURES) {
  test(`${name}: checkpoints anywhere change nothing, and every checkpoint resumes in a fresh instance`, async () => {
    const { setup, initialPages, reference } = load(name);
    const random = seededRandom(name.length * 7919 + 1);
    const run = await runFresh(setup, initialPages, { gaps: spreadGaps(random, 11), afterWrite: true });
    assert.equal(text(run.stdout), text(reference.stdout), 'stdout with checkpoints');
    assert.equal(text(run.stderr), text(reference.stderr), 'stderr with checkpoints');
    assert.equal(run.exitCode, reference.exitCode);
    assert.ok(run.snapshots.length >= 4, `${run.snapshots.length} checkpoints taken`);
    for (const [i, snapshot] of run.snapshots.entries()) {
      const { state } = snapshot;
      assert.equal(state.unwind.address, (state.memoryPages - state.reservedPages) * 65536, 'the unwind data sits in the reserved top pages');
      assertResumed(reference, snapshot, await runResumed(setup, snapshot, { gaps: [] }), `resumed from checkpoint ${i}`);
    }
    // A chain: resume the middle checkpoint, checkpoint the resumed run, resume that.
    const middle = run.snapshots[run.snapshots.length >> 1]!;
    const second = await runResumed(setup, middle, { gaps: [1, 1 + Math.floor(random() * 5000)] });
    assertResumed(reference, middle, second, 'resumed run with its own checkpoints');
    for (const snapshot of second.snapshots) assertResumed(reference, snapshot, await runResumed(setup, snapshot, { gaps: [] }), 'resumed from a resumed run');
  });
}

test('grow: memory grown after a checkpoint is in later checkpoints; the unwind pages are reserved once and reused', async () => {
  const { setup, initialPages } = load('grow');
  const run = await runFresh(setup, initialPages, { gaps: [1, 20_000, 100_000, 200_000, 400_000] });
  const pages = run.snapshots.map((s) => s.state.memoryPages);
  assert.ok(pages.at(-1)! > pages[0]!, `memory grew between checkpoints: ${pages.join(', ')}`);
  assert.ok(run.snapshots.every((s) => s.state.reservedPages === run.snapshots[0]!.state.reservedPages), 'the reservation is made once and reused');
});
