/**
 * The checkpoint worker's side of one checkpoint k (DESIGN.md §4): saves the
 * pages whose word is k, in page order, while the program runs on, and drains
 * the copy-on-write pool for the protected pages the program wrote first.
 *
 * Never blocks: the checkpoint worker needs its event loop for IndexedDB (and
 * `Atomics.wait` throws on a browser main thread). `step()` does a bounded
 * amount of work and returns; the caller yields between steps.
 *
 * Why the result is exactly memory at the suspension: the writer cannot store
 * into a page whose word is k without first either copying it into the pool
 * (`k → COPYING`, copy, publish) or waiting for `SAVED`; the scanner copies a
 * page only while it holds it (`k → SAVING`). Exactly one side wins the
 * compare-exchange on `k`, so each protected page is saved once, with the
 * bytes it had at the suspension. Pages written only in interval k + 1 never
 * hold k and are not saved.
 *
 * Completion: word values never return to k, so after one pass over all words
 * no word is k and the set of writer claims is final. The writer bumps CLAIMS
 * before each claim (Atomics, seq-cst), and the scanner reads every word with
 * `Atomics.load`, so a claim the scanner has seen the effect of is counted.
 * The checkpoint's page set is complete once the pass is over and every
 * counted claim has been drained from the pool.
 */
import { PageState, TrackerWord, TRACKER_HEADER_WORDS } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import { CowPoolReader } from './cow-pool.ts';
import type { MemorySource } from './tracker.ts';
import { TrackerError } from './tracker-error.ts';
import { trackerGeometry } from './tracker-words.ts';

/** Where a saved page's bytes came from. */
export type PageSource = 'memory' | 'cow';

export interface SavedPage {
  page: number;
  source: PageSource;
}

/**
 * Receives each saved page once. `bytes` is a view valid only during the call
 * (process memory or a pool slot): copy it out (e.g. into a segment buffer).
 * Pages read from memory arrive in increasing page order; pool pages arrive
 * when drained, between them.
 */
export type PageSink = (page: number, bytes: Uint8Array, source: PageSource) => void;

export type ScanStatus = 'scanning' | 'draining' | 'done';

/** Pages examined per `step()` unless told otherwise. */
export const DEFAULT_SCAN_BUDGET = 4096;

export class PageScan {
  /** The checkpoint this scan saves. */
  readonly checkpoint: number;
  private readonly words: Int32Array;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly pool: CowPoolReader;
  private readonly saved = new Map<number, PageSource>();
  private cursor = 0;
  private drained = 0;
  /** A step said 'done': the page set is final (see `finish`). */
  private complete = false;
  private finished = false;

  /** Attaches to the checkpoint currently protected; throws if there is none. */
  constructor(
    buffers: TrackerBuffers,
    private readonly memory: MemorySource,
    private readonly sink: PageSink,
  ) {
    const geometry = trackerGeometry(buffers.tracker);
    this.words = geometry.words;
    this.pageSize = geometry.pageSize;
    this.maxPages = geometry.maxPages;
    this.pool = new CowPoolReader(buffers.pool);
    this.checkpoint = Atomics.load(this.words, TrackerWord.PROTECTED);
    if (this.checkpoint === 0) throw new TrackerError('no checkpoint is protected: call beginCheckpoint() first');
  }

  /**
   * Drains the pool, then examines up to `budget` page words. Returns 'done'
   * when the checkpoint's page set is complete, 'draining' when the pass is
   * over but a writer's copy is still in flight (step again shortly).
   */
  step(budget = DEFAULT_SCAN_BUDGET): ScanStatus {
    if (this.finished) throw new TrackerError(`checkpoint ${this.checkpoint} is already finished`);
    this.drainPool();
    const words = this.words;
    const k = this.checkpoint;
    const end = Math.min(this.maxPages, this.cursor + budget);
    for (; this.cursor < end; this.cursor++) {
      const index = TRACKER_HEADER_WORDS + this.cursor;
      // Atomics.load, not a plain read: it orders this read after the writer's claim count (see file comment).
      if (Atomics.load(words, index) === k && Atomics.compareExchange(words, index, k, PageState.SAVING) === k) {
        this.saveFromMemory(this.cursor, index);
      }
    }
    if (this.cursor < this.maxPages) return 'scanning';
    this.drainPool();
    this.complete ||= Atomics.load(words, TrackerWord.CLAIMS) === this.drained && this.pool.isEmpty();
    return this.complete ? 'done' : 'draining';
  }

  /**
   * Releases the protection (the tracker accepts the next `beginCheckpoint()`)
   * and returns the saved pages in page order. Call after `step()` said 'done'.
   * SAVED words stay SAVED: "not written in the current interval"; the
   * writer's slow path turns them into E on the next write.
   *
   * CLAIMS is not read again here: once a step said 'done' no word is k, so
   * no claim of this checkpoint can start, yet a writer that read k before
   * the scanner took the page still counts its claim before its
   * compare-exchange fails, and takes the count back after. Seen here, that
   * passing count made finish() throw with the checkpoint already committed;
   * the loop then scanned k again, found nothing left to save, and replaced
   * checkpoint k by one without the pages of its interval.
   */
  finish(): SavedPage[] {
    if (this.finished) throw new TrackerError(`checkpoint ${this.checkpoint} is already finished`);
    if (!this.complete) throw new TrackerError(`checkpoint ${this.checkpoint} is not complete yet: step() until it returns 'done'`);
    this.finished = true;
    Atomics.store(this.words, TrackerWord.PROTECTED, 0);
    return [...this.saved].map(([page, source]) => ({ page, source })).sort((a, b) => a.page - b.page);
  }

  private saveFromMemory(page: number, index: number): void {
    this.record(page, 'memory');
    this.sink(page, new Uint8Array(this.memory.buffer, page * this.pageSize, this.pageSize), 'memory');
    Atomics.add(this.words, TrackerWord.SAVED_PAGES, 1);
    Atomics.store(this.words, index, PageState.SAVED);
    // Wake the writer only if it announced it waits on this page (a notify per page would cost on large memories).
    if (Atomics.load(this.words, TrackerWord.WAITER) === page + 1) Atomics.notify(this.words, index);
  }

  private drainPool(): void {
    while (
      this.pool.drainOne((page, bytes) => {
        this.record(page, 'cow');
        this.sink(page, bytes, 'cow');
      })
    ) {
      this.drained++;
      Atomics.add(this.words, TrackerWord.SAVED_PAGES, 1);
    }
  }

  private record(page: number, source: PageSource): void {
    if (this.saved.has(page)) throw new TrackerError(`page ${page} saved twice in checkpoint ${this.checkpoint}`);
    this.saved.set(page, source);
  }
}
