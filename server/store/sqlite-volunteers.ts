import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { VolunteerRecord } from './records.ts';
import type { VolunteerStore } from './store.ts';

interface VolunteerRow {
  id: string;
  name: string;
  cores: number;
  first_seen: string;
  last_seen: string;
  outvoted: number;
}

export function sqliteVolunteers(db: Db, commit: GroupCommit): VolunteerStore {
  const upsert = db.prepare(`
    INSERT INTO volunteers (id, name, cores, first_seen, last_seen, secret_hash) VALUES (@id, @name, @cores, @lastSeen, @lastSeen, @secretHash)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, cores = excluded.cores, last_seen = excluded.last_seen,
      secret_hash = COALESCE(volunteers.secret_hash, excluded.secret_hash)`);
  const secretHash = db.prepare<[string], { secret_hash: string | null }>('SELECT secret_hash FROM volunteers WHERE id = ?');
  const countOutvoted = db.prepare('UPDATE volunteers SET outvoted = outvoted + 1 WHERE id = ?');
  const list = db.prepare<[], VolunteerRow>('SELECT * FROM volunteers ORDER BY last_seen DESC');
  return {
    upsert: (v) => commit.write(() => upsert.run({ id: v.id, name: v.name, cores: v.cores, lastSeen: v.lastSeen, secretHash: v.secretHash ?? null })),
    secretHash: (id) => secretHash.get(id)?.secret_hash ?? null,
    countOutvoted: (id) => commit.write(() => countOutvoted.run(id)),
    list: () =>
      list.all().map(
        (r): VolunteerRecord => ({ id: r.id, name: r.name, cores: r.cores, firstSeen: r.first_seen, lastSeen: r.last_seen, outvoted: r.outvoted }),
      ),
  };
}
