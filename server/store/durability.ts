/**
 * What the coordinator does when the disk may have lost a write it was about
 * to acknowledge: it stops. On Linux a failed fsync can leave the page cache's
 * dirty pages marked clean, so the data is gone while a retried fsync
 * "succeeds" (https://wiki.postgresql.org/wiki/Fsync_Errors, "fsyncgate");
 * answering with an error and carrying on could later acknowledge work built
 * on those bytes. A restart recovers from what SQLite and the blob folder
 * really hold, and volunteers upload again what was not acknowledged.
 */
import { logger } from '../logger.ts';

const log = logger('store');

/**
 * The coordinator's exit status when a COMMIT, or an fsync or rename of a
 * blob, failed (sysexits' EX_SOFTWARE, which a supervisor should restart).
 */
export const DURABILITY_LOST_EXIT_CODE = 70;

/** Logs why and exits with DURABILITY_LOST_EXIT_CODE; never returns, so no acknowledgement can follow. */
export function stopOnLostDurability(what: string, error: unknown): never {
  log.error(`${what} failed; stopping rather than acknowledging writes the disk may have lost`, error);
  process.exit(DURABILITY_LOST_EXIT_CODE);
}
