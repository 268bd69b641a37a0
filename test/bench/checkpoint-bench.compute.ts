/**
 * The compute side of checkpoint.bench.ts: a loop writing through the write
 * barrier into a large shared memory, dirtying about `dirtyPerSecond` of its
 * pages a second (a stream moving through memory at that rate plus a small
 * hot set, rewritten all the time, which races the checkpoint worker).
 * Phases alternate without and with a checkpoint request every second, in
 * ABBA order, so drifts (V8 tiering, the neighbours on the machine) hit both
 * alike; every page is faulted in before they start. Then it
 * runs one more phase without checkpoints while the page writes raw 1 MiB
 * records to IndexedDB (the raw baseline under the same load as ours), and
 * last measures the naive full checkpoint: stop, copy everything, write it
 * all to IndexedDB in 1 MiB records, resume (whose write part is the raw
 * baseline of an idle machine).
 */
import { openDB } from 'idb';
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { CheckpointSafepoint } from '../../client/checkpoint/checkpoint-safepoint.ts';
import { PageDiff } from '../../client/checkpoint/page-diff.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { requestCheckpoint } from '../../client/checkpoint/tracker-words.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';

export interface BenchComputeStart {
  buffers: TrackerBuffers;
  channel: SharedArrayBuffer;
  memory: WebAssembly.Memory;
  dirtyPerSecond: number;
  warmupMs: number;
  phaseMs: number;
  pairs: number;
  intervalMs: number;
  /** Set to 1 by the page when its raw writes under load are done. */
  rawDone: SharedArrayBuffer;
}

export interface PhaseResult {
  checkpoints: boolean;
  ops: number;
  ms: number;
  /** Wall-clock bounds (epoch ms), to match per-thread CPU samples taken outside the browser. */
  from: number;
  to: number;
}

/** What the compute worker posts: the page starts its raw writes on the first, the second ends the run. */
export type BenchComputeMessage = { type: 'raw-start' } | { type: 'result'; result: BenchComputeResult };

export interface BenchComputeResult {
  phases: PhaseResult[];
  /** Suspension → resume of every checkpoint begun in measured phases (ms), with its seq. */
  pauses: { seq: number; ms: number }[];
  warmupSeqs: number[];
  /** The phase without checkpoints during which the page wrote raw records. */
  loaded: PhaseResult;
  fullPauseMs: number;
  fullCopyMs: number;
  /** Raw 1 MiB puts with the program stopped (the naive checkpoint's write part). */
  rawMBps: number;
  /** The JS path's stop: finding the changed pages of this memory by comparison, ms per GiB, one figure per try. */
  jsDetectMsPerGiB: number[];
  error?: string;
}

const HOT_PAGES = 256;

