/**
 * The page side of instrument-barrier.test.ts and of the instrumentation
 * benchmark, bundled at test time and run in a cross-origin-isolated page of
 * Chromium (multi-memory, which Node 20 lacks). Runs fully instrumented
 * programs with a real PageTracker whose buffer is the `ckpt.tracker` memory,
 * requests checkpoints from another thread at real times, and at every
 * suspension compares the tracker's marks with a diff of memory; then resumes
 * checkpoints in fresh instances. Programs run on the page's main thread (the
 * driver is synchronous); the checkpoint worker is played by a synchronous
 * scan at each suspension, so no write ever waits for it.
 */
import { CheckpointableProgram } from '../../client/runtime/checkpointable/checkpointable-program.ts';
import { createTrackerMemory } from '../../client/runtime/checkpointable/tracker-memory.ts';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import { GuestMemory } from '../../client/runtime/guest-memory.ts';
import { seedPrng } from '../../client/runtime/wasi/prng.ts';
import { ProcExit } from '../../client/runtime/wasi/proc-exit.ts';
import { createWasiImports } from '../../client/runtime/wasi/wasi-shim.ts';
import { TRACKER_REQUEST_WORD } from '../../shared/checkpointable-abi.ts';
import type { CheckpointableState } from '../../shared/checkpointable-abi.ts';
import { PageState, TRACKER_HEADER_WORDS, TrackerWord } from '../../shared/tracker-layout.ts';

const WASM_PAGE = 65536;

export interface BarrierRun {
  wasm: number[];
  argv: string[];
  pageSize: number;
  initialPages: number;
  maxPages: number;
  /** A checkpoint is requested this often, from a worker, while the program runs. */
  requestEveryMs: number;
  /** Keep at most this many checkpoints to resume. */
  keep: number;
}

