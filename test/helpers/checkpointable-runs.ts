/**
 * Runs an instrumented program under the checkpointable driver with
 * checkpoints at chosen polls, keeping each checkpoint (a copy of memory and
 * the state as it went through JSON), and resumes any of them in a fresh
 * instance. Same-thread requests (`request: 'global'` modules), so it runs in
 * Node 20, which has no multi-memory for the tracker.
 */
import type { CheckpointableState } from '../../shared/checkpointable-abi.ts';
import { CheckpointableProgram } from '../../client/runtime/checkpointable/checkpointable-program.ts';
import { seedPrng } from '../../client/runtime/wasi/prng.ts';
import { concatBytes } from '../../shared/bytes.ts';

export interface Snapshot {
  memory: Uint8Array;
  state: CheckpointableState;
}

export interface RunResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
  snapshots: Snapshot[];
}

/**
 * When to checkpoint: `gaps[i]` polls after the previous checkpoint (1 =
 * the first poll that finds the request), and once more at the first poll
 * after the program's first write to stdout or stderr when `afterWrite` (the
 * exit-time flush of most programs).
 */
export interface Schedule {
  gaps: number[];
  afterWrite?: boolean;
}

export interface RunSetup {
  module: WebAssembly.Module;
  argv: string[];
  maximumPages: number;
}

async function drive(setup: RunSetup, memory: WebAssembly.Memory, schedule: Schedule, from?: Snapshot): Promise<RunResult> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const snapshots: Snapshot[] = [];
  const gaps = [...schedule.gaps];
  let countdown = gaps.shift() ?? 0;
  let wroteOnce = false;
  const options = {
    module: setup.module,
    memory,
    argv: setup.argv,
    env: {},
    write: (fd: 1 | 2, bytes: Uint8Array) => {
      (fd === 1 ? out : err).push(bytes);
      if (schedule.afterWrite && !wroteOnce) {
        wroteOnce = true;
        countdown = 1;
        program.requestCheckpoint();
      }
    },
    canSuspend: () => --countdown <= 0,
    onSuspend: (state: CheckpointableState) => {
      snapshots.push({ memory: new Uint8Array(memory.buffer).slice(), state: JSON.parse(JSON.stringify(state)) as CheckpointableState });
      const next = gaps.shift();
      if (next !== undefined) {
        countdown = next;
        program.requestCheckpoint();
      }
    },
  };
  const program = from ? await CheckpointableProgram.resume(options, from.state) : await CheckpointableProgram.start(options, seedPrng(1));
  if (gaps.length > 0 || countdown > 0) program.requestCheckpoint();
  const { exitCode } = program.run();
  return { stdout: concatBytes(out), stderr: concatBytes(err), exitCode, snapshots };
}

/** A fresh run of `setup` under `schedule`. */
export function runFresh(setup: RunSetup, initialPages: number, schedule: Schedule): Promise<RunResult> {
  return drive(setup, new WebAssembly.Memory({ initial: initialPages, maximum: setup.maximumPages, shared: true }), schedule);
}

/** Resumes `snapshot` in a fresh instance on a fresh copy of its memory; the output is what the resumed run wrote. */
export function runResumed(setup: RunSetup, snapshot: Snapshot, schedule: Schedule): Promise<RunResult> {
  const memory = new WebAssembly.Memory({ initial: snapshot.state.memoryPages, maximum: setup.maximumPages, shared: true });
  new Uint8Array(memory.buffer).set(snapshot.memory);
  return drive(setup, memory, schedule, snapshot);
}

/** Checkpoint gaps spread log-uniformly: the first at the first poll, then random gaps of growing scale (×4 each). */
export function spreadGaps(random: () => number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? 1 : 1 + Math.floor(random() * 4 ** i)));
}
