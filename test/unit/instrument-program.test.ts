/**
 * The coordinator's instrumentation (issue 4): what it refuses, with the
 * InvalidProgram error the HTTP layer maps to 400, and what it adds. Modules
 * for the refusals are written in WebAssembly text and assembled by binaryen.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import binaryen from 'binaryen';
import { CKPT_SECTION } from '../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo } from '../../shared/checkpointable-abi.ts';
import { GridError } from '../../shared/errors.ts';
import { GRID_FUNCTIONS, WASI_FUNCTIONS } from '../../shared/program-imports.ts';
import { createGridImports } from '../../client/runtime/grid-imports.ts';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { seedPrng } from '../../client/runtime/wasi/prng.ts';
import { createWasiImports } from '../../client/runtime/wasi/wasi-shim.ts';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';

const MEMORY = '(import "env" "memory" (memory 1 16 shared))';

function wat(body: string): Uint8Array {
  const module = binaryen.parseText(`(module ${body})`);
  module.setFeatures(binaryen.Features.MVP | binaryen.Features.Atomics | binaryen.Features.BulkMemory | binaryen.Features.MutableGlobals);
  try {
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

function refused(bytes: Uint8Array, message: RegExp): void {
  assert.throws(
    () => instrumentProgram(bytes),
    (error: unknown) => error instanceof GridError && error.name === 'InvalidProgram' && error.status === 400 && message.test(error.message),
  );
}

test('a program that starts threads is refused, naming the import', () => {
  refused(wat(`${MEMORY} (import "wasi" "thread-spawn" (func (param i32) (result i32))) (func (export "_start"))`), /starts threads.*wasi\.thread-spawn/);
});

test('a module without _start is refused', () => {
  refused(wat(`${MEMORY} (func (export "main"))`), /no _start function/);
});

test('an import the grid does not provide is refused, naming it and counting the others', () => {
  refused(
    wat(`${MEMORY} (import "env" "getpid" (func (result i32))) (import "env" "other" (func)) (func (export "_start"))`),
    /imports env\.getpid \(function\), which the grid does not provide \(and 1 more/,
  );
  refused(wat(`${MEMORY} (import "ckpt" "safepoint" (func)) (func (export "_start"))`), /"ckpt" module is reserved/);
  refused(wat(`${MEMORY} (import "env" "g" (global i32)) (func (export "_start"))`), /env\.g \(global\)/);
});

test('exports in our namespace and wasm start functions are refused', () => {
  refused(wat(`${MEMORY} (func (export "_start")) (func (export "asyncify_start_unwind"))`), /reserved for the grid/);
  refused(wat(`${MEMORY} (func $init) (start $init) (func (export "_start"))`), /wasm start function/);
});

test('bytes that are not a module are refused', () => {
  refused(Uint8Array.from([0, 1, 2, 3]), /not a valid WebAssembly module/);
});

test('the imports the coordinator accepts are exactly what the volunteer runtime provides', () => {
  const wasi = createWasiImports({ argv: ['x'], env: {}, memory: new GuestMemory(), prng: seedPrng(1), write: () => {} });
  assert.deepEqual([...WASI_FUNCTIONS].sort(), Object.keys(wasi).sort());
  assert.deepEqual([...GRID_FUNCTIONS].sort(), Object.keys(createGridImports({ rank: 0, size: 1, progress: () => {} }, { memory: new GuestMemory(), suspendHere: () => false })).sort());
});

test('a fixture gets barriers, polls, Asyncify, the driver’s exports and its module info', () => {
  const { bytes } = shareMemory(readFileSync(new URL('../fixtures/ckpt/malloc/program.wasm', import.meta.url)), 4096);
  const { bytes: out, report, info } = instrumentProgram(bytes);
  assert.ok(report.stores > 100 && report.loopPolls > 10 && report.entryPolls === 1 && report.memoryOps === 2, JSON.stringify(report));
  assert.ok(report.outputBytes > report.inputBytes);
  const module = binaryen.readBinary(out);
  try {
    const names = Array.from({ length: module.getNumExports() }, (_, i) => binaryen.getExportInfo(module.getExportByIndex(i)).name);
    for (const name of ['_start', 'asyncify_start_unwind', 'asyncify_start_rewind', 'asyncify_stop_unwind', 'asyncify_stop_rewind', 'asyncify_get_state', 'ckpt_epoch', 'ckpt_served', 'ckpt_reserved_pages', 'ckpt_global_0']) {
      assert.ok(names.includes(name), `exports ${name}`);
    }
  } finally {
    module.dispose();
  }
  // Node 20 cannot compile multi-memory modules: read the section from the bytes of a single-memory variant.
  const polls = instrumentProgram(bytes, { barrier: false, request: 'global' });
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(polls.bytes as Uint8Array<ArrayBuffer>), CKPT_SECTION);
  const parsed = JSON.parse(new TextDecoder().decode(section)) as CkptModuleInfo;
  assert.deepEqual(parsed, polls.info);
  assert.equal(info.request, 'tracker');
  assert.deepEqual(parsed.globals, [['ckpt_global_0', 'i32']]);
  assert.ok(parsed.dataRanges.length >= 1 && parsed.dataRanges.every(([offset, length]) => offset >= 1024 && length > 0));
});
