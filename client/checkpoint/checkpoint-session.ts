/**
 * Saves one checkpoint k in the checkpoint worker (DESIGN.md §4): scans the
 * protected pages in budgets while the program runs on, stages them back into
 * page order (page-orderer.ts), feeds them to the CheckpointWriter one at a
 * time (its `add` must not be called again before the previous call settled:
 * it applies back-pressure when a batch of segments is being stored), commits
 * the manifest, and only then releases the protection, so the next
 * checkpoint's parent is known to exist (one checkpoint at a time per task).
 *
 * A failure (quota, a closed database) must not leave the program stuck: the
 * scan still runs to the end, discarding pages, so every protected page is
 * released; the channel's REBUILD flag is set before the release, so the next
 * checkpoint holds everything since the last committed one.
 */
import { TrackerWord } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { CheckpointChannel, Suspension } from './checkpoint-channel.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { CheckpointStore, CheckpointWriterOptions, PageSink } from './checkpoint-store.ts';
import { MemoryWriter } from './memory-writer.ts';
import { PageOrderer } from './page-orderer.ts';
import { PageScan } from './page-scan.ts';
import type { MemorySource } from './tracker.ts';
import { trackerGeometry } from './tracker-words.ts';

/** Bytes of page words examined per scan step: bounds what one step can stage (4 MiB). */
const STEP_BYTES = 4 << 20;

/** What one committed checkpoint cost. */
export interface CheckpointReport {
  taskId: string;
  seq: number;
  parent: number | null;
  memoryPages: number;
  /** Pages the checkpoint recorded (written during its interval, zero pages included). */
  pages: number;
  /** Bytes of segments written to IndexedDB. */
  storedBytes: number;
  /** Pages the program copied on write before the scan reached them. */
  cowCopies: number;
  /** From seeing the protection to the manifest being durable (ms). */
  saveMs: number;
  /** Of which: storing the rest and the manifest once the scan was over (ms). */
  commitMs: number;
  /** The bytes of the segments it stored, by hash, when the writer kept them (for the upload). */
  segments?: Map<string, ArrayBuffer>;
  /** Its manifest (the loop keeps it until the coordinator holds the checkpoint; it does not go to the page). */
  manifest?: CheckpointManifest;
}

export interface SessionOptions {
  store: CheckpointStore;
  buffers: TrackerBuffers;
  channel: CheckpointChannel;
  memory: MemorySource;
  taskId: string;
  parent: number | null;
  suspension: Suspension;
  /** Gives the event loop a turn between scan steps (IndexedDB progresses there). */
  yieldNow: () => Promise<void>;
  writer?: CheckpointWriterOptions;
  /** Save it in memory only (memory-writer.ts): IndexedDB is full. */
  inMemory?: boolean;
}

/** Saves the protected checkpoint; resolves with its report once the manifest is durable, rejects if it did not commit. */
export async function saveCheckpoint(options: SessionOptions): Promise<CheckpointReport> {
  const start = performance.now();
  const { buffers, suspension, taskId, parent } = options;
  const { words, pageSize, maxPages } = trackerGeometry(buffers.tracker);
  const budget = Math.max(64, Math.floor(STEP_BYTES / pageSize));
  const orderer = new PageOrderer(pageSize);
  let failure: unknown;
  const scan = new PageScan(buffers, options.memory, (page, bytes, source) => {
    if (failure === undefined) orderer.put(page, bytes, source);
  });
  if (scan.checkpoint !== suspension.seq) throw new Error(`checkpoint ${scan.checkpoint} is protected, the channel describes ${suspension.seq}`);
  const header = { taskId, seq: suspension.seq, parent, pageSize, memoryPages: suspension.memoryPages };
  const writer: PageSink = options.inMemory ? new MemoryWriter(header, options.writer) : options.store.begin(header, options.writer);

  const feed = async (frontier: number) => {
    for (const { page, bytes } of orderer.ready(frontier)) {
      if (failure !== undefined) break;
      const added = writer.add(page, bytes); // copies synchronously
      orderer.release(bytes);
      try {
        await added;
      } catch (error) {
        failure = error;
      }
    }
  };

  let examined = 0;
  let frontier = 0;
  for (;;) {
    const status = scan.step(budget);
    examined = Math.min(maxPages, examined + budget);
    if (status === 'done') break;
    // See page-orderer.ts: with every counted claim received, nothing below `examined` can still arrive.
    if (Atomics.load(words, TrackerWord.CLAIMS) === orderer.cowPages) frontier = examined;
    if (failure === undefined) await feed(frontier);
    await options.yieldNow();
  }
  const scanned = performance.now();
  let report: CheckpointReport | undefined;
  if (failure === undefined) {
    try {
      await feed(Infinity);
      if (failure === undefined) {
        const manifest = await writer.commit(suspension.state);
        report = {
          taskId,
          seq: suspension.seq,
          parent,
          memoryPages: suspension.memoryPages,
          pages: orderer.pages,
          storedBytes: manifest.storedBytes,
          cowCopies: orderer.cowPages,
          saveMs: performance.now() - start,
          commitMs: performance.now() - scanned,
        };
        const segments = writer.storedSegments();
        if (segments) report.segments = segments;
        report.manifest = manifest;
      }
    } catch (error) {
      failure = error;
    }
  }
  if (report) options.channel.setCommitted(report.seq);
  else options.channel.requireRebuild(); // before the release below: the compute side must see it with PROTECTED = 0
  scan.finish();
  if (!report) throw failure;
  return report;
}
