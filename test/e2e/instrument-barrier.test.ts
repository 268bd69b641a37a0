/**
 * The write barrier of instrumented programs (issue 4), in Chromium, which
 * has the multi-memory the barrier's tracker memory needs: the marks are
 * exactly the pages a store writes (every width, straddling stores, bulk and
 * atomic writes); and fully instrumented fixtures, checkpointed at random
 * times from another thread, have every changed page marked in its interval,
 * produce node:wasi's output byte for byte, and resume from their
 * checkpoints in fresh instances.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, afterEach, test } from 'node:test';
import binaryen from 'binaryen';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { openInstrumentPage } from '../helpers/instrument-page.ts';
import type { InstrumentPage } from '../helpers/instrument-page.ts';
import { runInNodeWasi } from '../fixtures/runtime-harness.ts';

const MAX_PAGES = 1024;
let page: InstrumentPage;

before(async () => {
  page = await openInstrumentPage();
  assert.equal(await page.call('isolated'), true, 'the page can share memory');
});
afterEach((t) => {
  if ((t as { passed?: boolean }).passed === false) console.error(`\n--- what the page logged ---\n${page.log}\n---\n`);
});
after(() => page?.close());

const STORES = `(module
  (import "env" "memory" (memory 4 4 shared))
  (data $seg "0123456789abcdef0123456789abcdef")
  (func (export "i32_store8") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "i32_store16") (param i32) (i32.store16 (local.get 0) (i32.const 1)))
  (func (export "i32_store") (param i32) (i32.store (local.get 0) (i32.const 1)))
  (func (export "i64_store") (param i32) (i64.store (local.get 0) (i64.const 1)))
  (func (export "f64_store_offset") (param i32) (f64.store offset=4096 (local.get 0) (f64.const 1)))
  (func (export "i64_store32") (param i32) (i64.store32 (local.get 0) (i64.const 1)))
  (func (export "atomic_store") (param i32) (i32.atomic.store (local.get 0) (i32.const 1)))
  (func (export "atomic_rmw") (param i32) (drop (i64.atomic.rmw.add (local.get 0) (i64.const 1))))
  (func (export "cmpxchg") (param i32) (drop (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 0) (i32.const 1))))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 7) (local.get 1)))
  (func (export "copy") (param i32 i32) (memory.copy (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "init") (param i32 i32) (memory.init $seg (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "nested") (param i32 i32) (i32.store (local.get 0) (block (result i32) (i32.store (local.get 1) (i32.const 2)) (i32.const 3))))
  (func (export "_start")))`;

test('the barrier marks exactly the pages each kind of write touches, both pages of a straddling one', async () => {
  const module = binaryen.parseText(STORES);
  module.setFeatures(binaryen.Features.MVP | binaryen.Features.Atomics | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.MutableGlobals);
  const wasm = module.emitBinary();
  module.dispose();
  const { bytes } = instrumentProgram(wasm, { polls: false });
  const P = 4096;
  const cases: { fn: string; args: number[]; pages: number[] }[] = [
    { fn: 'i32_store8', args: [P * 3 + 5], pages: [3] },
    { fn: 'i32_store16', args: [P - 1], pages: [0, 1] },
    { fn: 'i32_store', args: [P * 2 - 2], pages: [1, 2] },
    { fn: 'i32_store', args: [P * 2 - 4], pages: [1] },
    { fn: 'i64_store', args: [P * 5 - 4], pages: [4, 5] },
    { fn: 'i64_store', args: [P * 5], pages: [5] },
    // f64.store offset=4096 at 6P - 4 writes [7P - 4, 7P + 4).
    { fn: 'f64_store_offset', args: [P * 6 - 4], pages: [6, 7] },
    { fn: 'i64_store32', args: [P * 8 - 1], pages: [7, 8] },
    { fn: 'atomic_store', args: [P * 9], pages: [9] },
    { fn: 'atomic_rmw', args: [P * 10 + 8], pages: [10] },
    { fn: 'cmpxchg', args: [P * 11 + 4], pages: [11] },
    { fn: 'fill', args: [P * 12 + 100, P * 3], pages: [12, 13, 14, 15] },
    { fn: 'fill', args: [P * 12, 0], pages: [] },
    { fn: 'copy', args: [P * 20 - 1, 2], pages: [19, 20] },
    { fn: 'init', args: [P * 30 - 10, 16], pages: [29, 30] },
    { fn: 'nested', args: [P * 40, P * 50], pages: [40, 50] },
  ];
  const marks = await page.call('marksOf', [...bytes], cases, P);
  for (const [i, c] of cases.entries()) assert.deepEqual(marks[i], c.pages, `${c.fn}(${c.args.join(', ')})`);
});

for (const name of ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout']) {
  test(`${name}: fully instrumented, checkpointed at random times, every changed page is marked and every checkpoint resumes`, async (t) => {
    const original = readFileSync(new URL(`../fixtures/ckpt/${name}/program.wasm`, import.meta.url));
    const reference = runInNodeWasi(original, [name]);
    assert.equal(reference.trap, undefined, `${name} runs to its end in node:wasi`);
    const { bytes, memory } = shareMemory(original, MAX_PAGES);
    const { bytes: instrumented } = instrumentProgram(bytes);
    for (const pageSize of [4096, 16384]) {
      const r = await page.call('barrierRun', { wasm: [...instrumented], argv: [name], pageSize, initialPages: memory.initial, maxPages: MAX_PAGES, requestEveryMs: 2, keep: 4 });
      const label = `${name} at ${pageSize}-byte pages (${r.checkpoints} checkpoints, ${r.changed} changed pages, ${r.extra} marked but unchanged)`;
      t.diagnostic(label);
      const text = (s: Uint8Array) => Buffer.from(s).toString('latin1');
      assert.equal(r.stdout, text(reference.stdout), `${label}: stdout`);
      assert.equal(r.stderr, text(reference.stderr), `${label}: stderr`);
      assert.equal(r.exitCode, reference.exitCode);
      assert.ok(r.checkpoints >= 1, label);
      assert.deepEqual(r.missing, [], `${label}: changed pages the barrier did not mark`);
      for (const { output, state } of r.resumed) {
        assert.equal(text(reference.stdout.subarray(0, state.output.stdout)) + output.stdout, text(reference.stdout), `${label}: resumed stdout`);
        assert.equal(text(reference.stderr.subarray(0, state.output.stderr)) + output.stderr, text(reference.stderr), `${label}: resumed stderr`);
        assert.equal(output.exitCode, reference.exitCode);
      }
    }
  });
}
