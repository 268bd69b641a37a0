/**
 * Reads and writes the program's linear memory on behalf of the imports.
 *
 * Views are made afresh from `memory.buffer` on every access because the memory
 * can grow (a grown shared memory hands out a new, longer SharedArrayBuffer).
 * Reads return copies: browsers refuse to decode or post views of a
 * SharedArrayBuffer, and the program may overwrite the bytes later.
 * Every write goes through `written`, the one place that marks pages dirty
 * for the checkpoint tracker (DESIGN.md §4), and it comes BEFORE the write:
 * marking a page a checkpoint in flight still has to save copies it out
 * first (copy-on-write) or waits until it is saved, so the checkpoint holds
 * the page as it was when the program stopped, not with bytes written after.
 * Out-of-bounds accesses throw a RangeError, which the WASI shim answers
 * with EFAULT.
 */
export type WriteListener = (ptr: number, length: number) => void;

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;

  constructor(
    memory?: WebAssembly.Memory,
    private readonly onWrite?: WriteListener,
  ) {
    this.memory = memory;
  }

  /** Binds the memory when it is only known after instantiation (a module that exports its own). */
  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  get buffer(): ArrayBufferLike {
    if (!this.memory) throw new Error('the program memory is not bound yet');
    return this.memory.buffer;
  }

  private view(): DataView {
    return new DataView(this.buffer);
  }

  private check(ptr: number, length: number): void {
    if (ptr < 0 || length < 0 || ptr + length > this.buffer.byteLength) {
      throw new RangeError(`memory access out of bounds: ${ptr}+${length}`);
    }
  }

  private written(ptr: number, length: number): void {
    this.onWrite?.(ptr, length);
  }

  /** A copy of `length` bytes at `ptr`, in a fresh (non-shared) buffer. */
  read(ptr: number, length: number): Uint8Array {
    this.check(ptr, length);
    return new Uint8Array(this.buffer, ptr, length).slice();
  }

  u8(ptr: number): number {
    return this.view().getUint8(ptr);
  }

  u16(ptr: number): number {
    return this.view().getUint16(ptr, true);
  }

  u32(ptr: number): number {
    return this.view().getUint32(ptr, true);
  }

  u64(ptr: number): bigint {
    return this.view().getBigUint64(ptr, true);
  }

  write(ptr: number, bytes: Uint8Array): void {
    this.check(ptr, bytes.length);
    this.written(ptr, bytes.length);
    new Uint8Array(this.buffer, ptr, bytes.length).set(bytes);
  }

  writeU8(ptr: number, value: number): void {
    this.check(ptr, 1);
    this.written(ptr, 1);
    this.view().setUint8(ptr, value);
  }

  writeU16(ptr: number, value: number): void {
    this.check(ptr, 2);
    this.written(ptr, 2);
    this.view().setUint16(ptr, value, true);
  }

  writeU32(ptr: number, value: number): void {
    this.check(ptr, 4);
    this.written(ptr, 4);
    this.view().setUint32(ptr, value, true);
  }

  writeU64(ptr: number, value: bigint): void {
    this.check(ptr, 8);
    this.written(ptr, 8);
    this.view().setBigUint64(ptr, value, true);
  }

  /** Zeroes `length` bytes at `ptr`. */
  fill(ptr: number, length: number): void {
    this.check(ptr, length);
    this.written(ptr, length);
    new Uint8Array(this.buffer, ptr, length).fill(0);
  }
}
