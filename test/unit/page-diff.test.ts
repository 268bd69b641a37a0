/** Dirty pages of JS step programs found by comparing with the last look (client/checkpoint/page-diff.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PageDiff } from '../../client/checkpoint/page-diff.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { createTrackerBuffers } from '../../client/checkpoint/tracker-words.ts';
import { TRACKER_HEADER_WORDS } from '../../shared/tracker-layout.ts';

const WASM_PAGE = 65536;

function setup(initial: number, maximum: number, pageSize = 4096) {
  const memory = new WebAssembly.Memory({ initial, maximum, shared: true });
  return { memory, diff: new PageDiff(memory, { pageSize, maxBytes: maximum * WASM_PAGE }) };
}

/** The oracle: pages of `now` that differ from `before` (missing bytes of `before` are zero). */
function changedPages(before: Uint8Array, now: Uint8Array, pageSize: number): number[] {
  const pages: number[] = [];
  for (let page = 0; page < now.length / pageSize; page++) {
    for (let i = page * pageSize; i < (page + 1) * pageSize; i++) {
      if (now[i] !== (before[i] ?? 0)) {
        pages.push(page);
        break;
      }
    }
  }
  return pages;
}

test('zero memory is clean; a byte at either end of a page dirties that page only', () => {
  const { memory, diff } = setup(2, 2);
  assert.deepEqual(diff.diff(), []);
  const bytes = new Uint8Array(memory.buffer);
  bytes[4095] = 1; // last byte of page 0
  bytes[4096 * 5] = 2; // first byte of page 5
  bytes[bytes.length - 1] = 3; // last byte of the memory
  assert.deepEqual(diff.diff(), [0, 5, 31]);
  assert.deepEqual(diff.diff(), [], 'a second look sees nothing new');
});

test('a write that restores the previous content is not dirty (content differs from the last look)', () => {
  const { memory, diff } = setup(1, 1);
  const bytes = new Uint8Array(memory.buffer);
  bytes[100] = 7;
  assert.deepEqual(diff.diff(), [0]);
  bytes[100] = 9;
  bytes[100] = 7;
  assert.deepEqual(diff.diff(), []);
});

test('growth: new pages compare against zero', () => {
  const { memory, diff } = setup(1, 4, 16384);
  new Uint8Array(memory.buffer)[0] = 1;
  assert.deepEqual(diff.diff(), [0]);
  memory.grow(2);
  new Uint8Array(memory.buffer)[WASM_PAGE + 16384 * 2 + 3] = 1; // page 6 of 12
  assert.deepEqual(diff.diff(), [6]);
  assert.equal(diff.pages, 12);
  assert.equal(diff.snapshot.buffer.byteLength, 3 * WASM_PAGE);
});

test('random writes, restoring writes and growth: exactly the changed pages, and the snapshot equals memory', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), at: fc.nat(), values: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9000 }) }),
    fc.record({ kind: fc.constant('restore' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('grow' as const) }),
    fc.record({ kind: fc.constant('look' as const) }),
  );
  fc.assert(
    fc.property(fc.constantFrom(4096, 8192, 65536), fc.array(op, { maxLength: 40 }), (pageSize, ops) => {
      const { memory, diff } = setup(1, 4, pageSize);
      let lastLook = new Uint8Array(0);
      const look = () => {
        const now = new Uint8Array(memory.buffer).slice();
        assert.deepEqual(diff.diff(), changedPages(lastLook, now, pageSize));
        assert.deepEqual(new Uint8Array(diff.snapshot.buffer, 0, now.length), now);
        lastLook = now;
      };
      for (const o of [...ops, { kind: 'look' } as const]) {
        const bytes = new Uint8Array(memory.buffer);
        if (o.kind === 'write') {
          const at = o.at % bytes.length;
          bytes.set(o.values.slice(0, bytes.length - at), at);
        } else if (o.kind === 'restore' && lastLook.length > 0) {
          const page = o.at % (lastLook.length / pageSize);
          bytes[page * pageSize] ^= 0xff; // change it, then put the last look's page back
          bytes.set(lastLook.subarray(page * pageSize, (page + 1) * pageSize), page * pageSize);
        } else if (o.kind === 'grow' && memory.buffer.byteLength < 4 * WASM_PAGE) {
          memory.grow(1);
        } else if (o.kind === 'look') {
          look();
        }
      }
    }),
    { numRuns: 150 },
  );
});

test('declareWritten: a cooperating program is trusted for the interval; grown pages are still compared', () => {
  const { memory, diff } = setup(1, 2);
  const bytes = new Uint8Array(memory.buffer);
  bytes[0] = 1;
  assert.deepEqual(diff.diff(), [0]);
  bytes[4096 * 3] = 1;
  bytes[4096 * 9 + 1] = 1; // written but not declared: trusted away
  diff.declareWritten(4096 * 3, 1);
  diff.declareWritten(4096 * 7, 4096 * 2); // declared pages 7–8, not changed: not reported
  memory.grow(1);
  new Uint8Array(memory.buffer)[WASM_PAGE + 4096 + 5] = 1; // page 17, new
  assert.deepEqual(diff.diff(), [3, 17]);
  // The next interval does not cooperate: a full compare finds page 9 after all.
  assert.deepEqual(diff.diff(), [9]);
});

