/**
 * Puts a checkpoint's saved pages back in page order for the SegmentWriter.
 * PageScan hands over pages read from memory in increasing order, but pages
 * the writer copied on write (the pool) arrive whenever they are drained,
 * possibly below pages already seen. Each page is copied at once into a
 * reusable staging buffer (its view is valid only during the sink call, and
 * copying frees the scan to move on and release the page quickly); `ready()`
 * releases the staged pages below a frontier, in order.
 *
 * Frontier (why a page below it can no longer arrive): once the scan has
 * examined words [0, n) no word there is k, and words never return to k, so
 * a later copy-on-write claim is on a page ≥ n. A claim made earlier is
 * counted in the tracker's CLAIMS before it is made; when CLAIMS equals the
 * pool pages received, every such claim has arrived. So after a step that
 * examined [0, n), if CLAIMS === `cowPages`, nothing below n is still to come.
 */
import type { PageSource } from './page-scan.ts';

export interface StagedPage {
  page: number;
  bytes: Uint8Array;
}

export class PageOrderer {
  private readonly free: Uint8Array[] = [];
  /** Pages read from memory, in increasing order; `head` is the next one to hand out. */
  private readonly fromMemory: StagedPage[] = [];
  private head = 0;
  private readonly fromPool = new Map<number, Uint8Array>();
  private received = 0;
  private poolReceived = 0;

  constructor(private readonly pageSize: number) {}

  /** Pages received so far from the copy-on-write pool. */
  get cowPages(): number {
    return this.poolReceived;
  }

  /** Pages received so far. */
  get pages(): number {
    return this.received;
  }

  /** Pages staged and not yet handed out. */
  get staged(): number {
    return this.fromMemory.length - this.head + this.fromPool.size;
  }

  /** A PageScan sink: copies the page into staging. */
  put(page: number, bytes: Uint8Array, source: PageSource): void {
    const copy = this.free.pop() ?? new Uint8Array(this.pageSize);
    copy.set(bytes);
    this.received++;
    if (source === 'cow') {
      this.poolReceived++;
      this.fromPool.set(page, copy);
    } else {
      this.fromMemory.push({ page, bytes: copy });
    }
  }

  /** Removes and returns the staged pages below `frontier`, in increasing page order. Give each back with `release()`. */
  ready(frontier: number): StagedPage[] {
    const out: StagedPage[] = [];
    while (this.head < this.fromMemory.length && this.fromMemory[this.head]!.page < frontier) out.push(this.fromMemory[this.head++]!);
    if (this.head === this.fromMemory.length) {
      this.fromMemory.length = 0;
      this.head = 0;
    }
    let merged = false;
    for (const [page, bytes] of this.fromPool) {
      if (page >= frontier) continue;
      this.fromPool.delete(page);
      out.push({ page, bytes });
      merged = true;
    }
    if (merged) out.sort((a, b) => a.page - b.page);
    return out;
  }

  /** Returns a staging buffer for reuse (after its bytes were copied out). */
  release(bytes: Uint8Array): void {
    this.free.push(bytes);
  }
}
