/**
 * Programs as users post them: validated, stored by SHA-256, and made runnable
 * (a wasm module's memory becomes the shared process memory, share-memory.ts).
 * Volunteers download the runnable bytes; the original bytes are kept for the
 * instrumentation of later versions.
 */
import { GridError } from '../../shared/errors.ts';
import type { ProgramInfo } from '../../shared/http-api.ts';
import { MAX_MEMORY_PAGES } from '../../shared/limits.ts';
import type { ProgramFormat } from '../../shared/states.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { ProgramRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { shareMemory } from './share-memory.ts';

/** Process memory of a JS step program at start, in 64 KiB pages (it may grow). */
const JS_INITIAL_PAGES = 16;

export interface NewProgram {
  bytes: Uint8Array;
  format: ProgramFormat;
  name: string;
  builtin?: boolean;
  description?: string;
}

/** Node's buffers are typed as possibly shared; these never are. */
const asSource = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

function checkWasm(bytes: Uint8Array): { runnable: Uint8Array; memory: ProgramRecord['memory'] } {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(asSource(bytes));
  } catch (error) {
    throw new GridError('InvalidProgram', `not a valid WebAssembly module: ${(error as Error).message}`);
  }
  const start = WebAssembly.Module.exports(module).find((e) => e.name === '_start');
  if (!start || start.kind !== 'function') {
    throw new GridError('InvalidProgram', 'the module exports no _start function: build it as a WASI command');
  }
  const { bytes: runnable, memory } = shareMemory(bytes, MAX_MEMORY_PAGES);
  try {
    new WebAssembly.Module(asSource(runnable));
  } catch (error) {
    throw new GridError('InvalidProgram', `the module cannot use a shared memory: ${(error as Error).message}`);
  }
  return { runnable, memory };
}

function checkJs(bytes: Uint8Array): void {
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new GridError('InvalidProgram', 'a JS program must be UTF-8 text');
  }
  for (const name of ['init', 'step']) {
    if (!new RegExp(`\\b${name}\\b`).test(source)) {
      throw new GridError('InvalidProgram', `a JS step program exports init(ctx) and step(ctx); "${name}" is missing`);
    }
  }
}

export class ProgramService {
  /** Example metadata of built-ins (default args), by program id. */
  readonly #extras = new Map<string, Pick<ProgramInfo, 'defaultArgs' | 'defaultTasks'>>();

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
  ) {}

  add(program: NewProgram, extras: Pick<ProgramInfo, 'defaultArgs' | 'defaultTasks'> = {}): ProgramRecord {
    const { bytes, format } = program;
    let runnable = bytes;
    let memory = { initial: JS_INITIAL_PAGES, maximum: MAX_MEMORY_PAGES };
    if (format === 'wasm') ({ runnable, memory } = checkWasm(bytes));
    else checkJs(bytes);
    const id = this.blobs.put(bytes);
    const record: ProgramRecord = {
      id,
      name: program.name,
      format,
      size: bytes.byteLength,
      builtin: program.builtin ?? false,
      ...(program.description ? { description: program.description } : {}),
      runnable: runnable === bytes ? id : this.blobs.put(runnable),
      memory,
      createdAt: new Date().toISOString(),
    };
    this.store.programs.put(record);
    this.#extras.set(id, extras);
    return this.store.programs.get(id) ?? record;
  }

  /** A program by id (its SHA-256) or by name (built-ins first). */
  resolve(ref: string): ProgramRecord {
    const program = this.store.programs.get(ref) ?? this.store.programs.byName(ref);
    if (!program) throw new GridError('NotFound', `program: no program with id or name "${ref}"`);
    return program;
  }

  runnableBytes(id: string): { program: ProgramRecord; bytes: Buffer } {
    const program = this.store.programs.get(id);
    const bytes = program && this.blobs.get(program.runnable);
    if (!program || !bytes) throw new GridError('NotFound', `no program with id "${id}"`);
    return { program, bytes };
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
}

