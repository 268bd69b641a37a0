/**
 * The jacobi example's sequential reference (test/fixtures/jacobi-seq) under
 * node:wasi: its output is deterministic, the solver moves, and its lines equal
 * those of an independent TypeScript implementation of the same computation.
 * Then the grid build (examples/jacobi) with 1..9 ranks in worker threads, its
 * `grid` imports implemented here over MessagePorts: rank 0 prints the
 * reference's bytes whatever the number of ranks, the others nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { examplePath } from '../fixtures/runtime-harness.ts';
import { runJacobiReference } from '../helpers/jacobi-reference.ts';

const LINE = /^iter (\d+) checksum ([0-9a-f]{16}) maxdiff ([0-9a-f]{16})$/;

/** The 64-bit pattern of `x` in hex, as the program prints it. */
function hex(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

function fnv64(h: bigint, bytes: Uint8Array): bigint {
  for (const byte of bytes) h = ((h ^ BigInt(byte)) * FNV_PRIME) & MASK;
  return h;
}

function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The program's output, computed here: one grid, rows in order (see examples/jacobi/program.c). */
function jacobiInTypeScript(n: number, iters: number, printEvery: number): string {
  let cur = new Float64Array(n * n);
  let nxt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = i === 0 ? 100 : j === 0 ? 50 : i === n - 1 || j === n - 1 ? 0 : (hash32(i * n + j) & 0xffff) / 65536;
      cur[i * n + j] = nxt[i * n + j] = v;
    }
  }
  const rowSums = (): number[] =>
    Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += cur[i * n + j]!;
      return s;
    });
  const total = (sums: number[]): number => sums.reduce((a, s) => a + s, 0);
  const lines: string[] = [];
  if (iters === 0) lines.push(`iter 0 checksum ${hex(total(rowSums()))} maxdiff ${hex(0)}`);
  for (let iter = 1; iter <= iters; iter++) {
    let maxdiff = 0;
    for (let i = 1; i < n - 1; i++) {
      for (let j = 1; j < n - 1; j++) {
        const k = i * n + j;
        const v = 0.25 * (cur[k - n]! + cur[k + n]! + cur[k - 1]! + cur[k + 1]!);
        maxdiff = Math.max(maxdiff, Math.abs(v - cur[k]!));
        nxt[k] = v;
      }
    }
    [cur, nxt] = [nxt, cur];
    if (iter % printEvery === 0 || iter === iters) lines.push(`iter ${iter} checksum ${hex(total(rowSums()))} maxdiff ${hex(maxdiff)}`);
  }
  const bytes = new Uint8Array(cur.buffer);
  const rowHash = new Uint8Array(8);
  const rowHashView = new DataView(rowHash.buffer);
  let h = FNV_OFFSET;
  for (let i = 0; i < n; i++) {
    rowHashView.setBigUint64(0, fnv64(FNV_OFFSET, bytes.subarray(i * n * 8, (i + 1) * n * 8)), true);
    h = fnv64(h, rowHash);
  }
  lines.push(`done n=${n} iters=${iters} checksum ${hex(total(rowSums()))} hash ${h.toString(16).padStart(16, '0')}`);
  return lines.map((line) => `${line}\n`).join('');
}

test('the reference runs, prints one line per print and a final one, the same every time', async () => {
  const first = await runJacobiReference(['48', '200', '50']);
  const second = await runJacobiReference(['48', '200', '50']);
  assert.equal(first.exitCode, 0);
  assert.equal(first.stderr, '');
  assert.equal(first.stdout, second.stdout);
  const lines = first.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 5);
  const iters = lines.slice(0, 4).map((line) => LINE.exec(line));
  assert.deepEqual(
    iters.map((m) => m?.[1]),
    ['50', '100', '150', '200'],
  );
  const checksums = iters.map((m) => m![2]);
  assert.equal(new Set(checksums).size, 4, 'the checksum changes between prints');
  const diffs = iters.map((m) => Buffer.from(m![3]!, 'hex').readDoubleBE(0));
  assert.ok(diffs.every((d, k) => d > 0 && (k === 0 || d < diffs[k - 1]!)), `maxdiff shrinks: ${diffs.join(' ')}`);
  assert.match(lines[4]!, new RegExp(`^done n=48 iters=200 checksum ${checksums[3]} hash [0-9a-f]{16}$`));
});

test('the reference prints what an independent TypeScript Jacobi computes', async () => {
  for (const [n, iters, every] of [
    [48, 200, 50],
    [17, 33, 10],
    [3, 4, 1],
    [5, 0, 1],
  ] as const) {
    const { stdout, exitCode } = await runJacobiReference([String(n), String(iters), String(every)]);
    assert.equal(exitCode, 0);
    assert.equal(stdout, jacobiInTypeScript(n, iters, every), `jacobi ${n} ${iters} ${every}`);
  }
  const byDefault = await runJacobiReference(['20', '30']);
  assert.equal(byDefault.stdout, jacobiInTypeScript(20, 30, 3), 'PRINT_EVERY defaults to ITERS/10');
});

