import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { ProgramRecord } from './records.ts';
import type { ProgramStore } from './store.ts';

interface ProgramRow {
  id: string;
  name: string;
  format: ProgramRecord['format'];
  size: number;
  builtin: number;
  description: string | null;
  runnable: string;
  memory_initial: number;
  memory_maximum: number;
  created_at: string;
}

function fromRow(row: ProgramRow): ProgramRecord {
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    size: row.size,
    builtin: row.builtin === 1,
    ...(row.description ? { description: row.description } : {}),
    runnable: row.runnable,
    memory: { initial: row.memory_initial, maximum: row.memory_maximum },
    createdAt: row.created_at,
  };
}

export function sqlitePrograms(db: Db, commit: GroupCommit): ProgramStore {
  const put = db.prepare(`
    INSERT INTO programs (id, name, format, size, builtin, description, runnable, memory_initial, memory_maximum, created_at)
    VALUES (@id, @name, @format, @size, @builtin, @description, @runnable, @memoryInitial, @memoryMaximum, @createdAt)
    ON CONFLICT (id) DO UPDATE SET
      name = CASE WHEN excluded.builtin = 1 THEN excluded.name ELSE programs.name END,
      builtin = max(programs.builtin, excluded.builtin),
      description = coalesce(excluded.description, programs.description),
      runnable = excluded.runnable,
      memory_initial = excluded.memory_initial,
      memory_maximum = excluded.memory_maximum`);
  const get = db.prepare<[string], ProgramRow>('SELECT * FROM programs WHERE id = ?');
  const byName = db.prepare<[string], ProgramRow>(
    'SELECT * FROM programs WHERE name = ? ORDER BY builtin DESC, created_at DESC LIMIT 1',
  );
  const list = db.prepare<[], ProgramRow>('SELECT * FROM programs ORDER BY builtin DESC, name');
  const instrumented = db.prepare<[string, string], { blob: string }>('SELECT blob FROM instrumented WHERE program_id = ? AND version = ?');
  const recordInstrumented = db.prepare<[string, string, string]>(
    'INSERT INTO instrumented (program_id, version, blob) VALUES (?, ?, ?) ON CONFLICT (program_id, version) DO UPDATE SET blob = excluded.blob',
  );

  return {
    put: (p) =>
      commit.write(() =>
        put.run({
          ...p,
          builtin: p.builtin ? 1 : 0,
          description: p.description ?? null,
          memoryInitial: p.memory.initial,
          memoryMaximum: p.memory.maximum,
        }),
      ),
    get: (id) => {
      const row = get.get(id);
      return row && fromRow(row);
    },
    byName: (name) => {
      const row = byName.get(name);
      return row && fromRow(row);
    },
    list: () => list.all().map(fromRow),
    instrumented: (id, version) => instrumented.get(id, version)?.blob,
    recordInstrumented: (id, version, blob) => commit.write(() => recordInstrumented.run(id, version, blob)),
  };
}
