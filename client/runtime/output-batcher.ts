/**
 * Buffers a task's output and hands it on in chunks of at most
 * MAX_OUTPUT_CHUNK_BYTES. Whether to flush is decided when the program writes
 * (buffer full, or ~100 ms since the last flush), because a tight synchronous
 * wasm run never lets a timer fire; a timer only covers a program that writes
 * and then goes quiet. Output of both streams keeps its order: switching
 * stream flushes what the other one buffered.
 */
import { concatBytes } from '../../shared/bytes.ts';
import { MAX_OUTPUT_CHUNK_BYTES } from '../../shared/limits.ts';
import type { OutputStream } from '../../shared/states.ts';

export interface BatcherOptions {
  /** @default MAX_OUTPUT_CHUNK_BYTES */
  maxChunkBytes?: number;
  /** @default 100 */
  flushIntervalMs?: number;
  /** @default performance.now */
  now?: () => number;
}

export class OutputBatcher {
  private readonly maxChunkBytes: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private stream: OutputStream = 'stdout';
  private parts: Uint8Array[] = [];
  private size = 0;
  private lastFlush: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `emit` gets each chunk as a fresh buffer the batcher no longer uses (it may be transferred). */
  constructor(
    private readonly emit: (stream: OutputStream, chunk: Uint8Array) => void,
    options: BatcherOptions = {},
  ) {
    this.maxChunkBytes = options.maxChunkBytes ?? MAX_OUTPUT_CHUNK_BYTES;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.now = options.now ?? (() => performance.now());
    this.lastFlush = this.now();
  }

  write(stream: OutputStream, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (stream !== this.stream) {
      this.flush();
      this.stream = stream;
    }
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.now() - this.lastFlush >= this.flushIntervalMs) this.flush();
    else if (this.size >= this.maxChunkBytes) this.emitFullChunks();
    else this.timer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Emits everything buffered, in chunks of at most `maxChunkBytes`. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = this.now();
    this.emitChunks(this.take(this.size));
  }

  /** Emits whole chunks only; the rest waits for more output or the next flush. */
  private emitFullChunks(): void {
    this.emitChunks(this.take(this.size - (this.size % this.maxChunkBytes)));
    if (this.size > 0) this.timer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  private emitChunks(bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.length; offset += this.maxChunkBytes) {
      const end = Math.min(offset + this.maxChunkBytes, bytes.length);
      // Each chunk gets a buffer of its own, so it can be transferred.
      this.emit(this.stream, offset === 0 && end === bytes.length ? bytes : bytes.slice(offset, end));
    }
  }

  /** Removes the first `count` buffered bytes and returns them in one fresh buffer. */
  private take(count: number): Uint8Array {
    if (count === 0) return new Uint8Array(0);
    const all = concat(this.parts);
    const rest = all.subarray(count);
    this.parts = rest.length > 0 ? [rest.slice()] : [];
    this.size = rest.length;
    return count === all.length ? all : all.subarray(0, count).slice();
  }

  /** Flushes and stops the timer. */
  close(): void {
    this.flush();
  }
}

/** The one part as it is when it owns its whole buffer (it can be transferred), else a joined copy. */
function concat(parts: Uint8Array[]): Uint8Array {
  const [only] = parts;
  if (parts.length === 1 && only!.byteOffset === 0 && only!.byteLength === only!.buffer.byteLength) return only!;
  return concatBytes(parts);
}
