/**
 * Saves a checkpoint in memory only: the fallback when IndexedDB is full or
 * was deleted under the worker (site data cleared)
 * (DESIGN.md §5, "survives a quota error by falling back to coordinator-only
 * checkpoints"). Its segments go to the page with the commit report and on to
 * the coordinator; its manifest stays in the checkpoint worker, which serves
 * it to the upload as part of the chain. Nothing of it is in IndexedDB, so
 * this volunteer cannot resume from it locally: only the coordinator's copy
 * makes it durable.
 */
import type { CheckpointManifest, JsonValue, SegmentRef } from '../../shared/checkpoint-format.ts';
import { SegmentWriter } from '../../shared/segment-writer.ts';
import { buildManifest } from './checkpoint-store.ts';
import type { CheckpointHeader, CheckpointWriterOptions, PageSink } from './checkpoint-store.ts';
import { sha256Hex } from './segment-hash.ts';

export class MemoryWriter implements PageSink {
  readonly #pages: SegmentWriter;
  readonly #segments: ArrayBuffer[] = [];
  #refs: SegmentRef[] = [];

  constructor(
    private readonly header: CheckpointHeader,
    options: CheckpointWriterOptions = {},
  ) {
    this.#pages = new SegmentWriter(header.pageSize, options.targetBytes === undefined ? {} : { targetBytes: options.targetBytes });
  }

  add(page: number, bytes: Uint8Array): Promise<void> {
    if (page >= this.header.memoryPages) return Promise.reject(new RangeError(`page ${page} is beyond the memory's ${this.header.memoryPages} pages`));
    const full = this.#pages.add(page, bytes);
    if (full) this.#segments.push(full);
    return Promise.resolve();
  }

  async commit(state: JsonValue): Promise<CheckpointManifest> {
    const { last, extents } = this.#pages.finish();
    if (last) this.#segments.push(last);
    const hashes = await Promise.all(this.#segments.map(sha256Hex));
    this.#refs = this.#segments.map((segment, i) => ({ hash: hashes[i]!, bytes: segment.byteLength }));
    return buildManifest(this.header, { extents, segments: this.#refs, pages: this.#pages.pages }, state);
  }

  storedSegments(): Map<string, ArrayBuffer> {
    return new Map(this.#refs.map((ref, i) => [ref.hash, this.#segments[i]!]));
  }
}