async function run(start: BenchComputeStart): Promise<BenchComputeResult> {
  const { memory, buffers } = start;
  const tracker = new PageTracker(buffers, memory);
  const channel = new CheckpointChannel(start.channel);
  const safepoint = new CheckpointSafepoint(tracker, buffers, channel, memory);
  const trackerWords = new Int32Array(buffers.tracker);
  const pageSize = tracker.pageSize;
  const f64 = new Float64Array(memory.buffer);
  const pages = memory.buffer.byteLength / pageSize;
  const wordsPerPage = pageSize / 8;
  const streamPerMs = Math.max(0, start.dirtyPerSecond * pages - HOT_PAGES) / 1000;
  const hotBase = pages - HOT_PAGES; // the hot set sits at the top; the stream runs below it
  let x = 0x9e3779b9;
  let streamPage = 0;
  let step = 0;
  const pauses: { seq: number; ms: number }[] = [];
  const warmupSeqs: number[] = [];

  const phase = (ms: number, checkpoints: boolean, warm: boolean, until = () => false): PhaseResult => {
    const begin = performance.now();
    let nextRequest = begin + start.intervalMs;
    const streamStart = streamPage;
    let ops = 0;
    for (;;) {
      const now = performance.now();
      if (now - begin >= ms || until()) break;
      if (checkpoints && now >= nextRequest) {
        requestCheckpoint(buffers.tracker);
        nextRequest += start.intervalMs;
      }
      const suspended = safepoint.poll(() => ({ step }));
      if (suspended && warm) warmupSeqs.push(suspended.seq);
      else if (suspended) pauses.push({ seq: suspended.seq, ms: suspended.pauseMs });
      // The stream: the pages due by now, one word each.
      const due = Math.floor(streamStart + (now - begin) * streamPerMs);
      for (; streamPage < due; streamPage++) {
        const index = (streamPage % hotBase) * wordsPerPage + (streamPage & (wordsPerPage - 1));
        tracker.markWrite(index * 8, 8);
        f64[index] = streamPage;
      }
      // The hot set: 1,024 random words.
      for (let i = 0; i < 1024; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const index = hotBase * wordsPerPage + ((x >>> 0) % (HOT_PAGES * wordsPerPage));
        tracker.markWrite(index * 8, 8);
        f64[index] = f64[index]! + 1;
      }
      ops += 1024;
      step++;
    }
    const end = performance.now();
    return { checkpoints, ops, ms: end - begin, from: performance.timeOrigin + begin, to: performance.timeOrigin + end };
  };

  // Fault every page in first (storing the zero it holds changes nothing): otherwise the stream's
  // first touches make early phases slower than late ones, whatever they measure.
  for (let page = 0; page < pages; page++) f64[page * wordsPerPage] = 0;
  phase(start.warmupMs, true, true);
  const phases: PhaseResult[] = [];
  // ABBA order, so a drift over the run (tiering, the neighbours) favours neither kind of phase.
  for (let i = 0; i < start.pairs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const checkpoints of order) phases.push(phase(start.phaseMs, checkpoints, false));
  }
  // Let the last checkpoint finish before the raw writes and the naive checkpoint.
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(trackerWords, TrackerWord.PROTECTED) !== 0) Atomics.wait(nap, 0, 0, 5);
  const rawDone = new Int32Array(start.rawDone);
  postMessage({ type: 'raw-start' } satisfies BenchComputeMessage);
  let polls = 0;
  const loaded = phase(Infinity, false, false, () => (++polls & 63) === 0 && Atomics.load(rawDone, 0) === 1);

  // The naive full checkpoint, program stopped throughout.
  const db = await openDB('bench-full-checkpoint', 1, { upgrade: (d) => d.createObjectStore('segments') });
  const t0 = performance.now();
  const segments: ArrayBuffer[] = [];
  for (let offset = 0; offset < memory.buffer.byteLength; offset += 1 << 20) segments.push(new Uint8Array(memory.buffer, offset, 1 << 20).slice().buffer);
  const t1 = performance.now();
  const tx = db.transaction('segments', 'readwrite', { durability: 'relaxed' });
  const puts = segments.map((segment, i) => tx.store.put(segment, i));
  await Promise.all([...puts, tx.done]);
  await db.put('segments', new ArrayBuffer(8), 'manifest'); // the commit point, strict like ours
  const t2 = performance.now();
  db.close();
  const rawMBps = memory.buffer.byteLength / 1e6 / ((t2 - t1) / 1000);
  return { phases, loaded, pauses, warmupSeqs, fullPauseMs: t2 - t0, fullCopyMs: t1 - t0, rawMBps, jsDetectMsPerGiB: measureJsDetect(memory, pageSize, start.dirtyPerSecond) };
}

/**
 * What a JS program's stop costs (page-diff.ts): the first look copies the
 * whole memory; then each try changes `fraction` of the pages (one word
 * each, spread out) and times the look that finds them.
 */
function measureJsDetect(memory: WebAssembly.Memory, pageSize: number, fraction: number): number[] {
  const bytes = memory.buffer.byteLength;
  const diff = new PageDiff(memory, { pageSize, maxBytes: bytes });
  diff.diff();
  const f64 = new Float64Array(memory.buffer);
  const pages = bytes / pageSize;
  const stride = Math.max(1, Math.round(1 / fraction));
  const perGiB: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    for (let page = attempt % stride; page < pages; page += stride) f64[(page * pageSize) / 8] += 1;
    const t0 = performance.now();
    const changed = diff.diff().length;
    const ms = performance.now() - t0;
    if (changed !== Math.ceil((pages - (attempt % stride)) / stride)) throw new Error(`the diff found ${changed} changed pages`);
    perGiB.push((ms * 2 ** 30) / bytes);
  }
  return perGiB;
}

onmessage = (event: MessageEvent<BenchComputeStart>) => {
  run(event.data).then(
    (result) => postMessage({ type: 'result', result } satisfies BenchComputeMessage),
    (error: unknown) => {
      const none: PhaseResult = { checkpoints: false, ops: 0, ms: 0, from: 0, to: 0 };
      const result: BenchComputeResult = {
        phases: [],
        loaded: none,
        pauses: [],
        warmupSeqs: [],
        fullPauseMs: 0,
        fullCopyMs: 0,
        rawMBps: 0,
        jsDetectMsPerGiB: [],
        error: String((error as Error)?.stack ?? error),
      };
      postMessage({ type: 'result', result } satisfies BenchComputeMessage);
    },
  );
};
