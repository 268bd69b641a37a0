/**
 * What `instrumentProgram` can add, and what it reports. The full set is what
 * a job runs; the partial ones exist to attribute the cost in the benchmark
 * (issue 4: polls-only, barrier-only figures) and to test in Node 20, whose
 * V8 has no multi-memory (so no tracker memory: `request: 'global'`).
 */

/**
 * Version of what the instrumentation does to a module, apart from the
 * contract with the driver (CHECKPOINTABLE_ABI): bump it when the output
 * changes (a faster barrier, fewer polls), so cached modules are made again.
 * 2: cached barriers in call-free loops, no polls in short counted loops.
 * 3: the stack may unwind inside `grid.send` too.
 */
export const INSTRUMENTER_VERSION = 3;

export interface InstrumentOptions {
  /** The inline write barrier before every store and bulk-memory write (needs multi-memory). @default true */
  barrier?: boolean;
  /** Barriers in loops without calls remember the page they last found marked (barrier.ts `barrierCached`). Off only to measure what it saves. @default true */
  cacheBarrier?: boolean;
  /** Safepoint polls at loop headers and recursive functions' entries, and Asyncify. @default true */
  polls?: boolean;
  /** Leave loops without a poll when they provably end soon (short-loops.ts). Off only to measure what it saves. @default true */
  skipShortLoops?: boolean;
  /**
   * Where a poll reads the request count: `'tracker'`, a header word of the
   * tracker memory that any thread may bump; `'global'`, an exported global
   * only the running thread can set (tests, runtimes without multi-memory).
   * @default 'tracker'
   */
  request?: 'tracker' | 'global';
  /** Binaryen optimize level for Asyncify and the final pass (0 costs far more at run time). @default 2 */
  optimizeLevel?: number;
  /** Asyncify after the polls. Off only to measure what the polls alone cost: such a module cannot checkpoint. @default true */
  asyncify?: boolean;
  /** Run binaryen's whole-module optimizer after Asyncify (Asyncify already optimizes what it instruments). @default false */
  finalOptimize?: boolean;
}

export interface InstrumentReport {
  inputBytes: number;
  outputBytes: number;
  functions: number;
  /** Stores (every width, atomic ones included) and read-modify-writes given a barrier. */
  stores: number;
  /** memory.fill, memory.copy and memory.init given a barrier. */
  bulk: number;
  loopPolls: number;
  /** Functions on a call-graph cycle, polled at entry. */
  entryPolls: number;
  /** memory.size and memory.grow of the program, redirected around the reserved pages. */
  memoryOps: number;
  /** Time per phase and in all. */
  ms: { validate: number; walk: number; asyncify: number; optimize: number; emit: number; total: number };
}

export type ResolvedOptions = Required<InstrumentOptions>;

export function resolveOptions(options: InstrumentOptions): ResolvedOptions {
  return { barrier: options.barrier ?? true, cacheBarrier: options.cacheBarrier ?? true, skipShortLoops: options.skipShortLoops ?? true, polls: options.polls ?? true, request: options.request ?? 'tracker', optimizeLevel: options.optimizeLevel ?? 2, finalOptimize: options.finalOptimize ?? false, asyncify: options.asyncify ?? true };
}