test('bad arguments: a usage message on stderr and exit code 2', async () => {
  for (const args of [[], ['48'], ['2', '10'], ['4097', '1'], ['48', 'x'], ['48', '10', '0'], ['48', '10', '5', 'extra'], ['-4', '10']]) {
    const { stdout, stderr, exitCode } = await runJacobiReference(args);
    assert.equal(exitCode, 2, args.join(' '));
    assert.equal(stdout, '');
    assert.match(stderr, /^usage: jacobi N ITERS \[PRINT_EVERY\]/);
  }
});

/*
 * A worker per rank running the grid build in node:wasi. send posts a copy to
 * the pair's port and bumps the pair's counter; recv waits on that counter, then
 * takes the message synchronously; barrier is a generation counter.
 */
const RANK_WORKER = `
const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const { readFileSync, openSync, closeSync } = require('node:fs');
const { join } = require('node:path');
const { WASI } = require('node:wasi');
const { rank, size, args, wasm, counters, sendTo, recvFrom, dir } = workerData;
const c = new Int32Array(counters);
const taken = new Array(size).fill(0);
const arrived = size * size, generation = size * size + 1;
const stdout = openSync(join(dir, 'out' + rank), 'w'), stderr = openSync(join(dir, 'err' + rank), 'w');
const wasi = new WASI({ version: 'preview1', args: ['jacobi', ...args], env: {}, returnOnExit: true, stdout, stderr });
let memory;
const grid = {
  rank: () => rank,
  size: () => size,
  progress: () => {},
  send(to, ptr, len) {
    sendTo[to].postMessage(new Uint8Array(memory.buffer, ptr, len).slice());
    Atomics.add(c, rank * size + to, 1);
    Atomics.notify(c, rank * size + to);
    return 0;
  },
  recv(from, ptr, cap) {
    const at = from * size + rank;
    while (Atomics.load(c, at) === taken[from]) Atomics.wait(c, at, taken[from]);
    let got;
    while (!(got = receiveMessageOnPort(recvFrom[from])));
    taken[from]++;
    const data = got.message;
    if (data.length > cap) return -data.length;
    new Uint8Array(memory.buffer, ptr, data.length).set(data);
    return data.length;
  },
  barrier() {
    const gen = Atomics.load(c, generation);
    if (Atomics.add(c, arrived, 1) === size - 1) {
      Atomics.store(c, arrived, 0);
      Atomics.add(c, generation, 1);
      Atomics.notify(c, generation);
    } else {
      while (Atomics.load(c, generation) === gen) Atomics.wait(c, generation, gen);
    }
  },
};
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm)), { ...wasi.getImportObject(), grid });
memory = instance.exports.memory;
const exitCode = wasi.start(instance);
closeSync(stdout);
closeSync(stderr);
parentPort.postMessage(exitCode);
`;

/** Runs examples/jacobi with `size` ranks; returns each rank's exit code, stdout and stderr. */
async function runRanks(size: number, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'jacobi-ranks-'));
  try {
    const counters = new SharedArrayBuffer(4 * (size * size + 2));
    const sendTo: Record<number, MessagePort>[] = Array.from({ length: size }, () => ({}));
    const recvFrom: Record<number, MessagePort>[] = Array.from({ length: size }, () => ({}));
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        if (i === j) continue;
        const { port1, port2 } = new MessageChannel();
        sendTo[i]![j] = port1;
        recvFrom[j]![i] = port2;
      }
    }
    const exitCodes = await Promise.all(
      Array.from(
        { length: size },
        (_, rank) =>
          new Promise<number>((resolve, reject) => {
            const ports = [...Object.values(sendTo[rank]!), ...Object.values(recvFrom[rank]!)];
            const worker = new Worker(RANK_WORKER, {
              eval: true,
              execArgv: [...process.execArgv, '--no-warnings'],
              workerData: { rank, size, args, wasm: examplePath('jacobi'), counters, sendTo: sendTo[rank], recvFrom: recvFrom[rank], dir },
              transferList: ports,
            });
            worker.once('message', (code: number) => resolve(code));
            worker.once('error', reject);
          }),
      ),
    );
    return exitCodes.map((exitCode, rank) => ({
      exitCode,
      stdout: readFileSync(join(dir, `out${rank}`), 'utf8'),
      stderr: readFileSync(join(dir, `err${rank}`), 'utf8'),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the grid build: rank 0 prints the reference bytes with any number of ranks', async () => {
  for (const args of [
    ['48', '60', '20'],
    ['7', '12', '5'],
  ]) {
    const reference = await runJacobiReference(args);
    for (const size of [1, 2, 3, 4, 5, 7, 9]) {
      const ranks = await runRanks(size, args);
      assert.equal(ranks[0]!.stdout, reference.stdout, `jacobi ${args.join(' ')} with ${size} ranks`);
      for (const [rank, run] of ranks.entries()) {
        assert.equal(run.exitCode, 0, `rank ${rank} of ${size}: ${run.stderr}`);
        assert.equal(run.stderr, '');
        if (rank > 0) assert.equal(run.stdout, '', `rank ${rank} of ${size} prints nothing`);
      }
    }
  }
});
