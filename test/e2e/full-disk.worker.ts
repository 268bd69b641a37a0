/**
 * The real checkpoint worker on a volunteer whose disk fills up: from
 * checkpoint FULL_FROM on, every IndexedDB commit fails with
 * QuotaExceededError, as Chromium reports an exhausted quota.
 */
import { serveWithFailingCommits } from './failing-commits.ts';

const FULL_FROM = 2;

serveWithFailingCommits(
  (seq) => seq >= FULL_FROM,
  (seq) => `no room for checkpoint ${seq}`,
);
