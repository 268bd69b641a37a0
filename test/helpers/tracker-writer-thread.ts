/**
 * A compute worker stand-in for the tracker tests: a real second thread that
 * writes the shared process memory through the write barrier.
 * - mode 'commands': obeys one message at a time (deterministic tests);
 * - mode 'script': for each run it is sent, runs a generated script of writes, growths and
 *   safepoints; at a safepoint it honours a pending checkpoint request and
 *   sends the oracle, a full copy of memory taken while suspended.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PageTracker } from '../../client/checkpoint/tracker.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';

export type ScriptOp =
  | { kind: 'write'; offset: number; bytes: number[] }
  | { kind: 'grow' }
  | { kind: 'safepoint' }
  | { kind: 'spin'; iterations: number };

export type Command = { op: 'write'; offset: number; bytes: Uint8Array } | { op: 'begin' } | { op: 'grow' };

/** mode 'commands' gets its memory at start; mode 'script' gets one `ScriptRun` message per run (one thread for many runs). */
export type WriterData = { mode: 'commands'; buffers: TrackerBuffers; memory: WebAssembly.Memory } | { mode: 'script' };

export interface ScriptRun {
  buffers: TrackerBuffers;
  memory: WebAssembly.Memory;
  /** Int32Array word 0 = 1 while a checkpoint is requested. */
  request: SharedArrayBuffer;
  script: ScriptOp[];
}

export type WriterMessage =
  | { op: 'written' }
  | { op: 'grown'; bytes: number }
  | { op: 'begun'; k: number | null; oracle?: Uint8Array }
  | { op: 'done' }
  | { op: 'error'; message: string };

const data = workerData as WriterData;
const port = parentPort!;

function write(tracker: PageTracker, memory: WebAssembly.Memory, offset: number, bytes: ArrayLike<number>): void {
  tracker.markWrite(offset, bytes.length);
  new Uint8Array(memory.buffer).set(bytes, offset);
}

function begin(tracker: PageTracker, memory: WebAssembly.Memory): WriterMessage {
  const k = tracker.beginCheckpoint();
  if (k === null) return { op: 'begun', k };
  return { op: 'begun', k, oracle: new Uint8Array(memory.buffer).slice() };
}

function runScript({ buffers, memory, request: requestBuffer, script }: ScriptRun): void {
  const tracker = new PageTracker(buffers, memory);
  const request = new Int32Array(requestBuffer);
  let sink = 0;
  for (const op of script) {
    if (op.kind === 'write') write(tracker, memory, op.offset, op.bytes);
    else if (op.kind === 'grow') memory.grow(1);
    else if (op.kind === 'spin') for (let i = 0; i < op.iterations; i++) sink += i;
    else if (Atomics.load(request, 0) === 1) {
      const begun = begin(tracker, memory);
      if (begun.op === 'begun' && begun.k !== null) {
        Atomics.store(request, 0, 0);
        port.postMessage(begun, [begun.oracle!.buffer as ArrayBuffer]);
      } // else: the previous checkpoint is still being saved; keep the request (coalescing)
    }
  }
  port.postMessage({ op: 'done', spin: sink & 0 });
}

if (data.mode === 'script') {
  port.on('message', (run: ScriptRun) => {
    try {
      runScript(run);
    } catch (error) {
      port.postMessage({ op: 'error', message: String(error) } satisfies WriterMessage);
    }
  });
} else {
  const { buffers, memory } = data;
  const tracker = new PageTracker(buffers, memory);
  port.on('message', (command: Command) => {
    try {
      if (command.op === 'write') {
        write(tracker, memory, command.offset, command.bytes);
        port.postMessage({ op: 'written' } satisfies WriterMessage);
      } else if (command.op === 'grow') {
        memory.grow(1);
        port.postMessage({ op: 'grown', bytes: memory.buffer.byteLength } satisfies WriterMessage);
      } else port.postMessage(begin(tracker, memory));
    } catch (error) {
      port.postMessage({ op: 'error', message: String(error) } satisfies WriterMessage);
    }
  });
}
