/**
 * Programs as users post them: checked, made runnable (a wasm module's memory
 * becomes the shared process memory, share-memory.ts), made checkpointable
 * (instrumented once, in a worker thread, instrumented-cache.ts) and stored
 * by SHA-256. Volunteers download the instrumented module of a wasm program
 * and the posted bytes of a JS one. The posted and runnable bytes are kept
 * too: the runnable ones are what a later contract version instruments.
 */
import { GridError } from '../../shared/errors.ts';
import type { ProgramInfo } from '../../shared/http-api.ts';
import type { ProgramFormat } from '../../shared/states.ts';
import { logger } from '../logger.ts';
import { sha256Hex } from '../store/blob-store.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { ProgramRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { checkProgram } from './check-program.ts';
import type { CheckedProgram } from './check-program.ts';
import { InstrumentThread } from './instrument-thread.ts';
import { InstrumentedCache } from './instrumented-cache.ts';

const log = logger('programs');

export interface NewProgram {
  bytes: Uint8Array;
  format: ProgramFormat;
  name: string;
  builtin?: boolean;
  description?: string;
}

type Extras = Pick<ProgramInfo, 'defaultArgs' | 'defaultTasks'>;

const labelOf = (p: { id: string; name: string }) => `${p.name} (${p.id.slice(0, 12)})`;

export class ProgramService {
  /** Example metadata of built-ins (default args), by program id. */
  readonly #extras = new Map<string, Extras>();
  readonly #thread: InstrumentThread;
  readonly #instrumented: InstrumentedCache;
  #closed = false;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    thread = new InstrumentThread(),
  ) {
    this.#thread = thread;
    this.#instrumented = new InstrumentedCache(store.programs, blobs, thread);
  }

  /**
   * Checks, instruments (wasm) and stores a posted program. Rejects with
   * InvalidProgram, and stores nothing, if either step refuses it.
   */
  async add(program: NewProgram, extras: Extras = {}): Promise<ProgramRecord> {
    const id = sha256Hex(program.bytes);
    const checked = checkProgram(program.bytes, program.format);
    if (program.format === 'wasm') await this.#instrumented.ensure(id, labelOf({ id, name: program.name }), () => checked.runnable);
    return this.#put(program, checked, extras);
  }

  /**
   * Checks and stores a program without waiting for its instrumentation (the
   * built-ins at start-up): `instrumentInBackground` does that later, and a
   * download waits for it.
   */
  register(program: NewProgram, extras: Extras = {}): ProgramRecord {
    return this.#put(program, checkProgram(program.bytes, program.format), extras);
  }

  /** Instruments these programs one after another, off the caller's path; a failure is logged and kept for their downloads. */
  instrumentInBackground(ids: readonly string[]): void {
    const wasm = ids.map((id) => this.store.programs.get(id)).filter((p) => p?.format === 'wasm' && !this.#instrumented.cached(p.id));
    void (async () => {
      for (const program of wasm) {
        try {
          await this.#ensure(program!);
        } catch (error) {
          if (this.#closed) return;
          log.error(`${labelOf(program!)} cannot be made checkpointable; volunteers cannot run it: ${(error as Error).message}`);
        }
      }
    })();
  }

  /** A program by id (its SHA-256) or by name (built-ins first). */
  resolve(ref: string): ProgramRecord {
    const program = this.store.programs.get(ref) ?? this.store.programs.byName(ref);
    if (!program) throw new GridError('NotFound', `program: no program with id or name "${ref}"`);
    return program;
  }

  /**
   * What volunteers download: a wasm program's instrumented module (waiting
   * for its instrumentation if it is still running) or a JS program's bytes.
   * A wasm program we could not instrument is an InternalError (500): the
   * request is fine, the coordinator cannot serve it.
   */
  async downloadBytes(id: string): Promise<{ program: ProgramRecord; bytes: Buffer }> {
    const program = this.store.programs.get(id);
    if (!program) throw new GridError('NotFound', `no program with id "${id}"`);
    let hash = program.runnable;
    if (program.format === 'wasm') {
      try {
        hash = await this.#ensure(program);
      } catch (error) {
        if (!(error instanceof GridError) || error.status >= 500) throw error;
        throw new GridError('InternalError', `program ${labelOf(program)} cannot be made checkpointable: ${error.message}`);
      }
    }
    const bytes = this.blobs.get(hash);
    if (!bytes) throw new GridError('InternalError', `the bytes of program ${labelOf(program)} are missing from the data folder`);
    return { program, bytes };
  }

  /** How many times this process instrumented each program (cache misses), by program id. */
  get instrumentations(): ReadonlyMap<string, number> {
    return this.#instrumented.runs;
  }

  info(p: ProgramRecord): ProgramInfo {
    return {
      id: p.id,
      name: p.name,
      format: p.format,
      size: p.size,
      builtin: p.builtin,
      ...(p.description ? { description: p.description } : {}),
      ...this.#extras.get(p.id),
    };
  }

  list(): ProgramInfo[] {
    return this.store.programs.list().map((p) => this.info(p));
  }

  /** Stops the instrumentation worker; instrumentations in progress reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#thread.close();
  }

  #ensure(program: ProgramRecord): Promise<string> {
    return this.#instrumented.ensure(program.id, labelOf(program), () => {
      const runnable = this.blobs.get(program.runnable);
      if (!runnable) throw new GridError('InternalError', `the runnable bytes of program ${labelOf(program)} are missing from the data folder`);
      return runnable;
    });
  }

  #put(program: NewProgram, checked: CheckedProgram, extras: Extras): ProgramRecord {
    const { bytes, format } = program;
    const id = this.blobs.put(bytes);
    const record: ProgramRecord = {
      id,
      name: program.name,
      format,
      size: bytes.byteLength,
      builtin: program.builtin ?? false,
      ...(program.description ? { description: program.description } : {}),
      runnable: checked.runnable === bytes ? id : this.blobs.put(checked.runnable),
      memory: checked.memory,
      createdAt: new Date().toISOString(),
    };
    this.store.programs.put(record);
    this.#extras.set(id, extras);
    return this.store.programs.get(id) ?? record;
  }
}
