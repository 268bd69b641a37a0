/** The epoch-word tracker, one transition at a time (DESIGN.md §4). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { PageScan } from '../../client/checkpoint/page-scan.ts';
import type { PageSource } from '../../client/checkpoint/page-scan.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { createTrackerBuffers, readTrackerStats } from '../../client/checkpoint/tracker-words.ts';
import { PageState, TRACKER_HEADER_WORDS, TrackerWord } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import { spawnWriter } from '../helpers/tracker-thread-spawn.ts';
import type { Command, WriterMessage } from '../helpers/tracker-writer-thread.ts';

const PAGE = 4096;
const WASM_PAGE = 65536;

function setup(options: { initial?: number; maximum?: number; poolSlots?: number } = {}) {
  const maximum = options.maximum ?? 1;
  const memory = new WebAssembly.Memory({ initial: options.initial ?? maximum, maximum, shared: true });
  const buffers = createTrackerBuffers({ maxBytes: maximum * WASM_PAGE, pageSize: PAGE, poolSlots: options.poolSlots ?? 4 });
  const words = new Int32Array(buffers.tracker);
  const word = (page: number) => Atomics.load(words, TRACKER_HEADER_WORDS + page);
  return { memory, buffers, words, word, tracker: new PageTracker(buffers, memory) };
}

/** Writes through the barrier, as a compute worker would. */
function write(tracker: PageTracker, memory: WebAssembly.Memory, offset: number, bytes: number[]): void {
  tracker.markWrite(offset, bytes.length);
  new Uint8Array(memory.buffer).set(bytes, offset);
}

/** Runs a scan to completion and returns page → (bytes copied out, source). */
function scanAll(buffers: TrackerBuffers, memory: WebAssembly.Memory, budget = 3) {
  const pages = new Map<number, { bytes: Uint8Array; source: PageSource }>();
  const scan = new PageScan(buffers, memory, (page, bytes, source) => pages.set(page, { bytes: bytes.slice(), source }));
  let rounds = 0;
  while (scan.step(budget) !== 'done') assert.ok(++rounds < 10_000, 'scan never completes');
  return { pages, list: scan.finish(), k: scan.checkpoint };
}

test('a write marks its page with the current interval; a straddling write marks both pages', () => {
  const { tracker, memory, word } = setup();
  assert.equal(tracker.interval, 1);
  write(tracker, memory, PAGE - 2, [1, 2, 3, 4]);
  assert.deepEqual([word(0), word(1), word(2)], [1, 1, 0]);
  tracker.markWrite(5 * PAGE, 0);
  assert.equal(word(5), 0, 'an empty write marks nothing');
});

test('pages at both ends of memory are tracked; writes past the maximum are refused', () => {
  const { tracker, memory, buffers, word } = setup();
  const last = WASM_PAGE / PAGE - 1;
  write(tracker, memory, 0, [9]);
  write(tracker, memory, WASM_PAGE - 1, [8]);
  assert.deepEqual([word(0), word(last)], [1, 1]);
  assert.throws(() => tracker.markWrite(WASM_PAGE - 1, 2), RangeError);
  assert.throws(() => tracker.markWrite(-1, 1), RangeError);
  tracker.beginCheckpoint();
  const { pages, list } = scanAll(buffers, memory);
  assert.deepEqual(list, [{ page: 0, source: 'memory' }, { page: last, source: 'memory' }]);
  assert.equal(pages.get(0)!.bytes[0], 9);
  assert.equal(pages.get(last)!.bytes[PAGE - 1], 8);
});

test('beginCheckpoint is an O(1) swap and refuses while the previous checkpoint is in flight', () => {
  const { tracker, memory, buffers, words, word } = setup();
  write(tracker, memory, 3 * PAGE, [1]);
  assert.equal(tracker.beginCheckpoint(), 1);
  assert.equal(tracker.interval, 2);
  assert.equal(Atomics.load(words, TrackerWord.EPOCH), 2);
  assert.equal(Atomics.load(words, TrackerWord.PROTECTED), 1);
  assert.equal(word(3), 1, 'the words themselves are untouched');
  assert.equal(tracker.beginCheckpoint(), null, 'one checkpoint at a time');
  assert.throws(() => tracker.markAllWritten(), /in flight/);
  const { list, k } = scanAll(buffers, memory);
  assert.equal(k, 1);
  assert.deepEqual(list, [{ page: 3, source: 'memory' }]);
  assert.equal(word(3), PageState.SAVED);
  assert.equal(Atomics.load(words, TrackerWord.PROTECTED), 0);
  assert.equal(tracker.beginCheckpoint(), 2, 'the next checkpoint is accepted once finished');
});

