/** The embedded default store: one SQLite file under the data folder. */
import { openDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import { sqliteCheckpoints } from './sqlite-checkpoints.ts';
import { sqliteCoupled } from './sqlite-coupled.ts';
import { sqliteJobs } from './sqlite-jobs.ts';
import { sqlitePrograms } from './sqlite-programs.ts';
import { sqliteReplicas } from './sqlite-replicas.ts';
import { sqliteTasks } from './sqlite-tasks.ts';
import { sqliteVolunteers } from './sqlite-volunteers.ts';
import type { Store } from './store.ts';

export function openSqliteStore(file: string): Store {
  const db = openDatabase(file);
  const commit = new GroupCommit(db);
  return {
    commit,
    programs: sqlitePrograms(db, commit),
    jobs: sqliteJobs(db, commit),
    tasks: sqliteTasks(db, commit),
    checkpoints: sqliteCheckpoints(db, commit),
    coupled: sqliteCoupled(db, commit),
    volunteers: sqliteVolunteers(db, commit),
    replicas: sqliteReplicas(db, commit),
    close: () => {
      commit.close();
      db.close();
    },
  };
}
