/**
 * Group commit: every write of one turn of the event loop goes into one SQLite
 * transaction, committed (and fsynced, `synchronous=FULL`) on `setImmediate`.
 * Whoever must not answer before the write is durable waits with `afterCommit`.
 * One fsync per batch instead of one per state change is what lets the
 * coordinator hand out thousands of tasks a second with every change durable.
 */
import type { Db } from './database.ts';
import { stopOnLostDurability } from './durability.ts';
import { logger } from '../logger.ts';

const log = logger('store');

export class GroupCommit {
  #open = false;
  #waiting: Array<() => void> = [];
  #closed = false;

  constructor(private readonly db: Db) {}

  /**
   * Runs `write` inside the current batch, in a savepoint: if it throws, its own
   * writes are undone and the rest of the batch is kept.
   */
  write<T>(write: () => T): T {
    if (this.#closed) throw new Error('the store is closed');
    if (!this.#open) {
      this.db.exec('BEGIN IMMEDIATE');
      this.#open = true;
      setImmediate(() => this.commit());
    }
    this.db.exec('SAVEPOINT one_write');
    try {
      const result = write();
      this.db.exec('RELEASE one_write');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK TO one_write');
      this.db.exec('RELEASE one_write');
      throw error;
    }
  }

  /** Calls `then` once everything written so far is on disk. */
  afterCommit(then: () => void): void {
    if (this.#open) this.#waiting.push(then);
    else queueMicrotask(then);
  }

  /** Resolves once everything written so far is on disk. */
  durable(): Promise<void> {
    return new Promise((resolve) => this.afterCommit(resolve));
  }

  /** Commits the open batch now. A failed commit stops the process: nothing may be acknowledged after it. */
  commit(): void {
    if (!this.#open) return;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      stopOnLostDurability('COMMIT', error);
    }
    this.#open = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const then of waiting) {
      try {
        then();
      } catch (error) {
        log.error('after-commit callback failed', error);
      }
    }
  }

  close(): void {
    this.commit();
    this.#closed = true;
  }
}
