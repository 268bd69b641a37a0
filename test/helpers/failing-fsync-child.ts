/**
 * Child process for test/integration/blob-fsync-failure.test.ts: a real blob
 * store on a real folder whose fsync or rename fails once, as a dying disk's
 * would (EIO). It stores one blob and prints `acknowledged <hash>` only if the
 * store returned, which it must not: the process has to stop instead.
 *
 *   node --import tsx failing-fsync-child.ts ROOT STEP
 *   STEP: file-fsync | folder-fsync | rename | async-file-fsync | async-rename
 */
import { fileBlobStore, nodeDurableFileOps } from '../../server/store/blob-store.ts';
import type { DurableFileOps } from '../../server/store/blob-store.ts';

const [root, step] = process.argv.slice(2);
if (!root || !step) throw new Error('usage: failing-fsync-child.ts ROOT STEP');

const eio = (call: string) => Object.assign(new Error(`EIO: i/o error, ${call}`), { code: 'EIO', errno: -5, syscall: call });

/** The first fsync of a put is the file's, the second its folder's. */
let fsyncs = 0;
const ops: DurableFileOps = {
  ...nodeDurableFileOps,
  fsyncSync(fd) {
    fsyncs++;
    if ((step === 'file-fsync' && fsyncs === 1) || (step === 'folder-fsync' && fsyncs === 2)) throw eio('fsync');
    nodeDurableFileOps.fsyncSync(fd);
  },
  renameSync(from, to) {
    if (step === 'rename') throw eio('rename');
    nodeDurableFileOps.renameSync(from, to);
  },
  async sync(handle) {
    if (step === 'async-file-fsync') throw eio('fsync');
    await nodeDurableFileOps.sync(handle);
  },
  async rename(from, to) {
    if (step === 'async-rename') throw eio('rename');
    await nodeDurableFileOps.rename(from, to);
  },
};

const blobs = fileBlobStore(root, { fileOps: ops });
const bytes = new TextEncoder().encode(`a checkpoint segment (${step})`);
try {
  const hash = step.startsWith('async-') ? await blobs.putAsync(bytes) : blobs.put(bytes);
  console.log(`acknowledged ${hash}`);
} catch (error) {
  // An error reply would be an acknowledgement that the store is fine for the next request.
  console.log(`answered with an error: ${String(error)}`);
}
