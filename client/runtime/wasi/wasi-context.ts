/** What every group of WASI functions shares: the memory, the output sink, the open descriptors. */
import type { GuestMemory } from '../guest-memory.ts';
import { ERRNO, STDERR, STDIN } from './constants.ts';

/**
 * A WASI import as the module calls it: i32 arguments arrive as numbers, i64 ones
 * as bigints; it returns an errno (or nothing, for proc_exit).
 */
export type WasiFunction = (...args: never[]) => number | void;

export interface WasiContext {
  memory: GuestMemory;
  /** Receives bytes written to stdout (1) or stderr (2); each call gets a fresh copy. */
  write(fd: 1 | 2, bytes: Uint8Array): void;
  /** Standard streams the program closed. */
  closed: Set<number>;
}

export function isStdio(context: WasiContext, fd: number): boolean {
  return fd >= STDIN && fd <= STDERR && !context.closed.has(fd);
}

/** `errno` for an open standard stream, EBADF for anything else (there are no other descriptors). */
export function onStdio(context: WasiContext, fd: number, errno: number): number {
  return isStdio(context, fd) ? errno : ERRNO.BADF;
}
