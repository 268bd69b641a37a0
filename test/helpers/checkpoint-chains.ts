/**
 * Random chains of coordinator checkpoints for the storage tests, built with
 * the real segment packer, with the memory each checkpoint must restore to
 * kept as the oracle, and a literal restorer (each manifest applied in order,
 * checkpoint-format.ts "Chain semantics") independent of chain-view.ts.
 */
import { createHash } from 'node:crypto';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { packPages } from '../../shared/segment-writer.ts';
import { seededRandom } from './seeded-random.ts';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface ChainCheckpoint {
  manifest: CheckpointManifest;
  segments: Uint8Array[];
  /** The memory at this checkpoint. */
  memory: Uint8Array;
}

export interface ChainOptions {
  pageSize?: number;
  /** The memory's size in pages at each checkpoint (it only grows); one checkpoint per entry. */
  pages: number[];
  /** Share of the pages each checkpoint writes. @default 0.6 */
  writeShare?: number;
  /** Share of the written pages that become all zeros. @default 0.1 */
  zeroShare?: number;
  seed?: number;
  /** Checkpoint numbers start here (parent null), each next one on the previous. @default 1 */
  firstSeq?: number;
}

/** A chain base → … with random writes (some of them zeroing a page), each checkpoint on the one before. */
export function randomChain(taskId: string, options: ChainOptions): ChainCheckpoint[] {
  const pageSize = options.pageSize ?? 4096;
  const random = seededRandom(options.seed ?? 1);
  const firstSeq = options.firstSeq ?? 1;
  let memory = new Uint8Array(0);
  return options.pages.map((pages, i) => {
    const grown = new Uint8Array(pages * pageSize);
    grown.set(memory);
    memory = grown;
    const written: number[] = [];
    for (let page = 0; page < pages; page++) {
      if (i > 0 && random() >= (options.writeShare ?? 0.6)) continue;
      const bytes = memory.subarray(page * pageSize, (page + 1) * pageSize);
      if (random() < (options.zeroShare ?? 0.1)) bytes.fill(0);
      else for (let b = 0; b < pageSize; b += 97) bytes.fill(Math.floor(random() * 256), b, b + 97);
      written.push(page);
    }
    const packed = packPages(pageSize, written.map((page) => [page, memory.subarray(page * pageSize, (page + 1) * pageSize)] as const));
    const segments = packed.segments.map((s) => new Uint8Array(s));
    const storedBytes = segments.reduce((sum, s) => sum + s.byteLength, 0);
    const manifest: CheckpointManifest = {
      format: 1,
      taskId,
      seq: firstSeq + i,
      parent: i === 0 ? null : firstSeq + i - 1,
      pageSize,
      memoryPages: pages,
      extents: packed.extents,
      segments: segments.map((s) => ({ hash: sha256(s), bytes: s.byteLength })),
      state: { program: { runtime: 'test', step: i }, output: { stdout: 0, stderr: 0 } },
      dirtyBytes: written.length * pageSize,
      storedBytes,
      createdAt: 1_700_000_000_000 + i,
    };
    return { manifest, segments, memory: memory.slice() };
  });
}

/** The memory a chain (base first) describes, applying each manifest's extents in order; `read` gives a segment's bytes. */
export function restoreLiterally(chain: readonly CheckpointManifest[], read: (hash: string) => Uint8Array | undefined): Uint8Array {
  const head = chain.at(-1)!;
  const size = head.pageSize;
  const memory = new Uint8Array(head.memoryPages * size);
  for (const manifest of chain) {
    for (const extent of manifest.extents) {
      const end = Math.min(extent.first + extent.count, head.memoryPages);
      if ('zero' in extent) {
        memory.fill(0, extent.first * size, end * size);
        continue;
      }
      const { hash } = manifest.segments[extent.segment]!;
      const segment = read(hash);
      if (!segment) throw new Error(`segment ${hash} of checkpoint ${manifest.seq} is missing`);
      const from = segment.subarray(extent.offset, extent.offset + (end - extent.first) * size);
      memory.set(from, extent.first * size);
    }
  }
  return memory;
}
