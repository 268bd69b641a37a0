/**
 * Property: with a real writer thread racing the scanner, every checkpoint k
 * restores (checkpoints 1..k applied in order onto zero memory) to exactly the
 * memory at suspension k, which the writer copied while suspended (the oracle).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { PageScan } from '../../client/checkpoint/page-scan.ts';
import { createTrackerBuffers, readTrackerStats } from '../../client/checkpoint/tracker-words.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import { spawnWriter } from '../helpers/tracker-thread-spawn.ts';
import type { ScriptOp, ScriptRun, WriterMessage } from '../helpers/tracker-writer-thread.ts';

const PAGE = 4096;
const WASM_PAGE = 65536;
const MAX_WASM_PAGES = 2;
const MAX_BYTES = MAX_WASM_PAGES * WASM_PAGE;

type RawOp =
  | { kind: 'write'; page: number; at: number; straddle: boolean; bytes: number[] }
  | { kind: 'grow' }
  | { kind: 'safepoint' }
  | { kind: 'spin'; iterations: number };

const rawOp: fc.Arbitrary<RawOp> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('write' as const), page: fc.nat(MAX_BYTES / PAGE - 1), at: fc.nat(PAGE - 1), straddle: fc.boolean(), bytes: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'grow' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'safepoint' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('spin' as const), iterations: fc.integer({ min: 1, max: 400_000 }) }) },
);

/** Turns generated ops into a script that stays inside the memory's size at each point. */
function toScript(raw: RawOp[]): ScriptOp[] {
  let size = WASM_PAGE;
  const script: ScriptOp[] = [];
  for (const op of raw) {
    if (op.kind === 'grow') {
      if (size < MAX_BYTES) script.push(op);
      size = Math.min(MAX_BYTES, size + WASM_PAGE);
    } else if (op.kind === 'write') {
      const page = op.page % (size / PAGE);
      let offset = page * PAGE + (op.straddle ? PAGE - 1 - (op.at % 4) : op.at);
      offset = Math.min(offset, size - op.bytes.length);
      script.push({ kind: 'write', offset, bytes: op.bytes });
    } else script.push(op);
  }
  script.push({ kind: 'safepoint' });
  return script;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function run(worker: Worker, script: ScriptOp[], requestEvery: number[], budgets: number[], poolSlots: number) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_WASM_PAGES, shared: true });
  const buffers = createTrackerBuffers({ maxBytes: MAX_BYTES, pageSize: PAGE, poolSlots });
  const request = new SharedArrayBuffer(4);
  const oracles = new Map<number, Uint8Array>();
  const checkpoints = new Map<number, Map<number, Uint8Array>>();
  let done = false;
  let failure: string | undefined;
  const onMessage = (message: WriterMessage) => {
    if (message.op === 'begun' && message.k !== null) oracles.set(message.k, message.oracle!);
    else if (message.op === 'done') done = true;
    else if (message.op === 'error') failure = message.message;
  };
  const onError = (error: Error) => (failure = String(error));
  worker.on('message', onMessage).on('error', onError);
  worker.postMessage({ buffers, memory, request, script } satisfies ScriptRun);
  try {
    const words = new Int32Array(buffers.tracker);
    let scan: PageScan | undefined;
    let pages = new Map<number, Uint8Array>();
    let turn = 0;
    let sinceRequest = 0;
    while ((!done || scan || Atomics.load(words, TrackerWord.PROTECTED) !== 0) && !failure) {
      turn++;
      if (!scan && Atomics.load(words, TrackerWord.PROTECTED) !== 0) {
        pages = new Map();
        const into = pages;
        scan = new PageScan(buffers, memory, (page, bytes) => into.set(page, bytes.slice()));
      }
      if (scan && scan.step(budgets[turn % budgets.length]) === 'done') {
        const list = scan.finish();
        assert.deepEqual(list.map((p) => p.page), [...pages.keys()].sort((a, b) => a - b));
        checkpoints.set(scan.checkpoint, pages);
        scan = undefined;
      }
      if (++sinceRequest >= requestEvery[turn % requestEvery.length]!) {
        Atomics.store(new Int32Array(request), 0, 1);
        sinceRequest = 0;
      }
      await nextTurn();
    }
    assert.equal(failure, undefined);
  } finally {
    worker.off('message', onMessage).off('error', onError);
  }
  // The oracle check: checkpoints 1..k in order onto zero memory give memory at suspension k.
  const restored = new Uint8Array(MAX_BYTES);
  const ks = [...oracles.keys()].sort((a, b) => a - b);
  assert.deepEqual(ks, ks.map((_, i) => i + 1));
  for (const k of ks) {
    const saved = checkpoints.get(k);
    assert.ok(saved, `checkpoint ${k} was begun but never scanned`);
    for (const [page, bytes] of saved) restored.set(bytes, page * PAGE);
    const oracle = oracles.get(k)!;
    assert.ok(Buffer.from(restored.subarray(0, oracle.length)).equals(oracle), `checkpoint ${k} differs from memory at its suspension`);
    assert.ok(restored.subarray(oracle.length).every((b) => b === 0), `checkpoint ${k} has pages beyond memory`);
  }
  return { checkpoints: ks.length, stats: readTrackerStats(buffers.tracker) };
}

test('every checkpoint restores exactly the memory at its suspension, under racing writes', async (t) => {
  const worker = spawnWriter({ mode: 'script' });
  t.after(() => worker.terminate());
  const totals = { checkpoints: 0, cowCopies: 0, poolFullWaits: 0, savingWaits: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.array(rawOp, { minLength: 50, maxLength: 400 }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 4 }),
      async (raw, requestEvery, budgets, poolSlots) => {
        const { checkpoints, stats } = await run(worker, toScript(raw), requestEvery, budgets, poolSlots);
        totals.checkpoints += checkpoints;
        totals.cowCopies += stats.cowCopies;
        totals.poolFullWaits += stats.poolFullWaits;
        totals.savingWaits += stats.savingWaits;
      },
    ),
    { numRuns: 40 },
  );
  // The races the property is about must actually have happened.
  assert.ok(totals.checkpoints >= 10, `only ${totals.checkpoints} checkpoints`);
  assert.ok(totals.cowCopies > 0, 'no copy-on-write happened');
  t.diagnostic(`totals: ${JSON.stringify(totals)}`);
});
