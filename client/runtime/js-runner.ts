/**
 * Drives a JS step program: `init(ctx)`, then `step(ctx)` until it returns
 * true, then `result(ctx)`. Between steps the worker's event loop gets a turn
 * now and then. After `init` and after every step the program is at a
 * safepoint: its whole state is in `ctx.memory` (API.md, Program ABI), so a
 * checkpoint there needs only the step count besides the memory, and a run
 * resumed from it skips `init` and steps on (DESIGN.md §3).
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { GridError } from '../../shared/errors.ts';
import type { TaskOutcome, TaskSpec } from './task-protocol.ts';
import { createYielder } from './event-loop-yield.ts';
import { clampProgress, messagingNotSupported } from './grid-imports.ts';
import type { JsContext, JsProgram } from './js-program.ts';
import { liveness } from './liveness.ts';
import type { RunHooks } from './run-hooks.ts';
import { TaskError } from './task-error.ts';
import { createProcessMemory } from './wasm-runner.ts';

export interface JsRunOptions {
  /** How long steps may run back to back before the event loop gets a turn. @default 50 */
  yieldIntervalMs?: number;
  /** The runner's state at the checkpoint the memory was restored from: resume instead of starting. */
  resumed?: JsonValue;
}

/** What a JS run's checkpoint holds besides the memory. */
type JsRunState = { runtime: 'js'; steps: number };

function stepsAt(resumed: JsonValue): number {
  const state = resumed as Partial<JsRunState> | null;
  if (state?.runtime !== 'js' || !Number.isSafeInteger(state.steps) || state.steps! < 0) {
    throw new TaskError('InvalidCheckpoint', `not the checkpoint of a JS program: ${JSON.stringify(resumed).slice(0, 200)}`);
  }
  return state.steps!;
}

function createContext(spec: TaskSpec, hooks: RunHooks): JsContext {
  const { port } = hooks;
  const encoder = new TextEncoder();
  return {
    memory: spec.checkpoint?.memory ?? createProcessMemory(spec.memory),
    args: [...spec.args],
    rank: spec.rank,
    size: spec.ranks,
    // A step never blocks: it returns and tries again at a later step (the steps between are safepoints).
    send: (to, data) => {
      if (!port) throw messagingNotSupported();
      return port.offer(to, data);
    },
    recv: (from) => {
      if (!port) throw messagingNotSupported();
      return port.poll(from);
    },
    progress: (fraction) => {
      const clamped = clampProgress(fraction);
      if (clamped !== undefined) hooks.progress(clamped);
    },
    print: (text) => hooks.output('stdout', encoder.encode(`${String(text)}\n`)),
    wrote: (byteOffset, length) => hooks.wrote?.(byteOffset, length),
  };
}

/** What the program threw, as an Error comlink can carry: same name and message. */
function asProgramFailure(error: unknown): Error {
  if (error instanceof TaskError || error instanceof GridError) return error;
  if (error instanceof Error) {
    const copy = new Error(error.message);
    copy.name = error.name;
    if (error.stack) copy.stack = error.stack;
    return copy;
  }
  return new TaskError('ProgramError', `the program threw ${String(error)}`);
}

function toJson(value: unknown): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new TaskError('InvalidProgram', `result(ctx) must return a JSON-serialisable value: ${(error as Error).message}`);
  }
}

async function stepUntilDone(program: JsProgram, ctx: JsContext, hooks: RunHooks, firstStep: number, yieldIntervalMs: number): Promise<void> {
  const yielder = createYielder();
  let steps = firstStep;
  const safepoint = () => hooks.safepoint?.((): JsRunState => ({ runtime: 'js', steps }));
  try {
    safepoint();
    let sliceStart = performance.now();
    for (;;) {
      const returned = program.step(ctx);
      const done = returned instanceof Promise ? await returned : returned;
      if (typeof done !== 'boolean') {
        throw new TaskError('InvalidProgram', `step(ctx) must return a boolean (true when finished), not ${typeof done}`);
      }
      liveness.beat(); // the step returned: the watchdog's sign of life
      if (done) return;
      steps += 1;
      safepoint();
      if (performance.now() - sliceStart >= yieldIntervalMs) {
        await yielder.yield();
        sliceStart = performance.now();
      }
    }
  } finally {
    yielder.close();
  }
}

/** Runs `program` for `spec` to the end: exit code 0 and `result(ctx)`, or rejects with the program's error. */
export async function runJs(program: JsProgram, spec: TaskSpec, hooks: RunHooks, options: JsRunOptions = {}): Promise<TaskOutcome> {
  const ctx = createContext(spec, hooks);
  try {
    const firstStep = options.resumed === undefined ? 0 : stepsAt(options.resumed);
    if (options.resumed === undefined) await program.init(ctx);
    liveness.beat();
    await stepUntilDone(program, ctx, hooks, firstStep, options.yieldIntervalMs ?? 50);
    const result = toJson(await program.result?.(ctx));
    return result === undefined ? { exitCode: 0 } : { exitCode: 0, result };
  } catch (error) {
    throw asProgramFailure(error);
  }
}
