/** The shared byte ring: records in order and intact, wrap-around, full and empty, and across a real second thread. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SharedRing } from '../../client/messaging/shared-ring.ts';

const record = (length: number, fill: number) => new Uint8Array(length).fill(fill);

test('records come out in order, as copies, and wrap around the end of the buffer', () => {
  const ring = new SharedRing(SharedRing.create(32));
  assert.equal(ring.maxRecordBytes, 27);
  assert.equal(ring.pop(), undefined);
  // At most 30 of the 31 usable bytes per round, at positions that drift: records straddle the end in their length word and in their bytes.
  for (let round = 0; round < 50; round++) {
    const lengths = [round % 5, (round * 3) % 7, (round * 5) % 9];
    for (const [i, length] of lengths.entries()) assert.equal(ring.push(record(length, round * 3 + i)), true, `round ${round} record ${i}`);
    for (const [i, length] of lengths.entries()) assert.deepEqual(ring.pop(), record(length, round * 3 + i));
    assert.equal(ring.pop(), undefined);
  }
  const pushed = record(3, 1);
  ring.push(pushed);
  pushed.fill(2);
  assert.deepEqual(ring.pop(), record(3, 1), 'push copies');
});

test('a full ring refuses a push until the consumer makes room; a record that never fits is an error', () => {
  const ring = new SharedRing(SharedRing.create(32));
  assert.equal(ring.push(record(27, 1)), true, 'capacity - 1 - 4 bytes fit');
  assert.equal(ring.push(record(0, 2)), false);
  assert.equal(ring.waitForRoom(0, 10), false);
  assert.deepEqual(ring.pop(), record(27, 1));
  assert.equal(ring.waitForRoom(27, 10), true);
  assert.equal(ring.push(record(10, 3)), true);
  assert.equal(ring.push(record(13, 4)), true);
  assert.equal(ring.push(record(0, 5)), false, '14 + 17 bytes used of 31');
  assert.throws(() => ring.push(record(28, 0)), RangeError);
  assert.throws(() => new SharedRing(new SharedArrayBuffer(100)), /not a SharedRing buffer/);
});

test('wait returns at once after a push or a wake it has not seen, else at the timeout', () => {
  const ring = new SharedRing(SharedRing.create(64));
  const timed = (timeoutMs: number) => {
    const started = performance.now();
    ring.wait(timeoutMs);
    return performance.now() - started;
  };
  assert.ok(timed(30) >= 25, 'nothing happened: it waits');
  ring.wake();
  assert.ok(timed(5_000) < 1_000, 'a wake before the wait is not lost');
  assert.ok(timed(30) >= 25);
  ring.push(record(1, 1));
  assert.ok(timed(5_000) < 1_000);
  assert.ok(timed(5_000) < 1_000, 'a record is still queued');
  ring.pop();
  assert.ok(timed(30) >= 25);
});

const COUNT = 100_000;
const RING_BYTES = 16 * 1024;
/** Record i: its length and bytes. The worker below computes the same two formulas in plain JS. */
const lengthOf = (i: number) => (i % 1000 === 999 ? RING_BYTES - 5 : (Math.imul(i, 2_654_435_761) >>> 0) % 601);
const byteOf = (i: number, j: number) => (i * 31 + j * 7) & 255;

const producer = (buffer: SharedArrayBuffer) => {
  const ringUrl = new URL('../../client/messaging/shared-ring.ts', import.meta.url).href;
  // Node 20 does not apply `--import tsx` to a worker, so the worker registers tsx itself (see test/helpers/tracker-thread-spawn.ts).
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import('tsx/esm/api').then(async ({ register }) => {
      register();
      const { SharedRing } = await import(${JSON.stringify(ringUrl)});
      const ring = new SharedRing(workerData.buffer);
      const lengthOf = (i) => (i % 1000 === 999 ? ${RING_BYTES} - 5 : (Math.imul(i, 2654435761) >>> 0) % 601);
      for (let i = 0; i < ${COUNT}; i++) {
        const bytes = new Uint8Array(lengthOf(i));
        for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j * 7) & 255;
        while (!ring.push(bytes)) if (!ring.waitForRoom(bytes.length, 10000)) throw new Error('the consumer stopped at record ' + i);
      }
      parentPort.once('message', () => setTimeout(() => ring.wake(), 100));
      parentPort.postMessage('pushed');
    });`;
  return new Worker(source, { eval: true, execArgv: [], workerData: { buffer } });
};

test(`${COUNT} records of random sizes cross from a worker thread in order and intact`, async () => {
  const buffer = SharedRing.create(RING_BYTES);
  const ring = new SharedRing(buffer);
  const worker = producer(buffer);
  let failure: unknown;
  let pushed = false;
  worker.on('error', (error) => (failure = error)).on('message', () => (pushed = true));
  const deadline = performance.now() + 60_000;
  const started = performance.now();
  let waits = 0;
  try {
    for (let i = 0; i < COUNT; ) {
      const got = ring.pop();
      if (got) {
        const length = lengthOf(i);
        assert.equal(got.length, length, `record ${i}`);
        for (let j = 0; j < length; j++) if (got[j] !== byteOf(i, j)) assert.fail(`record ${i} byte ${j}: ${got[j]}, expected ${byteOf(i, j)}`);
        i++;
        continue;
      }
      ring.wait(20);
      waits++;
      // Let the worker's error events through; the main thread may block in Atomics.wait in Node.
      if (waits % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (failure) throw failure;
      assert.ok(performance.now() < deadline, `stuck after ${i} records`);
    }
    const elapsed = performance.now() - started;
    while (!pushed && !failure) await new Promise((resolve) => setTimeout(resolve, 5));
    if (failure) throw failure;
    assert.equal(ring.pop(), undefined, 'nothing more than was pushed');

    ring.wait(0);
    worker.postMessage('wake me');
    const waitStarted = performance.now();
    ring.wait(10_000);
    const waited = performance.now() - waitStarted;
    assert.ok(waited >= 50 && waited < 5_000, `a wake from the worker ended the wait after ${waited} ms`);
    assert.ok(elapsed < 30_000, `${COUNT} records took ${elapsed} ms`);
  } finally {
    await worker.terminate();
  }
});
