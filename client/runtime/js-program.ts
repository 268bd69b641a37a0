/**
 * The shape of a JS step program (API.md, Program ABI) and the check that a
 * loaded module has it.
 */
import { TaskError } from './task-error.ts';

export interface JsContext {
  /** The process memory: all state that must survive a checkpoint lives here (views over `memory.buffer`). */
  readonly memory: WebAssembly.Memory;
  readonly args: readonly string[];
  readonly rank: number;
  readonly size: number;
  /**
   * Coupled jobs: queues a message to rank `to` (copied); false when too
   * many to that rank are unacknowledged: return from the step and send it
   * again in a later one.
   */
  send(to: number, data: Uint8Array): boolean;
  /** Coupled jobs: the next message from rank `from`, or null if none has arrived yet (return from the step and try again). */
  recv(from: number): Uint8Array | null;
  /** Progress in [0, 1]. */
  progress(fraction: number): void;
  /** Writes `text` and a newline to stdout. */
  print(text: string): void;
  /**
   * Optional, for speed: declares that the program wrote
   * `[byteOffset, byteOffset + length)` of `memory` since the last step.
   * A checkpoint then compares only the declared pages instead of the whole
   * memory. Once a program declares anything between two checkpoints, it
   * must declare every write in that span: undeclared writes are missed.
   */
  wrote(byteOffset: number, length: number): void;
}

export interface JsProgram {
  init(ctx: JsContext): void | Promise<void>;
  /** Does a bounded amount of work; true when finished. */
  step(ctx: JsContext): boolean | Promise<boolean>;
  /** The task's result, JSON-serialisable. */
  result?(ctx: JsContext): unknown;
}

/** Checks that a module namespace exports `init`, `step` and optionally `result` as functions. */
export function asJsProgram(namespace: unknown): JsProgram {
  const exports = (namespace ?? {}) as Record<string, unknown>;
  for (const name of ['init', 'step'] as const) {
    if (typeof exports[name] !== 'function') {
      throw new TaskError('InvalidProgram', `a JS program must export a function ${name}(ctx); this one exports ${describeExports(exports)}`);
    }
  }
  if (exports.result !== undefined && typeof exports.result !== 'function') {
    throw new TaskError('InvalidProgram', 'the export result must be a function result(ctx)');
  }
  return exports as unknown as JsProgram;
}

function describeExports(exports: Record<string, unknown>): string {
  const names = Object.keys(exports);
  return names.length ? names.join(', ') : 'nothing';
}
