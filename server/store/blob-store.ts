/**
 * Content-addressed files under `<data>/blobs/ab/abcdef…`: a blob is written to a
 * temp file, fsynced, renamed to its SHA-256 and its folder fsynced, so a name
 * that exists always holds exactly the bytes it names. Program bytes live here
 * now; checkpoint segments will too (DESIGN.md §5).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BlobStore {
  /** Stores the bytes (if new) and returns their SHA-256. */
  put(bytes: Uint8Array): string;
  get(hash: string): Buffer | undefined;
  has(hash: string): boolean;
}

const HASH = /^[0-9a-f]{64}$/;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fileBlobStore(root: string): BlobStore {
  mkdirSync(root, { recursive: true });
  const pathOf = (hash: string) => {
    if (!HASH.test(hash)) throw new Error(`not a SHA-256: ${hash}`);
    return join(root, hash.slice(0, 2), hash);
  };
  return {
    put(bytes) {
      const hash = sha256Hex(bytes);
      const target = pathOf(hash);
      if (existsSync(target)) return hash;
      const folder = join(root, hash.slice(0, 2));
      mkdirSync(folder, { recursive: true });
      const temp = join(folder, `.${hash}.${randomBytes(4).toString('hex')}.tmp`);
      const fd = openSync(temp, 'w');
      try {
        for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, target);
      fsyncPath(folder);
      return hash;
    },
    get: (hash) => (HASH.test(hash) && existsSync(pathOf(hash)) ? readFileSync(pathOf(hash)) : undefined),
    has: (hash) => HASH.test(hash) && existsSync(pathOf(hash)),
  };
}