export interface Output {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface BarrierResult extends Output {
  checkpoints: number;
  /** Pages that changed in an interval but were not marked with it ("interval:page"). */
  missing: string[];
  /** Pages marked but unchanged (written with the same bytes, or by the unwind data and its clearing). */
  extra: number;
  changed: number;
  resumed: { output: Output; state: CheckpointableState }[];
}

const decoder = new TextDecoder('latin1');

function collector() {
  const parts: Record<1 | 2, string[]> = { 1: [], 2: [] };
  return {
    write: (fd: 1 | 2, bytes: Uint8Array) => void parts[fd].push(decoder.decode(bytes)),
    output: (exitCode: number): Output => ({ stdout: parts[1].join(''), stderr: parts[2].join(''), exitCode }),
  };
}

/**
 * A worker that requests a checkpoint `ms` after the previous one was served
 * (`served[0]`, written by the page at each suspension) until terminated, so
 * the program runs between checkpoints however long a suspension takes here.
 */
async function requester(tracker: SharedArrayBuffer, served: SharedArrayBuffer, ms: number): Promise<Worker> {
  const source = `onmessage = (e) => {
    const w = new Int32Array(e.data[0]), s = new Int32Array(e.data[1]);
    setInterval(() => { if (Atomics.load(s, 0) === Atomics.load(w, ${TRACKER_REQUEST_WORD})) Atomics.add(w, ${TRACKER_REQUEST_WORD}, 1); }, ${ms});
    postMessage('ticking');
  };`;
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
  const ticking = new Promise((resolve) => (worker.onmessage = resolve));
  worker.postMessage([tracker, served]);
  await ticking;
  return worker;
}

/** The checkpoint worker's part, done at once: every page of checkpoint k is saved, the protection lifted. */
function saveAll(words: Int32Array, k: number): void {
  for (let i = TRACKER_HEADER_WORDS; i < words.length; i++) if (words[i] === k) words[i] = PageState.SAVED;
  Atomics.store(words, TrackerWord.PROTECTED, 0);
}

/** Whether page `[start, start + size)` differs; `before` may be shorter (memory grew: its new pages were zeros). */
function pageChanged(before: Int32Array, now: Int32Array, start: number, size: number): boolean {
  for (let i = start >> 2; i < (start + size) >> 2; i++) if ((before[i] ?? 0) !== now[i]) return true;
  return false;
}

async function barrierRun(run: BarrierRun): Promise<BarrierResult> {
  const module = await WebAssembly.compile(new Uint8Array(run.wasm));
  const trackerOptions = { maxBytes: run.maxPages * WASM_PAGE, pageSize: run.pageSize };
  const { memory: trackerMemory, buffers } = createTrackerMemory(trackerOptions);
  const memory = new WebAssembly.Memory({ initial: run.initialPages, maximum: run.maxPages, shared: true });
  const tracker = new PageTracker(buffers, memory);
  const words = new Int32Array(trackerMemory.buffer);
  const out = collector();
  const result: BarrierResult = { stdout: '', stderr: '', exitCode: -1, checkpoints: 0, missing: [], extra: 0, changed: 0, resumed: [] };
  const served = new Int32Array(new SharedArrayBuffer(4));
  let before = new Uint8Array(memory.buffer.byteLength); // zeros: what the memory held before instantiation
  const kept: { memory: Uint8Array; state: CheckpointableState }[] = [];
  const program = await CheckpointableProgram.start(
    {
      module,
      memory,
      argv: run.argv,
      env: {},
      write: out.write,
      tracker: { memory: trackerMemory, markWrite: (a, n) => tracker.markWrite(a, n) },
      onSuspend: (state) => {
        const k = tracker.interval;
        const now = new Uint8Array(memory.buffer);
        const beforeWords = new Int32Array(before.buffer);
        const nowWords = new Int32Array(memory.buffer);
        for (let start = 0, page = 0; start < now.length; start += run.pageSize, page++) {
          const changed = pageChanged(beforeWords, nowWords, start, run.pageSize);
          const marked = words[TRACKER_HEADER_WORDS + page] === k;
          if (changed) result.changed++;
          if (changed && !marked) result.missing.push(`${k}:${page}`);
          if (marked && !changed) result.extra++;
        }
        before = now.slice();
        if (kept.length < run.keep) kept.push({ memory: before, state: JSON.parse(JSON.stringify(state)) as CheckpointableState });
        if (tracker.beginCheckpoint() !== k) throw new Error('a checkpoint was still in flight');
        saveAll(words, k);
        result.checkpoints++;
        Atomics.store(served, 0, Atomics.load(words, TRACKER_REQUEST_WORD));
      },
    },
    seedPrng(1),
  );
  const worker = await requester(buffers.tracker, served.buffer as SharedArrayBuffer, run.requestEveryMs);
  // One request before the start, so even a program that ends before the requester's first tick (a busy machine) checkpoints at its first poll.
  Atomics.add(words, TRACKER_REQUEST_WORD, 1);
  let exitCode: number;
  try {
    exitCode = program.run().exitCode;
  } finally {
    worker.terminate();
  }
  Object.assign(result, out.output(exitCode));
  for (const checkpoint of kept) result.resumed.push({ output: await resume(module, run, checkpoint), state: checkpoint.state });
  return result;
}

/** Resumes a checkpoint in a fresh instance with a fresh tracker (the next interval), to the end. */
async function resume(module: WebAssembly.Module, run: BarrierRun, checkpoint: { memory: Uint8Array; state: CheckpointableState }): Promise<Output> {
  const memory = new WebAssembly.Memory({ initial: checkpoint.state.memoryPages, maximum: run.maxPages, shared: true });
  new Uint8Array(memory.buffer).set(checkpoint.memory);
  const { memory: trackerMemory, buffers } = createTrackerMemory({ maxBytes: run.maxPages * WASM_PAGE, pageSize: run.pageSize, firstInterval: 2 });
  const tracker = new PageTracker(buffers, memory);
  tracker.markAllWritten();
  const out = collector();
  const program = await CheckpointableProgram.resume(
    { module, memory, argv: run.argv, env: {}, write: out.write, tracker: { memory: trackerMemory, markWrite: (a, n) => tracker.markWrite(a, n) }, onSuspend: () => {} },
    checkpoint.state,
  );
  return out.output(program.run().exitCode);
}

export interface BenchRun {
  variants: { label: string; wasm: number[]; instrumented: boolean }[];
  argv: string[];
  initialPages: number;
  maxPages: number;
  repeats: number;
}

/** Median run time of each variant, interleaved (one run of each per round), on a fresh memory each run. */
async function bench(run: BenchRun): Promise<Record<string, number[]>> {
  const modules = await Promise.all(run.variants.map((v) => WebAssembly.compile(new Uint8Array(v.wasm))));
  const times: Record<string, number[]> = Object.fromEntries(run.variants.map((v) => [v.label, []]));
  for (let round = 0; round < run.repeats; round++) {
    for (const [i, variant] of run.variants.entries()) {
      const memory = new WebAssembly.Memory({ initial: run.initialPages, maximum: run.maxPages, shared: true });
      let start: () => number;
      if (variant.instrumented) {
        const { memory: trackerMemory, buffers } = createTrackerMemory({ maxBytes: run.maxPages * WASM_PAGE, pageSize: 4096 });
        const tracker = new PageTracker(buffers, memory);
        const program = await CheckpointableProgram.start(
          { module: modules[i]!, memory, argv: run.argv, env: {}, write: () => {}, tracker: { memory: trackerMemory, markWrite: (a, n) => tracker.markWrite(a, n) }, onSuspend: () => {} },
          seedPrng(1),
        );
        start = () => program.run().exitCode;
      } else {
        const wasi = createWasiImports({ argv: run.argv, env: {}, memory: new GuestMemory(memory), prng: seedPrng(1), write: () => {} });
        const instance = await WebAssembly.instantiate(modules[i]!, { env: { memory }, wasi_snapshot_preview1: wasi });
        start = () => {
          try {
            (instance.exports._start as () => void)();
            return 0;
          } catch (error) {
            if (error instanceof ProcExit) return error.code;
            throw error;
          }
        };
      }
      const t = performance.now();
      start();
      times[variant.label]!.push(performance.now() - t);
    }
  }
  return times;
}

/** For the exact-marking test: calls `fn(...args)` of a barrier-only module and returns the pages it marked. */
async function marksOf(wasm: number[], calls: { fn: string; args: number[] }[], pageSize: number): Promise<number[][]> {
  const module = await WebAssembly.compile(new Uint8Array(wasm));
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
  const { memory: trackerMemory, buffers } = createTrackerMemory({ maxBytes: 4 * WASM_PAGE, pageSize });
  const tracker = new PageTracker(buffers, memory);
  const words = new Int32Array(trackerMemory.buffer);
  const instance = await WebAssembly.instantiate(module, {
    env: { memory },
    ckpt: { tracker: trackerMemory, page_shift: Math.log2(pageSize), mark_write: (a: number, n: number) => tracker.markWrite(a >>> 0, n >>> 0) },
  });
  (instance.exports.ckpt_epoch as WebAssembly.Global).value = tracker.interval;
  const marks: number[][] = [];
  for (const call of calls) {
    words.fill(0, TRACKER_HEADER_WORDS);
    (instance.exports[call.fn] as (...a: number[]) => unknown)(...call.args);
    const marked: number[] = [];
    for (let i = TRACKER_HEADER_WORDS; i < words.length; i++) if (words[i] === tracker.interval) marked.push(i - TRACKER_HEADER_WORDS);
    marks.push(marked);
  }
  return marks;
}

export const harness = { barrierRun, bench, marksOf, isolated: () => crossOriginIsolated };
export type Harness = typeof harness;
(globalThis as unknown as { instrumentHarness: Harness }).instrumentHarness = harness;
