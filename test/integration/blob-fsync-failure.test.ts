/**
 * Issue 7, crash safety: "a failed fsync stops the coordinator rather than
 * acknowledging". A blob store (where checkpoint segments and programs live)
 * whose fsync or rename fails must end the process with the named exit code:
 * neither return (the caller would acknowledge the upload) nor throw (the
 * caller would answer with an error and go on, and a retried fsync can
 * "succeed" after the kernel dropped the dirty pages). Each case runs in its
 * own child process: test/helpers/failing-fsync-child.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { sha256Hex } from '../../server/store/blob-store.ts';
import { DURABILITY_LOST_EXIT_CODE } from '../../server/store/durability.ts';

const CHILD = fileURLToPath(new URL('../helpers/failing-fsync-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'grid-fsync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function storeWithFailing(step: string) {
  const root = join(dir, step);
  const run = spawnSync(process.execPath, ['--import', 'tsx', CHILD, root, step], { encoding: 'utf8', timeout: 20_000 });
  const hash = sha256Hex(new TextEncoder().encode(`a checkpoint segment (${step})`));
  return { run, root, named: existsSync(join(root, hash.slice(0, 2), hash)) };
}

for (const step of ['file-fsync', 'rename', 'async-file-fsync', 'async-rename']) {
  test(`a failed ${step} stops the process with exit code ${DURABILITY_LOST_EXIT_CODE}; nothing is acknowledged or named`, () => {
    const { run, root, named } = storeWithFailing(step);
    assert.equal(run.status, DURABILITY_LOST_EXIT_CODE, `exit ${run.status} ${run.signal ?? ''}\n${run.stdout}\n${run.stderr}`);
    assert.equal(run.stdout, '', 'the store neither returned nor threw');
    assert.match(run.stderr, /stopping rather than acknowledging/);
    assert.equal(named, false, 'no blob exists under its hash');
    // What is left is a temp file the garbage sweep deletes after its grace.
    const shard = readdirSync(root).find((name) => /^[0-9a-f]{2}$/.test(name));
    if (shard) for (const name of readdirSync(join(root, shard))) assert.match(name, /\.tmp$/);
  });
}

test('a failed fsync of the folder after the rename stops the process too (the name may not survive a power cut)', () => {
  const { run } = storeWithFailing('folder-fsync');
  assert.equal(run.status, DURABILITY_LOST_EXIT_CODE, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.stdout, '', 'the store neither returned nor threw');
});

test('without a failure the same child stores and acknowledges (the cases above fail for the right reason)', () => {
  const { run, named } = storeWithFailing('none');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^acknowledged [0-9a-f]{64}\n$/);
  assert.equal(named, true);
});
