/**
 * Instrumented programs, made once: keyed by the SHA-256 of the posted bytes,
 * CHECKPOINTABLE_ABI and INSTRUMENTER_VERSION, kept in the blob store and recorded in the store, so
 * a second post, a concurrent post or a restarted coordinator on the same
 * data folder never instruments the same program again. Requests for a
 * program already being instrumented share its one run. A failure is kept
 * until the process restarts: the same bytes fail the same way, and a program
 * volunteers cannot get should not cost a second of CPU per download.
 */
import { CHECKPOINTABLE_ABI } from '../../shared/checkpointable-abi.ts';
import { INSTRUMENTER_VERSION } from './instrument/instrument-options.ts';
import { GridError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { ProgramStore } from '../store/store.ts';
import type { InstrumentThread } from './instrument-thread.ts';

const log = logger('instrument');

/** What a cached module was made by: the driver contract and the instrumenter's own version. */
const VERSION = `abi${CHECKPOINTABLE_ABI}.i${INSTRUMENTER_VERSION}`;

/** Failures as the coordinator reports them: ours keep their name, anything else is an InternalError that says what failed. */
function asGridError(error: unknown, label: string): GridError {
  if (error instanceof GridError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GridError('InternalError', `instrumenting ${label} failed: ${message}`);
}

export class InstrumentedCache {
  /** Program id → its run in progress (resolving to the instrumented blob's hash). */
  readonly #running = new Map<string, Promise<string>>();
  readonly #failed = new Map<string, GridError>();
  readonly #runs = new Map<string, number>();

  constructor(
    private readonly programs: ProgramStore,
    private readonly blobs: BlobStore,
    private readonly thread: InstrumentThread,
  ) {}

  /** How many times this process instrumented each program (cache misses), by program id. */
  get runs(): ReadonlyMap<string, number> {
    return this.#runs;
  }

  /** The hash of the program's instrumented bytes, if they are stored. */
  cached(id: string): string | undefined {
    const blob = this.programs.instrumented(id, VERSION);
    return blob !== undefined && this.blobs.has(blob) ? blob : undefined;
  }

  /**
   * The hash of the program's instrumented bytes: stored ones, the run already
   * in progress, or a new run on `runnable()` (share-memory.ts output).
   * Rejects with InvalidProgram for a module we cannot instrument.
   */
  ensure(id: string, label: string, runnable: () => Uint8Array): Promise<string> {
    const cached = this.cached(id);
    if (cached) return Promise.resolve(cached);
    const failed = this.#failed.get(id);
    if (failed) return Promise.reject(failed);
    let running = this.#running.get(id);
    if (!running) {
      running = this.#run(id, label, runnable).finally(() => this.#running.delete(id));
      this.#running.set(id, running);
    }
    return running;
  }

  async #run(id: string, label: string, runnable: () => Uint8Array): Promise<string> {
    this.#runs.set(id, (this.#runs.get(id) ?? 0) + 1);
    const started = performance.now();
    try {
      const { bytes, report } = await this.thread.instrument(runnable(), label);
      const blob = this.blobs.put(bytes);
      this.programs.recordInstrumented(id, VERSION, blob);
      const ms = Math.round(performance.now() - started);
      log.info(`instrumented ${label}: ${report.inputBytes} → ${report.outputBytes} bytes in ${Math.round(report.ms.total)} ms (${ms} ms with the queue and the worker's start)`);
      return blob;
    } catch (error) {
      const failure = asGridError(error, label);
      this.#failed.set(id, failure);
      throw failure;
    }
  }
}
