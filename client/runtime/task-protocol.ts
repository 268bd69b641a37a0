/**
 * The contract between the volunteer page (task host) and a compute worker,
 * carried by comlink: the host calls `run` once per worker; the worker calls the
 * host back with output and progress. A task is cancelled by terminating its worker.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { OutputStream, ProgramFormat } from '../../shared/states.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { MessageCounts, RankChannels } from './rank-port.ts';

/**
 * The shared objects that tie a task's compute worker to its checkpoint
 * worker; the page creates them and hands them to both (structured clone
 * shares them, it does not copy).
 */
export interface CheckpointLink {
  /** The process memory (already holding the checkpoint when resuming). */
  memory: WebAssembly.Memory;
  /**
   * Present when written pages are found by comparison (JS programs): where
   * the compute side freezes the memory at each suspension for the
   * checkpoint worker to save (page-diff.ts). Absent when the program runs
   * the write barrier itself (instrumented wasm) and is saved from `memory`.
   */
  shadow?: WebAssembly.Memory;
  /** The tracker as a shared memory, for instrumented wasm to import as `ckpt.tracker`; its buffer is `buffers.tracker`. */
  trackerMemory: WebAssembly.Memory;
  buffers: TrackerBuffers;
  /** The CheckpointChannel's buffer. */
  channel: SharedArrayBuffer;
  /** Set when `memory` holds checkpoint `seq`: the task continues from `state` instead of starting. */
  resume?: { seq: number; state: JsonValue };
}

/** What a compute worker needs of an assignment, plus where its program comes from. */
export interface TaskSpec extends Pick<TaskAssignment, 'taskId' | 'args' | 'env' | 'rank' | 'ranks' | 'seed' | 'pageSize' | 'memory'> {
  /** Same-origin URL of the program's bytes (instrumented wasm, or the JS module); names it in errors. */
  programUrl: string;
  /**
   * The program's bytes, fetched by the page: the volunteer's compute worker
   * cannot fetch (its CSP has `connect-src 'none'`, global-lockdown.ts).
   * Absent: the worker fetches `programUrl` itself (Node tests, harness workers without that CSP).
   */
  program?: ArrayBuffer;
  /** Where the worker shows it is alive, for the page's watchdog (liveness.ts). Absent: not watched. */
  liveness?: SharedArrayBuffer;
  format: ProgramFormat;
  /** argv[0] of a WASI program. */
  programName: string;
  /** Absent: the task runs without checkpoints, on a memory of its own. */
  checkpoint?: CheckpointLink;
  /** A rank of a coupled job: where its messages come in, and its checkpoint gate. */
  coupling?: RankChannels;
}

export interface TaskCallbacks {
  /** Output in order, in chunks of at most MAX_OUTPUT_CHUNK_BYTES. */
  output(stream: OutputStream, data: Uint8Array): void;
  /** Progress from 0 to 1, throttled by the worker. */
  progress(fraction: number): void;
  /** Checkpoint `seq` was begun; the program stopped for `stopMs` (the checkpoint worker saves it from here). */
  suspended?(seq: number, stopMs: number): void;
  /** A rank's message-layer counters since the last report. */
  messageStats?(delta: MessageCounts): void;
  /** A rank waited `ms` at the gate after checkpoint `seq`, for its round's barrier. */
  released?(seq: number, ms: number): void;
}

export interface TaskOutcome {
  exitCode: number;
  /** What a JS program's `result(ctx)` returned (JSON-serialisable). */
  result?: unknown;
  /**
   * A resumed wasm run: its stack went back into the checkpoint's (the
   * rewind reached the safepoint it unwound from) rather than starting over.
   * For tests, which cannot always see it happen in memory.
   */
  rewound?: boolean;
}

export interface ComputeWorkerApi {
  /** Runs the task to the end. Rejects with a named error (UnsupportedImport, ProgramTrap, …). */
  run(spec: TaskSpec, callbacks: TaskCallbacks): Promise<TaskOutcome>;
}
