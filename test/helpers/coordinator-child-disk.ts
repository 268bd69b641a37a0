/**
 * What a crash test checks in a stopped coordinator's data folder: SQLite's
 * own `PRAGMA integrity_check`, and that every blob the database names (each
 * checkpoint manifest's segments, each program's posted and runnable bytes,
 * each instrumented module) exists and hashes to its name.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface DiskCheck {
  /** `ok`, or SQLite's list of problems. */
  integrity: string;
  /** Blobs named by the database and checked. */
  blobsChecked: number;
  /** Named blobs that are missing or whose bytes hash to something else. */
  badBlobs: string[];
}

/** Reads the data folder of a coordinator that is not running (read-only: it changes nothing). */
export function checkDataFolder(dataDir: string): DiskCheck {
  const db = new Database(join(dataDir, 'grid.db'), { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join('; ');
    const named = new Set<string>();
    for (const { manifest } of db.prepare('SELECT manifest FROM checkpoints').all() as Array<{ manifest: string }>) {
      for (const segment of (JSON.parse(manifest) as { segments: Array<{ hash: string }> }).segments) named.add(segment.hash);
    }
    for (const { id, runnable } of db.prepare('SELECT id, runnable FROM programs').all() as Array<{ id: string; runnable: string }>) named.add(id).add(runnable);
    for (const { blob } of db.prepare('SELECT blob FROM instrumented').all() as Array<{ blob: string }>) named.add(blob);
    const badBlobs: string[] = [];
    for (const hash of named) {
      const path = join(dataDir, 'blobs', hash.slice(0, 2), hash);
      if (!existsSync(path)) badBlobs.push(`${hash}: missing`);
      else if (createHash('sha256').update(readFileSync(path)).digest('hex') !== hash) badBlobs.push(`${hash}: bytes hash to something else`);
    }
    return { integrity, blobsChecked: named.size, badBlobs };
  } finally {
    db.close();
  }
}
