/**
 * The real checkpoint worker, served with a store whose commit fails for
 * every seq divisible by `FAIL_EVERY` (as a quota error would), to test that
 * the next checkpoint holds everything since the last committed one.
 */
import { serveWithFailingCommits } from './failing-commits.ts';

const FAIL_EVERY = 3;

serveWithFailingCommits(
  (seq) => seq % FAIL_EVERY === 0,
  (seq) => `injected failure of checkpoint ${seq}`,
);
