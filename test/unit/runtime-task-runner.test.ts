/**
 * The compute worker's `run` without the worker: output in chunks of at most
 * 64 KiB and in order, progress throttled but never losing the last value, and
 * everything delivered before the outcome or the failure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OutputBatcher } from '../../client/runtime/output-batcher.ts';
import { fetchLoader } from '../../client/runtime/program-loader.ts';
import type { ProgramLoader } from '../../client/runtime/program-loader.ts';
import { ProgressThrottle } from '../../client/runtime/progress-throttle.ts';
import { createComputeWorkerApi } from '../../client/runtime/task-runner.ts';
import type { TaskCallbacks, TaskSpec } from '../../client/runtime/task-protocol.ts';
import { MAX_OUTPUT_CHUNK_BYTES } from '../../shared/limits.ts';
import type { OutputStream } from '../../shared/states.ts';
import { examplePath, fixturePath, runInNodeWasi, runnableModule, taskSpec } from '../fixtures/runtime-harness.ts';

/** Reads wasm from file: URLs and rewrites it as the coordinator does. */
const fileLoader: ProgramLoader = {
  wasm: async (url) => runnableModule(readFileSync(fileURLToPath(url))).module,
  js: fetchLoader.js,
};

function wasmSpec(path: string, args: string[]): TaskSpec {
  const { memory } = runnableModule(readFileSync(path));
  return taskSpec({ programUrl: new URL(`file://${path}`).href, args, memory });
}

interface Recorded extends TaskCallbacks {
  chunks: { stream: OutputStream; data: Uint8Array }[];
  fractions: number[];
  text(stream: OutputStream): string;
}

/** Callbacks that record what arrives; with `delayMs` they answer late, as the page does over comlink. */
function record(delayMs = 0): Recorded {
  const chunks: Recorded['chunks'] = [];
  const fractions: number[] = [];
  return {
    chunks,
    fractions,
    async output(stream, data) {
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      chunks.push({ stream, data });
    },
    progress(fraction) {
      fractions.push(fraction);
    },
    text: (stream) => Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data)).toString('latin1'),
  };
}

test('big output arrives whole, in chunks of at most 64 KiB', async () => {
  const path = fixturePath('big-output');
  const callbacks = record();
  const outcome = await createComputeWorkerApi({ loader: fileLoader }).run(wasmSpec(path, []), callbacks);
  const reference = runInNodeWasi(readFileSync(path), ['program']);
  assert.deepEqual(outcome, { exitCode: 0 });
  assert.equal(callbacks.text('stdout'), reference.stdout.toString('latin1'));
  assert.equal(callbacks.text('stderr'), reference.stderr.toString('latin1'));
  assert.ok(callbacks.chunks.length >= 5);
  for (const chunk of callbacks.chunks) assert.ok(chunk.data.length <= MAX_OUTPUT_CHUNK_BYTES);
});

test('progress is throttled and its last value always arrives', async () => {
  const callbacks = record();
  await createComputeWorkerApi({ loader: fileLoader }).run(wasmSpec(examplePath('montecarlo-pi'), ['3', '3000000']), callbacks);
  assert.ok(callbacks.fractions.length < 20, `${callbacks.fractions.length} progress reports`);
  assert.equal(callbacks.fractions.at(-1), 1);
  assert.match(callbacks.text('stdout'), /^seed=3 samples=3000000 inside=\d+/);
});

test('output before a failure is delivered before the failure', async () => {
  const callbacks = record(20);
  await assert.rejects(
    createComputeWorkerApi({ loader: fileLoader }).run(wasmSpec(fixturePath('trap'), []), callbacks),
    { name: 'ProgramTrap', message: /unreachable/ },
  );
  assert.equal(callbacks.text('stdout'), 'about to trap\n');
  await assert.rejects(
    createComputeWorkerApi({ loader: fileLoader }).run(wasmSpec(fixturePath('unknown-import'), []), record()),
    { name: 'UnsupportedImport' },
  );
});

test('a JS program runs through the same entry point', async () => {
  const callbacks = record(5);
  const url = new URL('../fixtures/js-counter/program.js', import.meta.url).href;
  const spec = taskSpec({ format: 'js', programUrl: url, args: ['30', '10'], memory: { initial: 1, maximum: 1 } });
  const outcome = await createComputeWorkerApi({ loader: fileLoader }).run(spec, callbacks);
  assert.deepEqual(outcome, { exitCode: 0, result: { count: 30, rank: 0, size: 1 } });
  assert.equal(callbacks.text('stdout'), 'count=10\ncount=20\ncount=30\n');
  assert.equal(callbacks.fractions.at(-1), 1);
});

test('the batcher flushes at write time after the interval, keeps stream order, and flushes a quiet tail by timer', async () => {
  let now = 0;
  const emitted: [OutputStream, string][] = [];
  const batcher = new OutputBatcher((stream, chunk) => emitted.push([stream, Buffer.from(chunk).toString()]), {
    maxChunkBytes: 8,
    flushIntervalMs: 100,
    now: () => now,
  });
  batcher.write('stdout', Buffer.from('ab'));
  batcher.write('stdout', Buffer.from('cd'));
  assert.deepEqual(emitted, []);
  now = 150;
  batcher.write('stdout', Buffer.from('ef'));
  assert.deepEqual(emitted, [['stdout', 'abcdef']]);
  batcher.write('stdout', Buffer.from('1'));
  batcher.write('stderr', Buffer.from('E'));
  batcher.write('stdout', Buffer.from('0123456789'));
  // A full buffer sends whole chunks only; the rest waits.
  assert.deepEqual(emitted.slice(1), [['stdout', '1'], ['stderr', 'E'], ['stdout', '01234567']]);
  batcher.write('stdout', Buffer.from('tail'));
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(emitted.at(-1), ['stdout', '89tail']);
  batcher.close();
});

test('the progress throttle sends at most one value per interval and the last one on flush', () => {
  let now = 0;
  const sent: number[] = [];
  const throttle = new ProgressThrottle((f) => sent.push(f), { intervalMs: 100, now: () => now });
  throttle.report(0.1);
  throttle.report(0.2);
  now = 50;
  throttle.report(0.3);
  now = 120;
  throttle.report(0.4);
  throttle.report(0.5);
  assert.deepEqual(sent, [0.1, 0.4]);
  throttle.close();
  assert.deepEqual(sent, [0.1, 0.4, 0.5]);
});
