/**
 * The `grid` import module of a wasm program (API.md, Program ABI). A rank
 * of a coupled job messages the others through its RankPort (rank-port.ts);
 * a task that is not a rank of one has nobody to talk to, so `send`, `recv`
 * and a barrier of more than one rank fail at once instead of hanging.
 *
 * `recv`, `send` and `barrier` are the blocking imports: the instrumenter
 * lets the stack unwind inside them (asyncify.ts), and the driver gives them
 * `suspendHere` to begin a pending checkpoint while they wait.
 */
import { GridError } from '../../shared/errors.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { RankPort, SuspendHere } from './rank-port.ts';

export interface GridOptions {
  rank: number;
  size: number;
  /** Receives progress in [0, 1]. */
  progress(fraction: number): void;
  /** Present for a rank of a coupled job. */
  port?: RankPort;
}

/** What the driver gives the imports when it instantiates the program. */
export interface GridAccess {
  /** The program's memory, marking what the imports write. */
  memory: GuestMemory;
  suspendHere: SuspendHere;
}

/** The error messaging fails with in a task that is not a rank of a coupled job. */
export function messagingNotSupported(): GridError {
  return new GridError('NotSupported', 'this task is not a rank of a coupled job: post the job with "ranks" > 1 to exchange messages');
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

export function createGridImports(options: GridOptions, access: GridAccess): GridImports {
  const { port } = options;
  return {
    rank: () => options.rank,
    size: () => options.size,
    send: (to, ptr, length) => {
      if (!port) throw messagingNotSupported();
      // Copied before anything else: after a suspension the call is made again and copies again.
      const payload = access.memory.read(ptr >>> 0, length >>> 0);
      return port.send(to, payload, access.suspendHere) ?? 0;
    },
    recv: (from, ptr, capacity) => {
      if (!port) throw messagingNotSupported();
      const message = port.recv(from, access.suspendHere);
      if (message === undefined) return 0; // unwinding: the value is not seen
      // Too long: the message is consumed and its length returned negated (API.md).
      if (message.byteLength > capacity >>> 0) return -message.byteLength;
      access.memory.write(ptr >>> 0, message);
      return message.byteLength;
    },
    barrier: () => {
      if (options.size === 1) return; // everybody has already arrived
      if (!port) throw messagingNotSupported();
      port.barrier(access.suspendHere);
    },
    progress: (fraction: number) => {
      const clamped = clampProgress(fraction);
      if (clamped !== undefined) options.progress(clamped);
    },
  };
}
