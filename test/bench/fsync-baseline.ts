/**
 * The disk's own speed, measured in the same run as a benchmark: how many
 * single-row SQLite commits a second it does with the coordinator's settings
 * (WAL, synchronous=FULL), each one an fsync. This is what one commit per
 * state change would cost; group commit exists to avoid it.
 */
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/** @param file a scratch database on the same file system as the coordinator's data (deleted afterwards) */
export function fsyncPerSecond(file: string, durationMs = 1_000): number {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, at REAL NOT NULL, what TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO events (at, what) VALUES (?, ?)');
    for (let i = 0; i < 20; i++) insert.run(performance.now(), 'warm-up');
    let commits = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      insert.run(now, 'task finished');
      commits++;
      now = performance.now();
    }
    return (commits * 1000) / (now - start);
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}
