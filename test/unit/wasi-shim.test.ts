/**
 * The WASI shim and the wasm runner against Node's own node:wasi: every fixture
 * and example gives the same stdout, stderr and exit code, byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { asTaskFailure } from '../../client/runtime/task-failure.ts';
import { runWasm } from '../../client/runtime/wasm-runner.ts';
import { ERRNO } from '../../client/runtime/wasi/constants.ts';
import { nextU32, seedPrng } from '../../client/runtime/wasi/prng.ts';
import { createWasiImports } from '../../client/runtime/wasi/wasi-shim.ts';
import { examplePath, fixturePath, runInGrid, runInNodeWasi, runnableModule, taskSpec } from '../fixtures/runtime-harness.ts';

/** Program, arguments: the cases compared with node:wasi. */
const COMPARED: [label: string, path: string, args: string[]][] = [
  ['hello', fixturePath('hello'), ['a', 'b c', 'ünïcödé ✓', '']],
  ['hello without arguments', fixturePath('hello'), []],
  ['exit-code', fixturePath('exit-code'), []],
  ['big-output', fixturePath('big-output'), []],
  ['slow', fixturePath('slow'), ['3']],
  ['montecarlo-pi', examplePath('montecarlo-pi'), ['7', '200000']],
  ['montecarlo-pi usage error', examplePath('montecarlo-pi'), ['seven']],
  ['mandelbrot', examplePath('mandelbrot'), ['64', '48', '300']],
];

for (const [label, path, args] of COMPARED) {
  test(`${label}: same stdout, stderr and exit code as node:wasi`, async () => {
    const original = readFileSync(path);
    const expected = runInNodeWasi(original, ['program', ...args]);
    const actual = await runInGrid(original, { programName: 'program', args });
    assert.equal(actual.exitCode, expected.exitCode);
    assert.equal(actual.stdout.toString('latin1'), expected.stdout.toString('latin1'));
    assert.equal(actual.stderr.toString('latin1'), expected.stderr.toString('latin1'));
    assert.deepEqual(actual.progress, expected.progress);
  });
}

test('the fixtures say what they should', async () => {
  const hello = await runInGrid(readFileSync(fixturePath('hello')), { programName: 'hello', args: ['x'] });
  assert.equal(hello.stdout.toString(), 'hello from hello with 1 argument(s)\nargv[1]=x\n');
  assert.equal(hello.stderr.toString(), 'a line on stderr\n');
  const exit = await runInGrid(readFileSync(fixturePath('exit-code')));
  assert.deepEqual([exit.exitCode, exit.stdout.toString()], [3, 'exiting with 3\n']);
  const big = await runInGrid(readFileSync(fixturePath('big-output')));
  assert.ok(big.stdout.length > 280 * 1024 && big.stdout.length < 320 * 1024, `${big.stdout.length} bytes`);
  const pi = await runInGrid(readFileSync(examplePath('montecarlo-pi')), { args: ['7', '100000'] });
  assert.match(pi.stdout.toString(), /^seed=7 samples=100000 inside=\d+ pi=3\.1\d+\n$/);
  assert.equal(pi.progress.at(-1), 1);
});

test('random: the same seed gives the same bytes, another seed other bytes', async () => {
  const random = readFileSync(fixturePath('random'));
  const [a, b, c] = await Promise.all([runInGrid(random, { seed: 42 }), runInGrid(random, { seed: 42 }), runInGrid(random, { seed: 43 })]);
  assert.equal(a.exitCode, 0);
  assert.deepEqual(a.stdout.toString().split('\n').map((line) => line.length), [32, 6, 512, 0]);
  assert.equal(a.stdout.toString(), b.stdout.toString());
  assert.notEqual(a.stdout.toString(), c.stdout.toString());
});

test('an import the runtime does not provide fails at once with UnsupportedImport', async () => {
  await assert.rejects(runInGrid(readFileSync(fixturePath('unknown-import'))), {
    name: 'UnsupportedImport',
    message: 'the program imports env.mystery (function), which the grid runtime does not provide',
  });
});

