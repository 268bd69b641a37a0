/**
 * Content-addressed files under `<data>/blobs/ab/abcdef…`: a blob is written to a
 * temp file, fsynced, renamed to its SHA-256 and its folder fsynced, so a name
 * that exists always holds exactly the bytes it names. Program bytes,
 * instrumented modules and checkpoint segments live here (DESIGN.md §5).
 *
 * A file's mtime is when it was last written or asked about (`put`, `has`):
 * the garbage sweep (checkpoints/checkpoint-gc.ts) deletes only blobs nothing
 * names AND untouched for a grace period, so a segment uploaded before its
 * manifest, or one an uploader was just told it need not send, survives.
 *
 * A failed fsync or rename stops the process (durability.ts): the bytes may
 * be lost while the name already exists, and `has` would then let a manifest
 * naming them be acknowledged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { open, readFile, readdir, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { join } from 'node:path';
import { stopOnLostDurability } from './durability.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BlobStore {
  /** Stores the bytes (if new; else marks the blob as just used) and returns their SHA-256. */
  put(bytes: Uint8Array): string;
  /** `put` with the file I/O off the event loop, for bulk writers (compaction). */
  putAsync(bytes: Uint8Array): Promise<string>;
  get(hash: string): Buffer | undefined;
  /** `get` with the file I/O off the event loop. */
  getAsync(hash: string): Promise<Buffer | undefined>;
  /** True when the blob is held; also marks it as just used, so the sweep spares a blob an uploader is told it need not send. */
  has(hash: string): boolean;
  /**
   * Deletes every blob that `inUse` does not claim and that was last written
   * or used before `before` (ms since the epoch), and temp files of writes
   * that died (a crash) before then. Walks one shard folder at a time and
   * yields to the event loop every few files; each file's check and delete
   * run in one turn, so nothing can start naming a blob in between. Stops
   * early when `signal` aborts.
   */
  deleteUnused(before: number, inUse: (hash: string) => boolean, signal?: AbortSignal): Promise<{ deleted: number; bytes: number }>;
}

/**
 * The file operations whose failure means the disk may not hold what it was
 * given: the only ones a test replaces (to make them fail), so the rest of
 * the store runs on the real file system.
 */
export interface DurableFileOps {
  fsyncSync(fd: number): void;
  renameSync(from: string, to: string): void;
  sync(handle: FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

/** node:fs itself. */
export const nodeDurableFileOps: DurableFileOps = {
  fsyncSync,
  renameSync,
  sync: (handle) => handle.sync(),
  rename,
};

export interface BlobStoreOptions {
  /** @default nodeDurableFileOps */
  fileOps?: DurableFileOps;
}

const HASH = /^[0-9a-f]{64}$/;
const SHARD = /^[0-9a-f]{2}$/;
const TEMP = /^\.[0-9a-f]{64}\.[0-9a-f]{8}\.tmp$/;
/** Files the garbage sweep checks per turn of the event loop (each costs a query and a stat: well under 50 ms for all). */
const FILES_PER_TURN = 256;

/** Runs a step that makes bytes durable; if it fails, the process stops (it never throws). */
function durably<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    return stopOnLostDurability(`blob store: ${what}`, error);
  }
}

async function durablyAsync<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    return stopOnLostDurability(`blob store: ${what}`, error);
  }
}

function fsyncPath(ops: DurableFileOps, path: string): void {
  const fd = openSync(path, 'r');
  try {
    ops.fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function fsyncPathAsync(ops: DurableFileOps, path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await ops.sync(handle);
  } finally {
    await handle.close();
  }
}

/** Sets the file's times to now; false when it does not exist. */
function touch(path: string): boolean {
  try {
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** Deletes the file if its mtime is before `before`; its size if it did. */
function unlinkIfOlder(path: string, before: number): number | undefined {
  try {
    const stat = lstatSync(path);
    if (stat.mtimeMs >= before) return undefined;
    unlinkSync(path);
    return stat.size;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export function fileBlobStore(root: string, options: BlobStoreOptions = {}): BlobStore {
  const ops = options.fileOps ?? nodeDurableFileOps;
  mkdirSync(root, { recursive: true });
  const pathOf = (hash: string) => {
    if (!HASH.test(hash)) throw new Error(`not a SHA-256: ${hash}`);
    return join(root, hash.slice(0, 2), hash);
  };
  const tempOf = (hash: string) => {
    const folder = join(root, hash.slice(0, 2));
    mkdirSync(folder, { recursive: true });
    return { folder, temp: join(folder, `.${hash}.${randomBytes(4).toString('hex')}.tmp`) };
  };
  return {
    put(bytes) {
      const hash = sha256Hex(bytes);
      const target = pathOf(hash);
      if (touch(target)) return hash;
      const { folder, temp } = tempOf(hash);
      const fd = openSync(temp, 'w');
      try {
        for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
        durably(`fsync of ${temp}`, () => ops.fsyncSync(fd));
      } finally {
        closeSync(fd);
      }
      durably(`rename to ${target}`, () => {
        ops.renameSync(temp, target);
        fsyncPath(ops, folder);
      });
      return hash;
    },
    async putAsync(bytes) {
      const hash = sha256Hex(bytes);
      const target = pathOf(hash);
      if (touch(target)) return hash;
      const { folder, temp } = tempOf(hash);
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(bytes);
        await durablyAsync(`fsync of ${temp}`, () => ops.sync(handle));
      } finally {
        await handle.close();
      }
      await durablyAsync(`rename to ${target}`, async () => {
        await ops.rename(temp, target);
        await fsyncPathAsync(ops, folder);
      });
      return hash;
    },
    get: (hash) => (HASH.test(hash) && existsSync(pathOf(hash)) ? readFileSync(pathOf(hash)) : undefined),
    async getAsync(hash) {
      if (!HASH.test(hash)) return undefined;
      try {
        return await readFile(pathOf(hash));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    has: (hash) => HASH.test(hash) && touch(pathOf(hash)),
    async deleteUnused(before, inUse, signal) {
      let deleted = 0;
      let bytes = 0;
      for (const shard of (await readdir(root)).filter((name) => SHARD.test(name))) {
        const names = await readdir(join(root, shard)).catch((error: unknown) => (isMissing(error) ? [] : Promise.reject(error)));
        for (const [i, name] of names.entries()) {
          if (i % FILES_PER_TURN === FILES_PER_TURN - 1) await setImmediate();
          if (signal?.aborted) return { deleted, bytes };
          const blob = HASH.test(name) && name.startsWith(shard);
          if ((!blob && !TEMP.test(name)) || (blob && inUse(name))) continue;
          const size = unlinkIfOlder(join(root, shard, name), before);
          if (size === undefined) continue;
          deleted++;
          bytes += size;
        }
      }
      return { deleted, bytes };
    },
  };
}
