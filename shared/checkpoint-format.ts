/**
 * The on-disk format of a checkpoint (DESIGN.md §4 "Segments", "Commit"):
 * segments hold page bytes, and a manifest, the commit point, says which page
 * lives where. The same manifest is stored in the volunteer's IndexedDB and
 * (issue 5) uploaded to the coordinator, which validates it with
 * `checkpointManifestSchema` before trusting any field.
 *
 * Chain semantics: checkpoint `seq` of a task is the memory at the end of
 * interval `seq`. An incremental manifest lists only the pages written during
 * its interval and names its `parent` (the previous committed checkpoint); a
 * base (`parent: null`) lists every page that is not known to be zero. The
 * memory at `seq` is: all zeros, then each manifest from the base to `seq`
 * applied in order (the newest copy of a page wins; a zero extent zeroes).
 * Compaction replaces manifest `seq` by a base with the same view, so a seq
 * always means the same memory, whichever manifest currently describes it.
 */
import { z } from 'zod';

/** Version of this format; a reader refuses others. */
export const CHECKPOINT_FORMAT = 1;

/** Segments are packed up to this size (a page is never split, so one page larger than this gets a segment of its own). */
export const SEGMENT_TARGET_BYTES = 1 << 20;

/** A segment written by a checkpoint: its id is the lowercase hex SHA-256 of its bytes (content-addressed). */
export interface SegmentRef {
  hash: string;
  bytes: number;
}

/**
 * `count` consecutive pages starting at `first`, stored back to back in
 * `segments[segment]` from byte `offset` on; or, with `zero: true`, pages that
 * were written and are now all zeros (nothing stored).
 */
export type PageExtent =
  | { first: number; count: number; segment: number; offset: number }
  | { first: number; count: number; zero: true };

/** A JSON value: the runtime's opaque non-memory state (wasm globals, stack data as base64, step counters…). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  taskId: string;
  /** Checkpoint number k ≥ 1: the memory at the end of interval k. */
  seq: number;
  /** The seq this one is applied on top of, or null for a base. */
  parent: number | null;
  pageSize: number;
  /** Memory size at the checkpoint, in pages (the memory can grow between checkpoints). */
  memoryPages: number;
  /** Sorted by `first`, non-overlapping, all below `memoryPages`. */
  extents: PageExtent[];
  /** The segments `extents` index, all written by this checkpoint. */
  segments: SegmentRef[];
  state: JsonValue;
  /** Bytes of the pages this checkpoint recorded (zero pages included). */
  dirtyBytes: number;
  /** Bytes of its segments: what it added to storage. */
  storedBytes: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

const count = z.number().int().nonnegative();
const positive = z.number().int().positive();

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

const extentSchema = z.union([
  z.strictObject({ first: count, count: positive, segment: count, offset: count }),
  z.strictObject({ first: count, count: positive, zero: z.literal(true) }),
]);

/** Validates a manifest's fields and the cross-field rules (extent order and bounds, segment ranges, byte counts). */
export const checkpointManifestSchema = z
  .strictObject({
    format: z.literal(CHECKPOINT_FORMAT),
    taskId: z.string().min(1).max(200),
    seq: positive,
    parent: positive.nullable(),
    pageSize: z
      .number()
      .int()
      .refine((n) => n >= 4096 && n <= 65536 && (n & (n - 1)) === 0, 'expected a power of two from 4096 to 65536'),
    memoryPages: count,
    extents: z.array(extentSchema),
    segments: z.array(z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256'), bytes: positive })),
    state: jsonValue,
    dirtyBytes: count,
    storedBytes: count,
    createdAt: count,
  })
  .superRefine((m, ctx) => {
    if (m.parent !== null && m.parent >= m.seq) ctx.addIssue({ code: 'custom', path: ['parent'], message: 'expected a seq below seq' });
    let next = 0;
    let pages = 0;
    m.extents.forEach((e, i) => {
      pages += e.count;
      if (e.first < next) ctx.addIssue({ code: 'custom', path: ['extents', i, 'first'], message: 'extents must be sorted and must not overlap' });
      next = e.first + e.count;
      if (next > m.memoryPages) ctx.addIssue({ code: 'custom', path: ['extents', i, 'count'], message: 'extent ends beyond memoryPages' });
      if ('zero' in e) return;
      const segment = m.segments[e.segment];
      if (!segment) ctx.addIssue({ code: 'custom', path: ['extents', i, 'segment'], message: 'no such segment' });
      else if (e.offset + e.count * m.pageSize > segment.bytes)
        ctx.addIssue({ code: 'custom', path: ['extents', i, 'offset'], message: 'extent ends beyond its segment' });
    });
    if (m.dirtyBytes !== pages * m.pageSize) ctx.addIssue({ code: 'custom', path: ['dirtyBytes'], message: 'expected the pages of extents × pageSize' });
    const stored = m.segments.reduce((sum, s) => sum + s.bytes, 0);
    if (m.storedBytes !== stored) ctx.addIssue({ code: 'custom', path: ['storedBytes'], message: 'expected the sum of segment bytes' });
  });

/** Thrown when stored checkpoint data does not match its manifest: a segment missing, the wrong length or the wrong hash, or a broken chain. */
export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorrupt';
}

/**
 * What a manifest's digest hashes (SHA-256, hex): which checkpoint it is,
 * not how it is stored. A reconnecting volunteer names its local checkpoints
 * by digest and the coordinator keeps the digest of each uploaded manifest,
 * so both sides can tell they hold the same one; compaction, on either side,
 * rewrites a manifest's parent and segments but keeps these fields.
 */
export function manifestDigestInput(manifest: CheckpointManifest): string {
  const { taskId, seq, createdAt, memoryPages, pageSize } = manifest;
  return JSON.stringify([taskId, seq, createdAt, memoryPages, pageSize]);
}

/** The hashes a chain's manifests name, each once, in the order they first appear. */
export function chainSegments(chain: readonly CheckpointManifest[]): string[] {
  return [...new Set(chain.flatMap((m) => m.segments.map((s) => s.hash)))];
}