test('a trap fails with ProgramTrap and the trap message, after the output before it', async () => {
  const original = readFileSync(fixturePath('trap'));
  for (const [args, message] of [[[], 'unreachable'], [['divide'], 'divide by zero']] as const) {
    const reference = runInNodeWasi(original, ['trap', ...args]);
    assert.equal(reference.trap, message);
    const { module, memory } = runnableModule(original);
    const stdout: Uint8Array[] = [];
    await assert.rejects(
      runWasm(module, taskSpec({ memory, args: [...args] }), { output: (_s, bytes) => stdout.push(bytes), progress: () => {} }),
      (error: Error) => error.name === 'ProgramTrap' && error.message.includes(message),
    );
    assert.equal(Buffer.concat(stdout).toString(), reference.stdout.toString());
  }
});

test('a module without _start fails with InvalidProgram', async () => {
  // (module (memory (export "memory") 1))
  const reactor = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, ...Buffer.from('memory'), 2, 0]);
  await assert.rejects(runInGrid(reactor), { name: 'InvalidProgram', message: /_start/ });
});

test('memory limits the module cannot use are an InvalidProgram; a stack overflow is a ProgramTrap', async () => {
  await assert.rejects(runInGrid(readFileSync(fixturePath('hello')), { memory: { initial: 1, maximum: 1 } }), { name: 'InvalidProgram' });
  const overflow = asTaskFailure(new RangeError('Maximum call stack size exceeded'));
  assert.equal(overflow.name, 'ProgramTrap');
  assert.equal(asTaskFailure('boom').name, 'ProgramError');
});

test('a module that was not rewritten runs on the memory it exports', async () => {
  const original = readFileSync(fixturePath('hello'));
  const stdout: Uint8Array[] = [];
  const outcome = await runWasm(new WebAssembly.Module(original), taskSpec({ programName: 'hello' }), {
    output: (stream, bytes) => stream === 'stdout' && stdout.push(bytes),
    progress: () => {},
  });
  assert.equal(outcome.exitCode, 0);
  assert.equal(Buffer.concat(stdout).toString(), 'hello from hello with 0 argument(s)\n');
});

function shim(seed = 1) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  const written: [number, string][] = [];
  const writes: [number, number][] = [];
  const wasi = createWasiImports({
    argv: ['prog', 'arg'],
    env: { LANG: 'C' },
    memory: new GuestMemory(memory, (ptr, length) => writes.push([ptr, length])),
    prng: seedPrng(seed),
    write: (fd, bytes) => written.push([fd, Buffer.from(bytes).toString()]),
  });
  const call = (name: string, ...args: (number | bigint)[]) => (wasi[name] as (...a: (number | bigint)[]) => number)(...args);
  return { memory, wasi, call, written, writes, view: () => new DataView(memory.buffer) };
}

test('every function wasi-libc may import exists', () => {
  const names = readFileSync(new URL('../fixtures/wasi-libc.imports', import.meta.url), 'utf8').trim().split('\n');
  const { wasi } = shim();
  assert.ok(names.length >= 45);
  for (const name of names) assert.equal(typeof wasi[name.replace('__imported_wasi_snapshot_preview1_', '')], 'function', name);
});

test('descriptors: only the standard streams exist, and there is no file system', () => {
  const { call, view } = shim();
  assert.equal(call('fd_prestat_get', 3, 0), ERRNO.BADF);
  assert.equal(call('fd_write', 3, 0, 0, 0), ERRNO.BADF);
  assert.equal(call('fd_seek', 1, 0n, 0, 0), ERRNO.SPIPE);
  assert.equal(call('fd_read', 5, 0, 0, 0), ERRNO.BADF);
  assert.equal(call('path_open', 3, 0, 0, 0, 0, 0n, 0n, 0, 0), ERRNO.BADF);
  assert.equal(call('path_open', 1, 0, 0, 0, 0, 0n, 0n, 0, 0), ERRNO.NOTCAPABLE);
  assert.equal(call('sock_send', 1, 0, 0, 0, 0), ERRNO.NOTSOCK);
  view().setUint32(100, 7, true);
  assert.equal(call('fd_read', 0, 0, 0, 100), ERRNO.SUCCESS);
  assert.equal(view().getUint32(100, true), 0, 'stdin is at end of file');
  assert.equal(call('fd_fdstat_get', 1, 200), ERRNO.SUCCESS);
  assert.equal(view().getUint8(200), 2, 'a character device');
  assert.equal(call('fd_close', 2), ERRNO.SUCCESS);
  assert.equal(call('fd_write', 2, 0, 0, 0), ERRNO.BADF);
});