test('markDirty marks the changed pages in the current interval, runs in one call', () => {
  const { memory, diff } = setup(1, 1);
  const buffers = createTrackerBuffers({ maxBytes: WASM_PAGE, pageSize: 4096 });
  const tracker = new PageTracker(buffers, memory);
  const calls: Array<[number, number]> = [];
  const markWrite = tracker.markWrite.bind(tracker);
  tracker.markWrite = (offset, length) => {
    calls.push([offset, length]);
    markWrite(offset, length);
  };
  const bytes = new Uint8Array(memory.buffer);
  for (const page of [2, 3, 4, 9]) bytes[page * 4096 + 17] = 1;
  assert.deepEqual(diff.markDirty(tracker), [2, 3, 4, 9]);
  assert.deepEqual(calls, [[2 * 4096, 3 * 4096], [9 * 4096, 4096]]);
  const words = new Int32Array(buffers.tracker);
  const marked = [...Array(16).keys()].filter((page) => words[TRACKER_HEADER_WORDS + page] === tracker.interval);
  assert.deepEqual(marked, [2, 3, 4, 9]);
});

// ---------------------------------------------------------------------------
// Measurement: js_detect_ms_per_gib, shadow compare (what PageDiff does) against
// per-page 64-bit fingerprints (the alternative it was chosen over).
// PAGE_DIFF_BENCH_MIB=256 for a bigger run; default 64 MiB keeps the suite fast.

/** Two 32-bit lanes, two words per round; each round is a bijection of each lane for fixed input. */
function fingerprintPages(words: Int32Array, pageWords: number, pages: number, prints: Int32Array): number {
  let changed = 0;
  for (let page = 0; page < pages; page++) {
    let h1 = 0x9e3779b9 | 0;
    let h2 = 0x85ebca6b | 0;
    const end = (page + 1) * pageWords;
    for (let i = page * pageWords; i < end; i += 2) {
      const a = words[i]!;
      const b = words[i + 1]!;
      h1 = Math.imul(h1 ^ a, 0x2c1b3c6d);
      h1 = ((h1 << 13) | (h1 >>> 19)) ^ b;
      h2 = Math.imul(h2 ^ b, 0x297a2d39);
      h2 = ((h2 << 17) | (h2 >>> 15)) ^ a;
    }
    if (prints[2 * page] !== h1 || prints[2 * page + 1] !== h2) {
      prints[2 * page] = h1;
      prints[2 * page + 1] = h2;
      changed++;
    }
  }
  return changed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

test('measure js_detect_ms_per_gib: shadow compare vs page fingerprints (~10 % of pages changed)', (t) => {
  const mib = Number(process.env.PAGE_DIFF_BENCH_MIB ?? 64);
  const pageSize = 4096;
  const bytes = mib << 20;
  const pages = bytes / pageSize;
  const pageWords = pageSize >> 2;
  const { memory, diff } = setup(bytes / WASM_PAGE, bytes / WASM_PAGE, pageSize);
  const words = new Int32Array(memory.buffer);
  for (let i = 0; i < words.length; i += 3) words[i] = Math.imul(i, 0x9e3779b1);
  let seed = 1;
  const dirtyTenth = (): number => {
    let count = 0;
    for (let page = 0; page < pages; page++) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      if (seed % 10 === 0) {
        words[page * pageWords + (seed >>> 4) % pageWords] ^= seed | 1; // one word anywhere in the page
        count++;
      }
    }
    return count;
  };
  const prints = new Int32Array(2 * pages);
  const strategies = {
    shadow: () => diff.diff().length,
    fingerprint: () => fingerprintPages(words, pageWords, pages, prints),
  };
  const perGiB: Record<string, number> = {};
  for (const [name, run] of Object.entries(strategies)) {
    for (let warm = 0; warm < 3; warm++) run();
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const expected = dirtyTenth();
      const start = performance.now();
      const found = run();
      times.push(performance.now() - start);
      assert.equal(found, expected, `${name} found every changed page`);
    }
    perGiB[name] = (median(times) * 1024) / mib;
  }
  const gib = 1 << 30;
  t.diagnostic(`js_detect_ms_per_gib shadow=${perGiB.shadow!.toFixed(1)} (extra memory ${gib} B/GiB)`);
  t.diagnostic(`js_detect_ms_per_gib fingerprint=${perGiB.fingerprint!.toFixed(1)} (extra memory ${(gib / pageSize) * 8} B/GiB)`);
});
