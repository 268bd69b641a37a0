/**
 * The compute side of checkpoint.bench.ts: a loop writing through the write
 * barrier into a large shared memory, dirtying about `dirtyPerSecond` of its
 * pages a second (a stream moving through memory at that rate plus a small
 * hot set, rewritten all the time, which races the checkpoint worker).
 * Phases alternate without and with a checkpoint request every second, so
 * drifts (V8 tiering, the neighbours on the machine) hit both alike. Then it
 * measures the naive full checkpoint: stop, copy everything, write it all to
 * IndexedDB in 1 MiB records, resume; the write part is the raw baseline.
 */
import { openDB } from 'idb';
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { CheckpointSafepoint } from '../../client/checkpoint/checkpoint-safepoint.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
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
}

export interface PhaseResult {
  checkpoints: boolean;
  ops: number;
  ms: number;
}

export interface BenchComputeResult {
  phases: PhaseResult[];
  /** Suspension → resume of every checkpoint begun in measured phases (ms), with its seq. */
  pauses: { seq: number; ms: number }[];
  warmupSeqs: number[];
  fullPauseMs: number;
  fullCopyMs: number;
  rawMBps: number;
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

  const phase = (ms: number, checkpoints: boolean, warm: boolean): PhaseResult => {
    const begin = performance.now();
    let nextRequest = begin + start.intervalMs;
    const streamStart = streamPage;
    let ops = 0;
    for (;;) {
      const now = performance.now();
      if (now - begin >= ms) break;
      if (checkpoints && now >= nextRequest) {
        channel.request();
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
    return { checkpoints, ops, ms: performance.now() - begin };
  };

  phase(start.warmupMs, true, true);
  const phases: PhaseResult[] = [];
  for (let i = 0; i < start.pairs; i++) {
    phases.push(phase(start.phaseMs, false, false));
    phases.push(phase(start.phaseMs, true, false));
  }
  // Let the last checkpoint finish before the naive one.
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(trackerWords, TrackerWord.PROTECTED) !== 0) Atomics.wait(nap, 0, 0, 5);

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
  return { phases, pauses, warmupSeqs, fullPauseMs: t2 - t0, fullCopyMs: t1 - t0, rawMBps: (memory.buffer.byteLength / 1e6) / ((t2 - t1) / 1000) };
}

onmessage = (event: MessageEvent<BenchComputeStart>) => {
  run(event.data).then(
    (result) => postMessage(result),
    (error: unknown) => postMessage({ phases: [], pauses: [], warmupSeqs: [], fullPauseMs: 0, fullCopyMs: 0, rawMBps: 0, error: String((error as Error)?.stack ?? error) }),
  );
};