test('fd_write gathers iovecs; args and environ are laid out as libc expects; bad pointers are EFAULT', () => {
  const { call, view, written, writes } = shim();
  const bytes = new Uint8Array(view().buffer);
  bytes.set(Buffer.from('hello, world\n'), 1000);
  [1000, 7, 1007, 6].forEach((value, i) => view().setUint32(64 + i * 4, value, true));
  assert.equal(call('fd_write', 1, 64, 2, 96), ERRNO.SUCCESS);
  assert.deepEqual(written, [[1, 'hello, world\n']]);
  assert.equal(view().getUint32(96, true), 13);
  assert.equal(call('args_sizes_get', 0, 4), ERRNO.SUCCESS);
  assert.deepEqual([view().getUint32(0, true), view().getUint32(4, true)], [2, 9]);
  assert.equal(call('args_get', 16, 2000), ERRNO.SUCCESS);
  assert.equal(view().getUint32(20, true), 2005);
  assert.equal(Buffer.from(bytes.slice(2000, 2009)).toString(), 'prog\0arg\0');
  assert.equal(call('environ_get', 16, 3000), ERRNO.SUCCESS);
  assert.equal(Buffer.from(bytes.slice(3000, 3007)).toString(), 'LANG=C\0');
  assert.ok(writes.some(([ptr, length]) => ptr === 2000 && length === 5), 'writes go through the tracked helper');
  assert.equal(call('args_get', 65536 - 2, 2000), ERRNO.FAULT);
  assert.equal(call('fd_write', 1, 70000, 1, 96), ERRNO.FAULT);
});

test('random_get is a seeded generator whose state is a small counted object', () => {
  const a = shim(7);
  const b = shim(7);
  assert.equal(a.call('random_get', 0, 100), ERRNO.SUCCESS);
  assert.equal(b.call('random_get', 0, 100), ERRNO.SUCCESS);
  assert.deepEqual(new Uint8Array(a.memory.buffer, 0, 100).slice(), new Uint8Array(b.memory.buffer, 0, 100).slice());
  const state = seedPrng(7);
  nextU32(state);
  assert.equal(state.draws, 1);
  assert.deepEqual(Object.keys(state).sort(), ['draws', 's0', 's1', 's2', 's3']);
  assert.notDeepEqual(seedPrng(2 ** 40 + 7), seedPrng(7));
});

test('clocks tick and poll_oneoff sleeps on a relative clock', () => {
  const { call, view } = shim();
  assert.equal(call('clock_time_get', 1, 0n, 0), ERRNO.SUCCESS);
  const before = view().getBigUint64(0, true);
  // one clock subscription: userdata 9, monotonic, 5 ms
  view().setBigUint64(100, 9n, true);
  view().setUint8(108, 0);
  view().setUint32(116, 1, true);
  view().setBigUint64(124, 5_000_000n, true);
  view().setUint16(140, 0, true);
  assert.equal(call('poll_oneoff', 100, 200, 1, 300), ERRNO.SUCCESS);
  assert.equal(view().getUint32(300, true), 1);
  assert.equal(view().getBigUint64(200, true), 9n);
  assert.equal(call('clock_time_get', 1, 0n, 0), ERRNO.SUCCESS);
  assert.ok(view().getBigUint64(0, true) - before >= 4_000_000n);
  assert.equal(call('clock_time_get', 0, 0n, 0), ERRNO.SUCCESS);
  assert.ok(Math.abs(Number(view().getBigUint64(0, true) / 1_000_000n) - Date.now()) < 1000, 'realtime is the epoch time');
  assert.equal(call('clock_time_get', 9, 0n, 0), ERRNO.INVAL);
});
