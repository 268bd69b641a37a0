/**
 * A single-producer, single-consumer queue of byte records in a
 * SharedArrayBuffer, so messages can cross between a rank's compute worker
 * and the thread that talks to the network without a postMessage per record,
 * and the compute worker can block in `Atomics.wait` for the next one.
 *
 * Layout: Int32 header words, then a circular data area of CAPACITY bytes.
 * A record is a u32 length (little-endian) and its bytes, both wrapping around
 * the end of the data area. HEAD (next write position) belongs to the
 * producer, TAIL (next read position) to the consumer; HEAD === TAIL is empty
 * and one byte always stays free so full and empty differ. Bytes are written
 * before the Atomics.store of HEAD and read after the Atomics.load of it,
 * which orders them (likewise TAIL for the space handed back).
 *
 * SIGNAL is bumped and notified after every push and on `wake()`; a consumer
 * remembers the value it last saw, so a push or wake that lands just before it
 * waits is not missed.
 */

const Word = { HEAD: 0, TAIL: 1, SIGNAL: 2, CAPACITY: 3 } as const;

/** Atomics.waitAsync (ES2024; Chromium and Node have it, the ES2022 lib does not declare it). */
type AsyncWait = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const HEADER_BYTES = 64;
const LENGTH_BYTES = 4;

export class SharedRing {
  private readonly words: Int32Array;
  private readonly data: Uint8Array;
  private readonly capacity: number;
  private readonly lengthBytes = new Uint8Array(LENGTH_BYTES);
  private seenSignal = 0;

  /** A buffer for a ring with room for `bytes` of records (each takes 4 bytes more than its length). */
  static create(bytes: number): SharedArrayBuffer {
    if (!Number.isInteger(bytes) || bytes < LENGTH_BYTES + 1 || bytes > 2 ** 30) throw new RangeError(`a ring holds ${LENGTH_BYTES + 1} to 2^30 bytes, got ${bytes}`);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + bytes);
    new Int32Array(buffer, 0, HEADER_BYTES / 4)[Word.CAPACITY] = bytes;
    return buffer;
  }

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.capacity = Atomics.load(this.words, Word.CAPACITY);
    if (buffer.byteLength !== HEADER_BYTES + this.capacity) throw new RangeError(`not a SharedRing buffer: ${buffer.byteLength} bytes for a capacity of ${this.capacity}`);
    this.data = new Uint8Array(buffer, HEADER_BYTES, this.capacity);
  }

  /** The largest record that can ever fit. */
  get maxRecordBytes(): number {
    return this.capacity - 1 - LENGTH_BYTES;
  }

  /** Producer: appends a copy of `record`; false if there is no room now. */
  push(record: Uint8Array): boolean {
    if (record.byteLength > this.maxRecordBytes) throw new RangeError(`a record of ${record.byteLength} bytes never fits a ring of ${this.capacity}`);
    const head = Atomics.load(this.words, Word.HEAD);
    if (!this.hasRoom(head, Atomics.load(this.words, Word.TAIL), record.byteLength)) return false;
    new DataView(this.lengthBytes.buffer).setUint32(0, record.byteLength, true);
    this.copyIn(head, this.lengthBytes);
    this.copyIn((head + LENGTH_BYTES) % this.capacity, record);
    Atomics.store(this.words, Word.HEAD, (head + LENGTH_BYTES + record.byteLength) % this.capacity);
    this.signal();
    return true;
  }

  /** Consumer: a copy of the oldest record, removed from the ring, or undefined if empty. */
  pop(): Uint8Array | undefined {
    const tail = Atomics.load(this.words, Word.TAIL);
    const head = Atomics.load(this.words, Word.HEAD);
    if (tail === head) return undefined;
    const header = this.copyOut(tail, LENGTH_BYTES);
    const length = new DataView(header.buffer).getUint32(0, true);
    const used = (head - tail + this.capacity) % this.capacity;
    if (LENGTH_BYTES + length > used) throw new Error(`SharedRing corrupt: a ${length}-byte record in ${used} used bytes`);
    const record = this.copyOut((tail + LENGTH_BYTES) % this.capacity, length);
    Atomics.store(this.words, Word.TAIL, (tail + LENGTH_BYTES + length) % this.capacity);
    Atomics.notify(this.words, Word.TAIL);
    return record;
  }

  /**
   * Consumer (a thread that may block): returns at once if a record is queued
   * or a push or wake happened since the last return, else blocks until one
   * does or `timeoutMs` passes. Check your own wake condition after it returns.
   */
  wait(timeoutMs: number): void {
    const signal = Atomics.load(this.words, Word.SIGNAL);
    const empty = Atomics.load(this.words, Word.HEAD) === Atomics.load(this.words, Word.TAIL);
    if (signal === this.seenSignal && empty) Atomics.wait(this.words, Word.SIGNAL, signal, timeoutMs);
    this.seenSignal = Atomics.load(this.words, Word.SIGNAL);
  }

  /**
   * Consumer on a thread that must not block (a page): like `wait`, but
   * resolves instead (Atomics.waitAsync; a timer where it is missing).
   */
  async waitAsync(timeoutMs: number): Promise<void> {
    const signal = Atomics.load(this.words, Word.SIGNAL);
    const empty = Atomics.load(this.words, Word.HEAD) === Atomics.load(this.words, Word.TAIL);
    if (signal === this.seenSignal && empty) {
      const waitAsync = (Atomics as { waitAsync?: AsyncWait }).waitAsync;
      if (waitAsync) {
        const result = waitAsync(this.words, Word.SIGNAL, signal, timeoutMs);
        if (result.async) await result.value;
      } else {
        await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 5)));
      }
    }
    this.seenSignal = Atomics.load(this.words, Word.SIGNAL);
  }

  /** Wakes a waiting consumer without pushing (set what it should look at first). */
  wake(): void {
    this.signal();
  }

  /** Producer (a thread that may block): waits until a record of `recordBytes` fits; false on timeout. */
  waitForRoom(recordBytes: number, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const tail = Atomics.load(this.words, Word.TAIL);
      if (this.hasRoom(Atomics.load(this.words, Word.HEAD), tail, recordBytes)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, Word.TAIL, tail, left);
    }
  }

  private hasRoom(head: number, tail: number, recordBytes: number): boolean {
    const used = (head - tail + this.capacity) % this.capacity;
    return this.capacity - 1 - used >= LENGTH_BYTES + recordBytes;
  }

  private signal(): void {
    Atomics.add(this.words, Word.SIGNAL, 1);
    Atomics.notify(this.words, Word.SIGNAL);
  }

  private copyIn(at: number, bytes: Uint8Array): void {
    const first = Math.min(bytes.byteLength, this.capacity - at);
    this.data.set(bytes.subarray(0, first), at);
    if (first < bytes.byteLength) this.data.set(bytes.subarray(first), 0);
  }

  private copyOut(at: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const first = Math.min(length, this.capacity - at);
    out.set(this.data.subarray(at, at + first));
    if (first < length) out.set(this.data.subarray(0, length - first), first);
    return out;
  }
}
