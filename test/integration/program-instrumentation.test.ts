/**
 * Posted and built-in wasm programs are made checkpointable on the
 * coordinator (issue 4): volunteers download the instrumented module, each
 * program is instrumented once however often or concurrently it is posted and
 * across restarts, and a module we cannot instrument is a 400 that stores
 * nothing. `instrumentations` counts the runs of the real worker thread.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CHECKPOINTABLE_ABI, CKPT_SECTION } from '../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo } from '../../shared/checkpointable-abi.ts';
import type { ProgramInfo } from '../../shared/http-api.ts';
import { customSection, readSections, writeSections } from '../../server/programs/wasm-binary.ts';
import { sha256Hex } from '../../server/store/blob-store.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import type { TestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const LOOP = fixture('ckpt/loop/program.wasm');
const RECURSION = fixture('ckpt/recursion/program.wasm');

let grid: TestCoordinator;
let startMs: number;

before(async () => {
  const started = performance.now();
  grid = await startTestCoordinator(undefined, { instrumentBuiltins: true });
  startMs = performance.now() - started;
});

after(() => grid.close());

async function download(g: TestCoordinator, id: string): Promise<{ status: number; type: string | null; bytes: Uint8Array }> {
  const response = await fetch(`${g.coordinator.url}/api/programs/${id}/bytes`);
  return { status: response.status, type: response.headers.get('content-type'), bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** The instrumentation's record in the module (read without compiling: Node 20's V8 has no multi-memory). */
function moduleInfo(bytes: Uint8Array): CkptModuleInfo {
  const section = customSection(bytes, CKPT_SECTION);
  assert.ok(section, `the module has a ${CKPT_SECTION} section`);
  return JSON.parse(new TextDecoder().decode(section)) as CkptModuleInfo;
}

async function expectInstrumented(g: TestCoordinator, id: string): Promise<Uint8Array> {
  const { status, type, bytes } = await download(g, id);
  assert.equal(status, 200);
  assert.equal(type, 'application/wasm');
  const info = moduleInfo(bytes);
  assert.equal(info.abi, CHECKPOINTABLE_ABI);
  assert.ok(info.barrier && info.polls, 'write barrier and safepoint polls');
  return bytes;
}

async function wasmBuiltins(g: TestCoordinator): Promise<ProgramInfo[]> {
  return (await g.api.call<ProgramInfo[]>('GET', '/api/programs')).body.filter((p) => p.builtin && p.format === 'wasm');
}

function postWasm(g: TestCoordinator, bytes: Uint8Array, name: string) {
  return g.api.call<ProgramInfo & { error?: { name: string; message: string } }>('POST', `/api/programs?name=${name}`, bytes, {
    'Content-Type': 'application/wasm',
  });
}

/** `emptyCommand` with `_start` also made the wasm start function (section 8 goes before the code section). */
function withStartFunction(): Uint8Array {
  const sections = readSections(emptyCommand());
  const code = sections.findIndex((s) => s.id === 10);
  sections.splice(code, 0, { id: 8, body: Uint8Array.from([0]) });
  return writeSections(sections);
}

test('built-ins are instrumented in the background after a fast start; a download waits for it', async () => {
  assert.ok(startMs < 1_000, `started in ${Math.round(startMs)} ms`);
  const builtins = await wasmBuiltins(grid);
  assert.deepEqual(builtins.map((p) => p.name).sort(), ['jacobi', 'mandelbrot', 'montecarlo-pi']);
  // Right after the start: each download waits for the run in progress, or starts it, but none repeats it.
  await Promise.all(builtins.map((p) => expectInstrumented(grid, p.id)));
  for (const p of builtins) assert.equal(grid.coordinator.instrumentations.get(p.id), 1, p.name);
});

test('a posted C program is instrumented once, and volunteers download the checkpointable module', async () => {
  const posted = await grid.api.postProgram(LOOP, 'wasm', 'loop');
  assert.equal(posted.id, sha256Hex(LOOP));
  const first = await expectInstrumented(grid, posted.id);
  assert.ok(first.byteLength > LOOP.byteLength, 'the barrier, polls and Asyncify add code');

  const again = await grid.api.postProgram(LOOP, 'wasm', 'loop-again');
  assert.equal(again.id, posted.id);
  assert.deepEqual(await expectInstrumented(grid, posted.id), first);
  assert.equal(grid.coordinator.instrumentations.get(posted.id), 1, 'the second post and the downloads used the stored module');
});