test('the scanner saves protected pages in page order, SAVED pages are re-marked by the next write', () => {
  const { tracker, memory, buffers, word } = setup();
  for (const page of [7, 2, 11]) write(tracker, memory, page * PAGE + 5, [page]);
  tracker.beginCheckpoint();
  const order: number[] = [];
  const scan = new PageScan(buffers, memory, (page) => order.push(page));
  assert.throws(() => scan.finish(), /not complete/);
  while (scan.step(2) !== 'done');
  assert.deepEqual(order, [2, 7, 11]);
  scan.finish();
  assert.throws(() => scan.step(), /already finished/);
  write(tracker, memory, 7 * PAGE, [70]);
  assert.equal(word(7), 2, 'SAVED → E on the next write');
  assert.equal(word(2), PageState.SAVED);
  tracker.beginCheckpoint();
  assert.deepEqual(scanAll(buffers, memory).list, [{ page: 7, source: 'memory' }]);
});

test('a write to a protected page copies it into the pool first; the checkpoint gets the old bytes', () => {
  const { tracker, memory, buffers, word } = setup();
  write(tracker, memory, 4 * PAGE, [1, 1, 1]);
  write(tracker, memory, 6 * PAGE, [6]);
  tracker.beginCheckpoint();
  write(tracker, memory, 4 * PAGE + 1, [2]); // protected, not saved yet: copy-on-write
  write(tracker, memory, 9 * PAGE, [9]); // not dirty in interval 1: belongs to checkpoint 2 only
  assert.equal(word(4), 2);
  assert.equal(word(9), 2);
  const { pages, list } = scanAll(buffers, memory);
  assert.deepEqual(list, [{ page: 4, source: 'cow' }, { page: 6, source: 'memory' }]);
  assert.deepEqual([...pages.get(4)!.bytes.subarray(0, 3)], [1, 1, 1], 'content as of the suspension');
  assert.deepEqual([...new Uint8Array(memory.buffer, 4 * PAGE, 3)], [1, 2, 1], 'the write went ahead');
  const stats = readTrackerStats(buffers.tracker);
  assert.equal(stats.cowCopies, 1);
  assert.equal(stats.savedPages, 2);
  tracker.beginCheckpoint();
  assert.deepEqual(scanAll(buffers, memory).list.map((p) => p.page), [4, 9]);
});

test('pages beyond the initial size but within the maximum are tracked after growth', () => {
  const { tracker, memory, buffers } = setup({ initial: 1, maximum: 3 });
  write(tracker, memory, 0, [1]);
  tracker.beginCheckpoint();
  memory.grow(2);
  write(tracker, memory, 3 * WASM_PAGE - 1, [5]);
  assert.deepEqual(scanAll(buffers, memory).list, [{ page: 0, source: 'memory' }]);
  tracker.beginCheckpoint();
  const { pages, list } = scanAll(buffers, memory);
  assert.deepEqual(list, [{ page: 3 * (WASM_PAGE / PAGE) - 1, source: 'memory' }]);
  assert.equal(pages.get(list[0]!.page)!.bytes[PAGE - 1], 5);
});

test('markAllWritten puts every page ever written into the next checkpoint', () => {
  const { tracker, memory, buffers } = setup();
  write(tracker, memory, 1 * PAGE, [1]);
  write(tracker, memory, 5 * PAGE, [5]);
  tracker.beginCheckpoint();
  scanAll(buffers, memory);
  write(tracker, memory, 8 * PAGE, [8]);
  tracker.markAllWritten(); // e.g. checkpoint 1 never committed
  tracker.beginCheckpoint();
  assert.deepEqual(scanAll(buffers, memory).list.map((p) => p.page), [1, 5, 8]);
});

/** Talks to a writer thread: each command gets the next answer, in order. */
function commander(worker: Worker): (message: Command) => Promise<WriterMessage> {
  const pending: Array<{ resolve: (m: WriterMessage) => void; reject: (e: Error) => void }> = [];
  worker.on('message', (answer: WriterMessage) => {
    const next = pending.shift()!;
    if (answer.op === 'error') next.reject(new Error(answer.message));
    else next.resolve(answer);
  });
  return (message) =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
      worker.postMessage(message);
    });
}

function until(condition: () => boolean, what: string): void {
  const deadline = Date.now() + 5_000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(nap, 0, 0, 1);
  }
}

test('a full copy-on-write pool blocks the writer until the scanner drains it', async (t) => {
  const { memory, buffers, words } = setup({ poolSlots: 1 });
  const worker = spawnWriter({ mode: 'commands', buffers, memory });
  t.after(() => worker.terminate());
  const command = commander(worker);
  for (const page of [1, 2, 3]) await command({ op: 'write', offset: page * PAGE, bytes: new Uint8Array([page]) });
  assert.equal((await command({ op: 'begin' })).op, 'begun');
  // Three protected writes with one slot: the second one must wait for a drain.
  const answers = [1, 2, 3].map((page) => command({ op: 'write', offset: page * PAGE, bytes: new Uint8Array([page * 10]) }));
  until(() => Atomics.load(words, TrackerWord.POOL_FULL_WAITS) > 0, 'the writer to wait on the full pool');
  const seen = new Map<number, number>();
  const scan = new PageScan(buffers, memory, (page, bytes) => seen.set(page, bytes[0]!));
  while (scan.step(1) !== 'done') await new Promise((resolve) => setImmediate(resolve));
  scan.finish();
  await Promise.all(answers);
  assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 2], [3, 3]]);
  assert.deepEqual([1, 2, 3].map((page) => new Uint8Array(memory.buffer)[page * PAGE]), [10, 20, 30]);
  assert.ok(readTrackerStats(buffers.tracker).poolFullWaits >= 1);
});

