/**
 * The contract between the coordinator's instrumentation of a wasm program
 * (server/programs/instrument/) and the volunteer's driver that runs it
 * (client/runtime/checkpointable/): the names the instrumented module imports
 * and exports, and the JSON state a suspension produces (DESIGN.md §3–4, issue
 * 4). Declared once here because the two sides are built and deployed apart:
 * a module instrumented today must run under tomorrow's driver, so any change
 * of meaning bumps `CHECKPOINTABLE_ABI`.
 */
import { TrackerWord } from './tracker-layout.ts';

/** Version of this contract; recorded in every state and in the module's custom section. */
export const CHECKPOINTABLE_ABI = 1;

/** The import module of everything the instrumentation adds. */
export const CKPT_MODULE = 'ckpt';

/** Imports of the `ckpt` module. */
export const CkptImport = {
  /** `() -> ()`: called by a poll that found a request pending; the one place the stack unwinds. */
  SAFEPOINT: 'safepoint',
  /** `(addr i32, len i32) -> ()`: the barrier's slow path (PageTracker.markWrite); addresses arrive signed. */
  MARK_WRITE: 'mark_write',
  /** Shared memory whose buffer is the tracker's SharedArrayBuffer (tracker-layout.ts). */
  TRACKER: 'tracker',
  /** Immutable i32 global: log2 of the job's tracking page size. */
  PAGE_SHIFT: 'page_shift',
} as const;

/** Exports the instrumentation adds (besides Asyncify's `asyncify_*` functions). */
export const CkptExport = {
  /** Mutable i32: the current interval E the inline barrier compares page words with. */
  EPOCH: 'ckpt_epoch',
  /** Mutable i32: the request count the driver has served; a poll calls the safepoint while the request word differs. */
  SERVED: 'ckpt_served',
  /** Mutable i32, only in `request: 'global'` modules: the request count, set from the same thread. */
  REQUEST: 'ckpt_request',
  /** Mutable i32: 64 KiB pages at the top of memory reserved for the unwind buffer, hidden from the program. */
  RESERVED_PAGES: 'ckpt_reserved_pages',
  /** Prefix of the program's own mutable globals, followed by their index: `ckpt_global_0` is the stack pointer of a clang program. */
  GLOBAL_PREFIX: 'ckpt_global_',
} as const;

/** Asyncify's exports (binaryen's pass), as the driver calls them. */
export const AsyncifyExport = {
  START_UNWIND: 'asyncify_start_unwind',
  STOP_UNWIND: 'asyncify_stop_unwind',
  START_REWIND: 'asyncify_start_rewind',
  STOP_REWIND: 'asyncify_stop_rewind',
  GET_STATE: 'asyncify_get_state',
} as const;

/** `asyncify_get_state()` values. */
export const AsyncifyState = { NORMAL: 0, UNWINDING: 1, REWINDING: 2 } as const;

/**
 * Custom section of an instrumented module: UTF-8 JSON `CkptModuleInfo`. The
 * driver reads it with `WebAssembly.Module.customSections`, so the worker
 * needs no parser of its own.
 */
export const CKPT_SECTION = 'ckpt.info';

export interface CkptModuleInfo {
  abi: number;
  /** What was instrumented. */
  barrier: boolean;
  polls: boolean;
  /** Where a poll reads the request count: a tracker header word (any thread may bump it) or the `ckpt_request` global (same thread only). */
  request: 'tracker' | 'global' | 'none';
  /** Byte ranges `[offset, length]` the module's active data segments write at instantiation. */
  dataRanges: [number, number][];
  /** The program's mutable globals in index order: export name and type (JS cannot ask a WebAssembly.Global its type). */
  globals: [name: string, type: GlobalType][];
}

/** Tracker header word a poll reads in `request: 'tracker'` modules (tracker-layout.ts). */
export const TRACKER_REQUEST_WORD = TrackerWord.REQUESTS;

/** Reserved for the unwind buffer at the first checkpoint unless the driver is told otherwise (1 MiB). */
export const DEFAULT_UNWIND_PAGES = 16;

export type GlobalType = 'i32' | 'i64' | 'f32' | 'f64';

/** A wasm global's value in JSON: i64 as a decimal string, floats by their bits (NaN payloads, -0 and infinities survive). */
export type GlobalValue =
  | { type: 'i32'; value: number }
  | { type: 'i64'; value: string }
  | { type: 'f32'; bits: number }
  | { type: 'f64'; bits: string };

/**
 * The non-memory state of a suspended instrumented program: everything a
 * fresh instance of the same module needs, besides the memory bytes, to
 * rewind into the saved stack. JSON-able as is.
 */
export interface CheckpointableState {
  abi: number;
  /** The program's mutable globals by export name (the stack pointer among them). */
  globals: Record<string, GlobalValue>;
  /** Memory size at the suspension, in 64 KiB pages, the reserved top pages included. */
  memoryPages: number;
  /** The top pages reserved for the unwind buffer (the program sees `memoryPages - reservedPages`). */
  reservedPages: number;
  /** Asyncify's data header (`{current, end}`, then the unwound frames) and how far the frames reach. */
  unwind: { address: number; end: number };
  /** Bytes the program wrote to stdout and stderr before the suspension: a resume truncates its output to them. */
  output: { stdout: number; stderr: number };
  /** The WASI shim's own state: the random generator and the standard streams the program closed. */
  wasi: { prng: { s0: number; s1: number; s2: number; s3: number; draws: number }; closed: number[] };
}
