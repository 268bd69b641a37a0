/** The memory rewrite: any module's memory becomes a shared `env.memory` import; nothing else changes. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { readSections } from '../../server/programs/wasm-binary.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';

const memoryImports = (bytes: Uint8Array) =>
  WebAssembly.Module.imports(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)).filter((i) => i.kind === 'memory');

test('a defined memory becomes a shared import with a maximum; exports and code are kept', () => {
  const original = emptyCommand();
  const { bytes, memory } = shareMemory(original, 256);
  assert.deepEqual(memory, { initial: 1, maximum: 256 });
  assert.deepEqual(memoryImports(bytes), [{ module: 'env', name: 'memory', kind: 'memory' }]);
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name), ['memory', '_start']);
  const shared = new WebAssembly.Memory({ initial: 1, maximum: 256, shared: true });
  const instance = new WebAssembly.Instance(module, { env: { memory: shared } });
  assert.equal(instance.exports.memory, shared);
  assert.throws(() => new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }), 'needs a shared memory');
  const codeOf = (b: Uint8Array) => readSections(b).find((s) => s.id === 10)!.body;
  assert.deepEqual(codeOf(bytes), codeOf(original));
});

test('every committed example and fixture can be rewritten and still compiles', () => {
  const files = ['examples', 'test/fixtures'].flatMap((root) =>
    readdirSync(root)
      .map((name) => `${root}/${name}/program.wasm`)
      .filter((file) => existsSync(file)),
  );
  assert.ok(files.length >= 5);
  for (const file of files) {
    const { bytes, memory } = shareMemory(readFileSync(file), 16_384);
    assert.equal(memoryImports(bytes).length, 1, file);
    assert.ok(memory.initial >= 1 && memory.maximum <= 16_384, file);
  }
});

test('an imported memory is made shared; the declared maximum is kept when it is lower than the limit', () => {
  // (import "env" "mem" (memory 2 10)) and an empty _start
  const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const bytes = Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x01, 2, 10]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('_start'), 0x00, 0]),
    ...section(10, [1, 2, 0, 0x0b]),
  ]);
  const { bytes: rewritten, memory } = shareMemory(bytes, 100);
  assert.deepEqual(memory, { initial: 2, maximum: 10 });
  assert.deepEqual(memoryImports(rewritten), [{ module: 'env', name: 'memory', kind: 'memory' }]);
});

test('modules the grid cannot run are refused with the reason', () => {
  assert.throws(() => shareMemory(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 10), /not a WebAssembly module/);
  const noMemory = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 1, 4, 1, 0x60, 0, 0]);
  assert.throws(() => shareMemory(noMemory, 10), /no memory/);
  const big = emptyCommand();
  assert.throws(() => shareMemory(big, 0), /needs 1 memory pages/);
  assert.throws(() => shareMemory(emptyCommand().subarray(0, 20), 10), /unexpected end/);
});