test('a write to a page the scanner holds waits for SAVED, and the checkpoint keeps the old bytes', async (t) => {
  const { memory, buffers, words } = setup();
  const worker = spawnWriter({ mode: 'commands', buffers, memory });
  t.after(() => worker.terminate());
  const command = commander(worker);
  await command({ op: 'write', offset: 2 * PAGE, bytes: new Uint8Array([1]) });
  await command({ op: 'begin' });
  let saved = -1;
  let answer: Promise<WriterMessage> | undefined;
  const scan = new PageScan(buffers, memory, (page, bytes) => {
    // While we hold the page (SAVING), make the program write it and wait until it blocks.
    answer = command({ op: 'write', offset: page * PAGE, bytes: new Uint8Array([2]) });
    until(() => Atomics.load(words, TrackerWord.WAITER) === page + 1, 'the writer to wait on the page');
    saved = bytes[0]!;
  });
  while (scan.step() !== 'done');
  scan.finish();
  await answer;
  assert.equal(saved, 1);
  assert.equal(new Uint8Array(memory.buffer)[2 * PAGE], 2);
  assert.equal(readTrackerStats(buffers.tracker).savingWaits, 1);
  assert.equal(readTrackerStats(buffers.tracker).cowCopies, 0);
});

test('releaseAbandoned takes back what a dead checkpoint worker held: SAVING pages, pool copies, the protection', () => {
  const { tracker, memory, buffers, words, word } = setup();
  for (const page of [0, 1, 2]) write(tracker, memory, page * PAGE, [page + 1]);
  const k = tracker.beginCheckpoint()!;
  write(tracker, memory, PAGE, [42]); // page 1 goes to the pool
  // The dying worker had claimed page 2 and saved nothing.
  assert.equal(Atomics.compareExchange(words, TRACKER_HEADER_WORDS + 2, k, PageState.SAVING), k);
  assert.equal(tracker.releaseAbandoned(), true);
  assert.equal(Atomics.load(words, TrackerWord.PROTECTED), 0);
  assert.deepEqual([word(0), word(1), word(2)], [k, k + 1, PageState.SAVED]);
  write(tracker, memory, 2 * PAGE, [7]); // no wait: nobody holds it any more
  assert.equal(word(2), k + 1);
  assert.equal(tracker.releaseAbandoned(), false, 'nothing left to take back');
  // A rebuild holds every page again, and the pool was emptied: the next scan sees only memory.
  tracker.markAllWritten();
  const next = tracker.beginCheckpoint()!;
  const { list } = scanAll(buffers, memory);
  assert.equal(next, k + 1);
  assert.deepEqual(list, [0, 1, 2].map((page) => ({ page, source: 'memory' })));
});

test('an import writing a page the checkpoint in flight has not saved yet leaves the checkpoint the bytes of the stop', () => {
  const { tracker, memory, buffers } = setup();
  write(tracker, memory, 2 * PAGE, [7, 7, 7, 7]);
  tracker.beginCheckpoint();
  // What grid.recv or fd_read does after the stop, while the page is still protected.
  const guest = new GuestMemory(memory, (ptr, length) => tracker.markWrite(ptr, length));
  guest.write(2 * PAGE, Uint8Array.of(1, 2, 3, 4));
  guest.writeU32(2 * PAGE + 8, 0xdeadbeef);
  const { pages } = scanAll(buffers, memory);
  assert.deepEqual([...pages.get(2)!.bytes.subarray(0, 12)], [7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0], 'the checkpoint holds the page as it was at the stop');
  assert.deepEqual([...new Uint8Array(memory.buffer, 2 * PAGE, 4)], [1, 2, 3, 4], 'the program sees its write');
});

test('a claim counted after the scan completed (the writer lost the page to the scanner) does not stop finish', () => {
  const { tracker, memory, buffers, words, word } = setup();
  write(tracker, memory, 5 * PAGE, [3]);
  tracker.beginCheckpoint();
  const scan = new PageScan(buffers, memory, () => {});
  while (scan.step(4) !== 'done');
  // A writer that read word k before the scanner took the page counts its claim, then its compare-exchange fails.
  Atomics.add(words, TrackerWord.CLAIMS, 1);
  assert.deepEqual(scan.finish(), [{ page: 5, source: 'memory' }]);
  Atomics.sub(words, TrackerWord.CLAIMS, 1);
  assert.equal(Atomics.load(words, TrackerWord.PROTECTED), 0, 'the protection is released');
  assert.equal(word(5), PageState.SAVED);
});
