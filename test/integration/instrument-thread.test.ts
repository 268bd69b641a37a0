/**
 * The instrumentation worker thread as the coordinator relies on it: a worker
 * that crashes, throws or hangs fails only the request in flight, with an
 * error that says so, and the next request gets a new worker; close() fails
 * what is left. Real worker threads, running a scripted stand-in for
 * instrument-worker.ts (the first byte of a request says what it does), so a
 * crash is certain and no binaryen load is paid.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { GridError } from '../../shared/errors.ts';
import { InstrumentThread } from '../../server/programs/instrument-thread.ts';

const OK = 0;
const EXIT = 1;
const THROW = 2;
const HANG = 3;
const INVALID = 4;

const SCRIPT = `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', ({ id, bytes }) => {
  if (bytes[0] === ${EXIT}) process.exit(3);
  if (bytes[0] === ${THROW}) throw new RangeError('scripted failure');
  if (bytes[0] === ${HANG}) return;
  if (bytes[0] === ${INVALID}) {
    parentPort.postMessage({ type: 'failed', id, error: { name: 'InvalidProgram', message: 'scripted refusal' } });
    return;
  }
  parentPort.postMessage({ type: 'instrumented', id, bytes: bytes.map((b) => b + 1), report: { inputBytes: bytes.length, outputBytes: bytes.length, ms: { total: 0 } } });
});
`;

/** `timeoutMs` applies to one-byte requests; longer ones get a minute (a new worker may be slow to start on a busy machine). */
function scriptedThread(timeoutMs = 60_000): { thread: InstrumentThread; spawned: () => number } {
  let spawned = 0;
  const thread = new InstrumentThread({
    spawn: () => {
      spawned++;
      return new Worker(new URL(`data:text/javascript,${encodeURIComponent(SCRIPT)}`), { execArgv: [] });
    },
    timeoutMs: (bytes) => (bytes === 1 ? timeoutMs : 60_000),
  });
  return { thread, spawned: () => spawned };
}

const request = (kind: number, ...rest: number[]) => Uint8Array.from([kind, ...rest]);

async function rejectsWith(promise: Promise<unknown>, name: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof GridError && error.name === name && message.test(error.message));
}

test('one worker serves every request in turn, started on the first', async () => {
  const { thread, spawned } = scriptedThread();
  try {
    assert.equal(spawned(), 0, 'no worker before the first request');
    const results = await Promise.all([request(OK, 1), request(OK, 2), request(OK, 3)].map((r, i) => thread.instrument(r, `p${i}`)));
    assert.deepEqual(results.map((r) => [...r.bytes]), [[1, 2], [1, 3], [1, 4]]);
    assert.equal(spawned(), 1);
  } finally {
    await thread.close();
  }
});

test('a refusal comes back as the same GridError, and the worker stays', async () => {
  const { thread, spawned } = scriptedThread();
  try {
    await rejectsWith(thread.instrument(request(INVALID), 'refused'), 'InvalidProgram', /^scripted refusal$/);
    assert.deepEqual([...(await thread.instrument(request(OK), 'next')).bytes], [1]);
    assert.equal(spawned(), 1);
  } finally {
    await thread.close();
  }
});

test('a worker that exits or throws fails only the request in flight; the next request starts a new worker', async () => {
  const { thread, spawned } = scriptedThread();
  try {
    const exited = thread.instrument(request(EXIT), 'exits');
    const queued = thread.instrument(request(OK, 7), 'queued');
    await rejectsWith(exited, 'InternalError', /worker crashed while instrumenting exits \(it exited with code 3\)/);
    assert.deepEqual([...(await queued).bytes], [1, 8]);
    await rejectsWith(thread.instrument(request(THROW), 'throws'), 'InternalError', /crashed while instrumenting throws \(it threw RangeError: scripted failure\)/);
    assert.deepEqual([...(await thread.instrument(request(OK, 9), 'after')).bytes], [1, 10]);
    assert.equal(spawned(), 3);
  } finally {
    await thread.close();
  }
});

test('a request that takes too long is stopped with its worker', async () => {
  const { thread, spawned } = scriptedThread(300);
  try {
    await rejectsWith(thread.instrument(request(HANG), 'hangs'), 'InternalError', /instrumenting hangs took longer than/);
    assert.deepEqual([...(await thread.instrument(request(OK, 9), 'after')).bytes], [1, 10]);
    assert.equal(spawned(), 2);
  } finally {
    await thread.close();
  }
});

test('close() fails the request in flight and the queued ones, and refuses new ones', async () => {
  const { thread } = scriptedThread();
  const inFlight = rejectsWith(thread.instrument(request(HANG), 'in flight'), 'InternalError', /closing/);
  const queued = rejectsWith(thread.instrument(request(OK), 'queued'), 'InternalError', /closing/);
  await thread.close();
  await Promise.all([inFlight, queued]);
  await rejectsWith(thread.instrument(request(OK), 'late'), 'InternalError', /closing/);
});
