/** The JS step runner: ctx, the step loop, results, failures, and pi-js against its C twin. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { createGridImports } from '../../client/runtime/grid-imports.ts';
import type { JsContext, JsProgram } from '../../client/runtime/js-program.ts';
import { asJsProgram } from '../../client/runtime/js-program.ts';
import { runJs } from '../../client/runtime/js-runner.ts';
import { fetchLoader } from '../../client/runtime/program-loader.ts';
import type { RunHooks } from '../../client/runtime/run-hooks.ts';
import * as piJs from '../../examples/pi-js/program.ts';
import { examplePath, runInGrid, taskSpec } from '../fixtures/runtime-harness.ts';

const COUNTER_URL = new URL('../fixtures/js-counter/program.js', import.meta.url).href;

interface Collected {
  hooks: RunHooks;
  stdout(): string;
  progress: number[];
}

function collect(): Collected {
  const chunks: Uint8Array[] = [];
  const progress: number[] = [];
  return {
    hooks: { output: (_stream, bytes) => chunks.push(bytes), progress: (fraction) => progress.push(fraction) },
    stdout: () => Buffer.concat(chunks).toString(),
    progress,
  };
}

const jsSpec = (args: string[]) => taskSpec({ format: 'js', args, memory: { initial: 1, maximum: 16 } });

test('a JS program loaded by URL runs step by step to its result', async () => {
  const run = collect();
  const outcome = await runJs(await fetchLoader.js(COUNTER_URL), jsSpec(['250', '100']), run.hooks);
  assert.deepEqual(outcome, { exitCode: 0, result: { count: 250, rank: 0, size: 1 } });
  assert.equal(run.stdout(), 'count=100\ncount=200\ncount=250\n');
  assert.deepEqual(run.progress, [0.4, 0.8, 1]);
});

test('pi-js counts exactly what montecarlo-pi counts', async () => {
  const run = collect();
  const outcome = await runJs(asJsProgram(piJs), jsSpec(['7', '300000']), run.hooks);
  const wasm = await runInGrid(readFileSync(examplePath('montecarlo-pi')), { args: ['7', '300000'] });
  const inside = Number(/inside=(\d+)/.exec(wasm.stdout.toString())?.[1]);
  assert.deepEqual(outcome, { exitCode: 0, result: { seed: 7, samples: 300000, inside } });
  assert.equal(run.stdout(), wasm.stdout.toString());
  assert.equal(run.progress.at(-1), 1);
});

test('a throw fails the task with the error name and message, after the output before it', async () => {
  const run = collect();
  await assert.rejects(runJs(await fetchLoader.js(COUNTER_URL), jsSpec(['1000', '100', 'throw']), run.hooks), {
    name: 'RangeError',
    message: 'counter exploded',
  });
  assert.equal(run.stdout(), 'count=100\ncount=200\n');
});

test('a module without init and step, or a step that returns no boolean, is an InvalidProgram', async () => {
  assert.throws(() => asJsProgram({ start() {} }), { name: 'InvalidProgram', message: /init\(ctx\).*exports start/ });
  const noBoolean = { init() {}, step: () => undefined } as unknown as JsProgram;
  await assert.rejects(runJs(noBoolean, jsSpec([]), collect().hooks), { name: 'InvalidProgram', message: /must return a boolean/ });
  const badResult: JsProgram = { init() {}, step: () => true, result: () => ({ big: 1n }) };
  await assert.rejects(runJs(badResult, jsSpec([]), collect().hooks), { name: 'InvalidProgram', message: /JSON-serialisable/ });
});

test('ctx has a shared process memory sized by the spec, and messaging outside a coupled job fails clearly', async () => {
  let seen: JsContext | undefined;
  const program: JsProgram = {
    init: (ctx) => {
      seen = ctx;
    },
    step: (ctx) => {
      ctx.send(1, new Uint8Array(1));
      return true;
    },
  };
  await assert.rejects(runJs(program, taskSpec({ format: 'js', memory: { initial: 2, maximum: 4 } }), collect().hooks), {
    name: 'NotSupported',
    message: /not a rank of a coupled job/,
  });
  const buffer: ArrayBufferLike | undefined = seen?.memory.buffer;
  assert.equal(Object.prototype.toString.call(buffer), '[object SharedArrayBuffer]');
  assert.equal(buffer?.byteLength, 2 * 65536);
});

test('long runs of steps give the event loop a turn', async () => {
  let timerFired = false;
  setTimeout(() => (timerFired = true), 0);
  const started = performance.now();
  const program: JsProgram = {
    init() {},
    step() {
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // busy
      }
      return timerFired || performance.now() - started > 2_000;
    },
  };
  await runJs(program, jsSpec([]), collect().hooks);
  assert.ok(timerFired, 'a timer fired while the program stepped');
});

test('grid imports: rank, size, clamped progress; barrier is a no-op alone; messaging needs a coupled job', () => {
  const progress: number[] = [];
  const access = { memory: new GuestMemory(), suspendHere: () => false };
  const alone = createGridImports({ rank: 0, size: 1, progress: (f) => progress.push(f) }, access);
  assert.deepEqual([alone.rank(), alone.size()], [0, 1]);
  alone.progress(0.5);
  alone.progress(2);
  alone.progress(Number.NaN);
  assert.deepEqual(progress, [0.5, 1]);
  assert.doesNotThrow(() => alone.barrier());
  assert.throws(() => alone.send(0, 0, 0), { name: 'NotSupported' });
  const pair = createGridImports({ rank: 1, size: 2, progress: () => {} }, access);
  assert.throws(() => pair.barrier(), { name: 'NotSupported', message: /ranks/ });
  assert.throws(() => pair.recv(0, 0, 0), { name: 'NotSupported' });
});
