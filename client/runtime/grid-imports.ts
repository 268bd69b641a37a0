/**
 * The `grid` import module of a wasm program (API.md, Program ABI) and the
 * matching members of a JS program's ctx. Messaging between ranks comes with
 * issue 6; until then a program that really uses it fails at once instead of hanging.
 */
import { GridError } from '../../shared/errors.ts';

export interface GridOptions {
  rank: number;
  size: number;
  /** Receives progress in [0, 1]. */
  progress(fraction: number): void;
}

/** The error `send`, `recv` and a multi-rank `barrier` fail with until issue 6. */
export function messagingNotSupported(): GridError {
  return new GridError('NotSupported', 'messaging between ranks is not supported yet (issue 6)');
}

/** Clamps to [0, 1]; NaN is dropped (undefined). */
export function clampProgress(fraction: number): number | undefined {
  if (Number.isNaN(fraction)) return undefined;
  return Math.min(1, Math.max(0, fraction));
}

export interface GridImports {
  rank(): number;
  size(): number;
  send(to: number, ptr: number, length: number): number;
  recv(from: number, ptr: number, capacity: number): number;
  barrier(): void;
  progress(fraction: number): void;
}

export function createGridImports(options: GridOptions): GridImports {
  return {
    rank: () => options.rank,
    size: () => options.size,
    send: () => {
      throw messagingNotSupported();
    },
    recv: () => {
      throw messagingNotSupported();
    },
    barrier: () => {
      // With one rank everybody has already arrived.
      if (options.size > 1) throw messagingNotSupported();
    },
    progress: (fraction: number) => {
      const clamped = clampProgress(fraction);
      if (clamped !== undefined) options.progress(clamped);
    },
  };
}
