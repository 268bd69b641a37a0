/**
 * Where Asyncify's unwind data lives: the top pages of the process memory,
 * reserved by growing the memory at the first checkpoint, so the data is
 * inside the memory and is checkpointed with it, and a restore finds it where
 * the state says. The instrumented program sees the memory without them
 * (server/programs/instrument/memory-virtualization.ts), so no allocator
 * ever hands them out; they stay on top as the program grows, and later
 * checkpoints reuse them. While the program runs they hold zeros: the pages
 * the program gains from them when it grows must be as fresh as new ones.
 *
 * Layout at `address`: Asyncify's header `{current, end}` (two i32), then the
 * frames from `address + 8` up to `current`.
 */
import { TaskError } from '../task-error.ts';

export const WASM_PAGE = 65536;
const HEADER_BYTES = 8;

/** The reserved pages' first byte, growing the memory by `pages` if none are reserved yet; returns the new reservation. */
export function reserveRegion(memory: WebAssembly.Memory, reserved: number, pages: number): { address: number; reserved: number } {
  if (reserved === 0) {
    try {
      memory.grow(pages);
    } catch (error) {
      throw new TaskError('InvalidProgram', `no room for the ${pages}-page unwind buffer at the top of memory: ${(error as Error).message}`);
    }
    reserved = pages;
  }
  return { address: memory.buffer.byteLength - reserved * WASM_PAGE, reserved };
}

/** Writes the header for an unwind into the region at `address` (everything after it is free). */
export function prepareUnwind(memory: WebAssembly.Memory, address: number, reserved: number): void {
  const view = new DataView(memory.buffer);
  view.setInt32(address, address + HEADER_BYTES, true);
  view.setInt32(address + 4, address + reserved * WASM_PAGE, true);
}

/** How far the unwound frames reach (Asyncify's `current` after the unwind). */
export function unwindEnd(memory: WebAssembly.Memory, address: number): number {
  return new DataView(memory.buffer).getInt32(address, true) >>> 0;
}

/** Zeroes what an unwind wrote, once the stack is rewound (see the file comment). */
export function clearRegion(memory: WebAssembly.Memory, address: number, end: number): void {
  new Uint8Array(memory.buffer, address, end - address).fill(0);
}