test('concurrent posts of one program share one instrumentation', async () => {
  const posts = await Promise.all([1, 2, 3].map((n) => postWasm(grid, RECURSION, `recursion-${n}`)));
  assert.deepEqual(posts.map((p) => p.status), [201, 201, 201]);
  const id = sha256Hex(RECURSION);
  assert.equal(grid.coordinator.instrumentations.get(id), 1);
  await expectInstrumented(grid, id);
});

test('a module we cannot instrument is a 400 naming the reason, and nothing is stored', async () => {
  const noStart = emptyCommand();
  noStart[noStart.indexOf(0x5f)] = 0x41; // rename _start
  const cases: [string, Uint8Array, RegExp][] = [
    ['unknown-import', fixture('unknown-import/program.wasm'), /imports env\.mystery \(function\), which the grid does not provide/],
    ['no-start', noStart, /no _start function/],
    ['start-function', withStartFunction(), /wasm start function/],
  ];
  const before = (await grid.api.call<unknown[]>('GET', '/api/programs')).body.length;
  for (const [name, bytes, message] of cases) {
    const { status, body } = await postWasm(grid, bytes, name);
    assert.equal(status, 400, `${name}: ${JSON.stringify(body)}`);
    assert.equal(body.error?.name, 'InvalidProgram', name);
    assert.match(body.error?.message ?? '', message, name);
    assert.equal((await download(grid, sha256Hex(bytes))).status, 404, `${name} was not stored`);
  }
  assert.equal((await grid.api.call<unknown[]>('GET', '/api/programs')).body.length, before);
});

test('a JS program is served as posted, without instrumentation', async () => {
  const source = fixture('js-counter/program.js');
  const { id } = await grid.api.postProgram(source, 'js', 'counter');
  const { status, type, bytes } = await download(grid, id);
  assert.equal(status, 200);
  assert.match(type ?? '', /^text\/javascript/);
  assert.deepEqual(bytes, new Uint8Array(source));
  assert.equal(grid.coordinator.instrumentations.has(id), false);
});

// Last: it stops the shared coordinator.
test('a restarted coordinator serves the stored instrumented bytes, built-ins included, without instrumenting again', async () => {
  const ids = [sha256Hex(LOOP), ...(await wasmBuiltins(grid)).map((p) => p.id)];
  const before = await Promise.all(ids.map(async (id) => (await download(grid, id)).bytes));
  await grid.stop();
  const second = await startTestCoordinator(grid.dataDir, { instrumentBuiltins: true });
  try {
    for (const [i, id] of ids.entries()) assert.deepEqual(await expectInstrumented(second, id), before[i]);
    assert.equal((await postWasm(second, LOOP, 'loop-after-restart')).status, 201);
    assert.equal(second.coordinator.instrumentations.size, 0, 'nothing was instrumented after the restart');
  } finally {
    await second.stop();
  }
});

test('a built-in that cannot be instrumented is a clear 500 on download, and the coordinator carries on', async () => {
  const rootDir = mkdtempSync(join(tmpdir(), 'grid-root-'));
  const example = join(rootDir, 'examples', 'broken');
  mkdirSync(example, { recursive: true });
  writeFileSync(join(example, 'example.json'), JSON.stringify({ name: 'broken', format: 'wasm' }));
  writeFileSync(join(example, 'program.wasm'), fixture('unknown-import/program.wasm'));
  const g = await startTestCoordinator(undefined, { rootDir, instrumentBuiltins: true });
  try {
    const [broken] = (await g.api.call<ProgramInfo[]>('GET', '/api/programs')).body;
    assert.equal(broken?.name, 'broken');
    const response = await g.api.call<{ error: { name: string; message: string } }>('GET', `/api/programs/${broken.id}/bytes`);
    assert.equal(response.status, 500);
    assert.equal(response.body.error.name, 'InternalError');
    assert.match(response.body.error.message, /broken .*cannot be made checkpointable: the program imports env\.mystery/);
    assert.equal((await g.api.call('GET', '/api/health')).status, 200);
    assert.equal(g.coordinator.instrumentations.get(broken.id), 1, 'the failure is kept, not retried per download');
  } finally {
    await g.close();
    rmSync(rootDir, { recursive: true, force: true });
  }
});
