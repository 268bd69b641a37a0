/**
 * The compute worker's `run`: loads the task's program, runs it with output
 * batched into chunks and progress throttled, and makes sure the page has every
 * chunk and the last progress before the outcome (or the failure) is returned.
 * Free of comlink so Node tests can drive it with plain callbacks.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { OutputStream } from '../../shared/states.ts';
import type { ComputeWorkerApi, TaskCallbacks, TaskOutcome, TaskSpec } from './task-protocol.ts';
import { runJs } from './js-runner.ts';
import { liveness, WatchMode } from './liveness.ts';
import { OutputBatcher } from './output-batcher.ts';
import { fetchLoader } from './program-loader.ts';
import type { ProgramLoader } from './program-loader.ts';
import { ProgressThrottle } from './progress-throttle.ts';
import { RankPort } from './rank-port.ts';
import type { RunHooks, SuspendHooks } from './run-hooks.ts';
import { TaskCheckpoints } from './task-checkpoints.ts';
import { asTaskFailure } from './task-failure.ts';
import { asTaskState } from './task-state.ts';
import type { OutputOffsets, TaskState } from './task-state.ts';
import { runWasm } from './wasm-runner.ts';

export interface TaskRunnerOptions {
  /** @default fetchLoader */
  loader?: ProgramLoader;
  /** Marks a chunk's buffer for transfer instead of copy (Comlink.transfer in the worker). */
  transfer?: <T>(value: T, buffers: ArrayBuffer[]) => T;
  /** Called when the page failed to take a callback; the task goes on. */
  onCallbackError?: (error: unknown) => void;
}

async function runProgram(spec: TaskSpec, hooks: RunHooks, loader: ProgramLoader, resumed: JsonValue | undefined): Promise<TaskOutcome> {
  if (spec.format === 'wasm') return runWasm(await loader.wasm(spec.programUrl, spec.program), spec, hooks, resumed);
  // Watched from here: a module's top-level code runs as it loads, and may loop as well as a step.
  liveness.watch(WatchMode.STEPS);
  return runJs(await loader.js(spec.programUrl, spec.program), spec, hooks, { ...(resumed === undefined ? {} : { resumed }) });
}

export function createComputeWorkerApi(options: TaskRunnerOptions = {}): ComputeWorkerApi {
  const loader = options.loader ?? fetchLoader;
  const transfer = options.transfer ?? ((value) => value);
  return {
    async run(spec: TaskSpec, callbacks: TaskCallbacks): Promise<TaskOutcome> {
      liveness.attach(spec.liveness);
      // Callbacks to the page return promises (comlink); wait for them all before
      // answering, since the answer travels on another port and could overtake them.
      const pending = new Set<Promise<unknown>>();
      // Called synchronously: a wasm run never yields, so a deferred call would wait for its end.
      const deliver = (call: () => unknown) => {
        let sent: Promise<unknown>;
        try {
          sent = Promise.resolve(call());
        } catch (error) {
          sent = Promise.reject(error);
        }
        const settled = sent.catch((error) => options.onCallbackError?.(error)).finally(() => pending.delete(settled));
        pending.add(settled);
      };
      const batcher = new OutputBatcher((stream: OutputStream, chunk: Uint8Array) =>
        deliver(() => callbacks.output(stream, transfer(chunk, [chunk.buffer as ArrayBuffer]))),
      );
      const throttle = new ProgressThrottle((fraction) => deliver(() => callbacks.progress(fraction)));
      const link = spec.checkpoint;
      const resumed = link?.resume ? asTaskState(link.resume.state) : undefined;
      // Bytes the program has written so far, counted on from the checkpoint when resuming.
      const written: OutputOffsets = { ...(resumed?.output ?? { stdout: 0, stderr: 0 }) };
      const port =
        spec.coupling &&
        new RankPort({
          rank: spec.rank,
          size: spec.ranks,
          channels: spec.coupling,
          stats: (delta) => deliver(() => callbacks.messageStats?.(delta)),
          ...(resumed?.messages !== undefined && { saved: resumed.messages }),
        });
      const taskState = (capture: () => JsonValue): TaskState => ({ program: capture(), output: { ...written }, ...(port && { messages: port.save() }) });
      const withTaskState = (hooks: SuspendHooks): SuspendHooks => ({ ...hooks, suspend: (capture) => hooks.suspend(() => taskState(capture)) });
      // Output written before the stop reaches the page before the stop's report does, so once the page
      // knows of checkpoint k it has sent all the output k counts (a migration halts right after k).
      const checkpoints =
        link &&
        new TaskCheckpoints(link, (s) => {
          batcher.flush();
          const ticket = port?.stopped();
          deliver(() => callbacks.suspended?.(s.seq, s.pauseMs));
          if (!port) return;
          // A rank runs on only once every rank has stopped for this checkpoint (rank-port.ts).
          const waitStart = performance.now();
          port.awaitRelease(ticket!);
          deliver(() => callbacks.released?.(s.seq, performance.now() - waitStart));
        });
      const hooks: RunHooks = {
        output: (stream, bytes) => {
          written[stream] += bytes.length;
          batcher.write(stream, bytes);
        },
        progress: (fraction) => throttle.report(fraction),
        ...(port && { port }),
        ...(checkpoints && {
          safepoint: (capture) => checkpoints.reach(() => taskState(capture)),
          wrote: (byteOffset, length) => checkpoints.declareWritten(byteOffset, length),
          ...(!link.shadow && { suspendable: withTaskState(checkpoints.suspendable()) }),
        }),
      };
      try {
        const outcome = await runProgram(spec, hooks, loader, resumed?.program);
        port?.flush();
        return outcome;
      } catch (error) {
        throw asTaskFailure(error);
      } finally {
        batcher.close();
        throttle.close();
        await Promise.all([...pending]);
      }
    },
  };
}
