/**
 * The schema, as numbered migrations applied in order; `PRAGMA user_version`
 * records the last one applied. Never edit a released migration: add the next.
 */
export interface Migration {
  version: number;
  sql: string;
  /**
   * Runs with foreign keys off (checked after, before commit): SQLite's way
   * to rebuild a table other tables reference, to change a constraint.
   * @default false
   */
  rebuildsTables?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE programs (
        id TEXT PRIMARY KEY,              -- SHA-256 of the bytes as posted
        name TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('wasm', 'js')),
        size INTEGER NOT NULL,
        builtin INTEGER NOT NULL DEFAULT 0,
        description TEXT,
        runnable TEXT NOT NULL,           -- SHA-256 of the bytes volunteers run
        memory_initial INTEGER NOT NULL,  -- 64 KiB pages
        memory_maximum INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX programs_by_name ON programs (name, builtin);

      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        program_id TEXT NOT NULL REFERENCES programs (id),
        args TEXT NOT NULL,               -- JSON array
        env TEXT NOT NULL,                -- JSON object
        ranks INTEGER NOT NULL,
        coupled INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        checkpoint_interval_ms INTEGER NOT NULL,
        page_size INTEGER NOT NULL,
        redundancy INTEGER NOT NULL,
        state TEXT NOT NULL,
        tasks_total INTEGER NOT NULL,
        tasks_done INTEGER NOT NULL DEFAULT 0,
        tasks_failed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );

      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs (id),
        job_seq INTEGER NOT NULL,         -- copied from the job: orders the queue
        idx INTEGER NOT NULL,
        priority INTEGER NOT NULL,        -- copied from the job: orders the queue
        args TEXT NOT NULL,               -- JSON array
        seed INTEGER NOT NULL,
        state TEXT NOT NULL,
        volunteer_id TEXT,
        lease TEXT,
        progress REAL NOT NULL DEFAULT 0,
        restarts INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        result TEXT,                      -- JSON
        error TEXT,
        stdout_bytes INTEGER NOT NULL DEFAULT 0,
        stderr_bytes INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (job_id, idx)
      );
      CREATE INDEX tasks_queue ON tasks (state, priority DESC, job_seq, idx);
      CREATE UNIQUE INDEX tasks_by_lease ON tasks (lease) WHERE lease IS NOT NULL;

      -- Output as appended chunks: an append writes only the new bytes.
      CREATE TABLE task_output (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
        offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (task_id, stream, offset)
      ) WITHOUT ROWID;

      CREATE TABLE volunteers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        cores INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- Checkpoints volunteers committed locally, as they reported them (issue 3).
      CREATE TABLE task_checkpoints (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        seq INTEGER NOT NULL,
        pages INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        stop_ms REAL NOT NULL,
        save_ms REAL NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    sql: `
      -- A wasm program's checkpointable form (issue 4), instrumented once per
      -- version of the contract with the volunteer's driver and of the instrumenter. Keyed by the hash
      -- of the posted bytes like the blob store, not a reference to programs:
      -- a post records it before the program row.
      CREATE TABLE instrumented (
        program_id TEXT NOT NULL,         -- SHA-256 of the bytes as posted
        version TEXT NOT NULL,            -- CHECKPOINTABLE_ABI and INSTRUMENTER_VERSION, as 'abi1.i2'
        blob TEXT NOT NULL,               -- SHA-256 of the instrumented bytes
        PRIMARY KEY (program_id, version)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    sql: `
      -- Checkpoints committed on the coordinator (issue 4's migration; issue 5
      -- uploads every one): the validated manifest; its segments are blobs.
      CREATE TABLE checkpoints (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        seq INTEGER NOT NULL,
        parent INTEGER,                   -- NULL: a base
        manifest TEXT NOT NULL,           -- JSON, checkpoint-format.ts
        stored_bytes INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
      ) WITHOUT ROWID;

      -- Every time a task continued from a checkpoint instead of starting over.
      CREATE TABLE task_resumes (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        n INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('local', 'coordinator')),
        at TEXT NOT NULL,
        PRIMARY KEY (task_id, n)
      ) WITHOUT ROWID;

      -- A queued task with resume_seq continues from that coordinator checkpoint;
      -- avoid_volunteer (a migration) is not given the task next.
      ALTER TABLE tasks ADD COLUMN resume_seq INTEGER;
      ALTER TABLE tasks ADD COLUMN avoid_volunteer TEXT;
    `,
  },
  {
    version: 5,
    sql: `
      -- The digest of each checkpoint as its volunteer uploaded it
      -- (checkpoint-format.ts manifestDigestInput): a reconnecting volunteer
      -- proves it holds the same checkpoint locally. Kept across compaction.
      ALTER TABLE checkpoints ADD COLUMN digest TEXT;
    `,
  },
  {
    version: 6,
    sql: `
      -- Which blobs each coordinator checkpoint names (issue 5, storage
      -- hygiene): the garbage sweep asks "does anything name this blob?" per
      -- blob, by index, instead of parsing every manifest. Kept by triggers,
      -- so every write to checkpoints keeps it exact, whoever makes it.
      CREATE TABLE checkpoint_segments (
        hash TEXT NOT NULL,
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (hash, task_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX checkpoint_segments_by_checkpoint ON checkpoint_segments (task_id, seq);

      -- INSERT OR REPLACE fires no delete trigger (recursive_triggers is off),
      -- so an insert first drops what a replaced row named.
      CREATE TRIGGER checkpoint_segments_insert AFTER INSERT ON checkpoints BEGIN
        DELETE FROM checkpoint_segments WHERE task_id = NEW.task_id AND seq = NEW.seq;
        INSERT OR IGNORE INTO checkpoint_segments (hash, task_id, seq)
          SELECT json_extract(s.value, '$.hash'), NEW.task_id, NEW.seq FROM json_each(NEW.manifest, '$.segments') s;
      END;
      CREATE TRIGGER checkpoint_segments_update AFTER UPDATE OF manifest ON checkpoints BEGIN
        DELETE FROM checkpoint_segments WHERE task_id = OLD.task_id AND seq = OLD.seq;
        INSERT OR IGNORE INTO checkpoint_segments (hash, task_id, seq)
          SELECT json_extract(s.value, '$.hash'), NEW.task_id, NEW.seq FROM json_each(NEW.manifest, '$.segments') s;
      END;
      CREATE TRIGGER checkpoint_segments_delete AFTER DELETE ON checkpoints BEGIN
        DELETE FROM checkpoint_segments WHERE task_id = OLD.task_id AND seq = OLD.seq;
      END;
      INSERT OR IGNORE INTO checkpoint_segments (hash, task_id, seq)
        SELECT json_extract(s.value, '$.hash'), c.task_id, c.seq FROM checkpoints c, json_each(c.manifest, '$.segments') s;

      -- The sweep's other questions: is it a program's runnable bytes or an instrumented module?
      CREATE INDEX programs_by_runnable ON programs (runnable);
      CREATE INDEX instrumented_by_blob ON instrumented (blob);
    `,
  },
  {
    version: 7,
    sql: `
      -- Coupled jobs (issue 6, DESIGN.md §6). A round is one coordinated
      -- checkpoint: the seq of each rank's checkpoint taken for it, written
      -- once every rank entered its barrier. The recovery line is the newest
      -- round whose every checkpoint the coordinator holds; a rollback sends
      -- every rank back to it. The counters are what the dashboard shows.
      CREATE TABLE coupled_rounds (
        job_id TEXT NOT NULL,
        round INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (job_id, round, task_id)
      ) WITHOUT ROWID;
      ALTER TABLE jobs ADD COLUMN recovery_line INTEGER;
      ALTER TABLE jobs ADD COLUMN rollbacks INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN messages_sent INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN messages_resent INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN messages_discarded INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    rebuildsTables: true,
    sql: `
      -- Result validation by redundancy (issue 7): a job with redundancy k
      -- runs each task index as k replicas, each its own task row (so leases,
      -- checkpoints and resumes work per replica), and a majority of equal
      -- output hashes decides. UNIQUE (job_id, idx) becomes (job_id, idx, replica):
      -- SQLite changes a constraint only by rebuilding the table.
      CREATE TABLE tasks_v8 (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs (id),
        job_seq INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        replica INTEGER NOT NULL DEFAULT 0,  -- 0 … (at most MAX_REPLICAS_FACTOR·k); 0 for redundancy 1
        priority INTEGER NOT NULL,
        args TEXT NOT NULL,
        seed INTEGER NOT NULL,
        state TEXT NOT NULL,
        volunteer_id TEXT,
        lease TEXT,
        progress REAL NOT NULL DEFAULT 0,
        restarts INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        result TEXT,
        error TEXT,
        stdout_bytes INTEGER NOT NULL DEFAULT 0,
        stderr_bytes INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        finished_at TEXT,
        resume_seq INTEGER,
        avoid_volunteer TEXT,
        output_hash TEXT,                    -- SHA-256 over exit code, stdout, stderr, result, error (replica-vote.ts)
        verdict TEXT CHECK (verdict IN ('accepted', 'agreed', 'outvoted', 'undecided')),
        UNIQUE (job_id, idx, replica)
      );
      INSERT INTO tasks_v8 (id, job_id, job_seq, idx, priority, args, seed, state, volunteer_id, lease, progress, restarts,
                            exit_code, result, error, stdout_bytes, stderr_bytes, started_at, finished_at, resume_seq, avoid_volunteer)
        SELECT id, job_id, job_seq, idx, priority, args, seed, state, volunteer_id, lease, progress, restarts,
               exit_code, result, error, stdout_bytes, stderr_bytes, started_at, finished_at, resume_seq, avoid_volunteer FROM tasks;
      DROP TABLE tasks;
      ALTER TABLE tasks_v8 RENAME TO tasks;
      CREATE INDEX tasks_queue ON tasks (state, priority DESC, job_seq, idx, replica);
      CREATE UNIQUE INDEX tasks_by_lease ON tasks (lease) WHERE lease IS NOT NULL;

      -- Which volunteer was given which replica of a task index, ever: a
      -- volunteer gets at most one replica of an index (it cannot vote twice),
      -- though that one replica may come back to it.
      CREATE TABLE replica_runs (
        job_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        volunteer_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        PRIMARY KEY (job_id, idx, volunteer_id)
      ) WITHOUT ROWID;

      -- How many of a volunteer's replicas the majority outvoted (the dashboard marks it).
      ALTER TABLE volunteers ADD COLUMN outvoted INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 9,
    sql: `
      -- A volunteer id belongs to the browser whose secret its first hello
      -- carried (issue 7): hex SHA-256 of that secret, never the secret itself;
      -- NULL for an id only old clients used (any hello may take it).
      ALTER TABLE volunteers ADD COLUMN secret_hash TEXT;
    `,
  },
];
