/**
 * A WASI preview1 implementation for one task, with no DOM or Node API so it
 * runs in a browser worker and in Node tests alike. Every function wasi-libc may
 * import exists; the ones about files and sockets answer with an errno.
 * https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md
 */
import type { GuestMemory } from '../guest-memory.ts';
import { argsEnvImports } from './args-env-imports.ts';
import { ERRNO } from './constants.ts';
import { fdImports } from './fd-imports.ts';
import { pathSockImports } from './path-sock-imports.ts';
import { procClockRandomImports } from './proc-clock-random-imports.ts';
import type { PrngState } from './prng.ts';
import type { WasiContext, WasiFunction } from './wasi-context.ts';

export interface WasiOptions {
  /** The program name, then its arguments. */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  memory: GuestMemory;
  /** State of the deterministic random_get; advanced in place (a checkpoint can copy it). */
  prng: PrngState;
  /** Receives what the program writes to stdout (1) and stderr (2); each call gets a fresh copy. */
  write(fd: 1 | 2, bytes: Uint8Array): void;
}

/** A pointer the program passed that lies outside its memory is EFAULT, not a crash of the runtime. */
function guarded(f: WasiFunction): WasiFunction {
  const call = f as (...args: unknown[]) => number | void;
  return (...args: never[]) => {
    try {
      return call(...args);
    } catch (error) {
      if (error instanceof RangeError) return ERRNO.FAULT;
      throw error;
    }
  };
}

/** The `wasi_snapshot_preview1` import object. */
export function createWasiImports(options: WasiOptions): Record<string, WasiFunction> {
  const context: WasiContext = { memory: options.memory, write: options.write, closed: new Set() };
  const all = {
    ...argsEnvImports(context, options.argv, options.env),
    ...fdImports(context),
    ...pathSockImports(context),
    ...procClockRandomImports(context, options.prng),
  };
  return Object.fromEntries(Object.entries(all).map(([name, f]) => [name, guarded(f)]));
}
