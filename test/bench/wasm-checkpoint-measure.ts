/**
 * Measures what checkpointing costs one fully instrumented kernel: runs it
 * through the volunteer's runtime (wasm-checkpoint.page.ts) with a checkpoint
 * requested every CHECKPOINT_INTERVAL_MS and without any request, in
 * alternating order round by round, and returns the median of the per-round
 * time ratios, every stop, and what the checkpoints stored. Every run must
 * print what the run without checkpoints of its round printed.
 */
import { readFileSync } from 'node:fs';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { median } from './stats.ts';
import type { WasmBenchPage } from './wasm-bench-browser.ts';
import type { CheckpointedRun } from './wasm-checkpoint.page.ts';

export const CHECKPOINT_INTERVAL_MS = 1000;
/** The run without checkpoints asks for one this rarely: never, within a run. */
const NEVER_MS = 2 ** 30;
/** As in wasm-bench-measure.ts: room for the allocator's growth and the unwind pages. */
const MAX_PAGES = 1024;
/** Runs in the page, as posted, before the checkpointed runs (see below). */
const WARM_RUNS = 2;

export interface CheckpointMeasured {
  /** Median of per-round ratios (checkpointed ÷ not), and the medians of each. */
  ratio: number;
  plainMs: number;
  checkpointedMs: number;
  /** Every stop of every checkpointed run (ms), poll to continuation. */
  stops: number[];
  /** The runtime's own report of each stop (CheckpointSafepoint: capture and interval swap only). */
  reportedStops: number[];
  checkpoints: number;
  declined: number;
  /** Pages and copies-on-write per checkpoint, medians. */
  pages: number;
  cowCopies: number;
}

let runs = 0;

export async function measureCheckpoints(page: WasmBenchPage, wasmFile: URL, argv: string[], rounds: number, options: InstrumentOptions = {}): Promise<CheckpointMeasured> {
  const { bytes, memory } = shareMemory(readFileSync(wasmFile), MAX_PAGES);
  const path = `/programs/${argv[0]}.wasm`;
  const instrumented = instrumentProgram(bytes, options).bytes;
  page.put(path, instrumented, 'application/wasm');
  // V8 has no on-stack replacement for wasm: a run that never leaves `_start` keeps the code it
  // entered with, while a checkpointed one re-enters `_start` after every stop and picks up the
  // optimized code, which would pass for a negative overhead. So the module is first warmed up in
  // the page (as posted, short); it stays loaded there, and the workers' compiles of the same
  // bytes get V8's cached module with its optimized code.
  await page.call('load', { variants: [{ label: 'full', wasm: [...instrumented] }], argv: [argv[0]!], initialPages: memory.initial, maxPages: MAX_PAGES });
  for (let i = 0; i < WARM_RUNS; i++) await page.call('round', ['full']);
  const run = (intervalMs: number) =>
    page.call('checkpointedRun', { taskId: `wasm-bench-${++runs}`, programUrl: path, argv, memory: { initial: memory.initial, maximum: MAX_PAGES }, intervalMs });
  const ratios: number[] = [];
  const plainMs: number[] = [];
  const checkpointedMs: number[] = [];
  const all: CheckpointedRun[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which runs first, so a drift over the round favours neither.
    const [first, second] = r % 2 === 0 ? [CHECKPOINT_INTERVAL_MS, NEVER_MS] : [NEVER_MS, CHECKPOINT_INTERVAL_MS];
    const a = await run(first);
    const b = await run(second);
    const [checkpointed, plain] = first === CHECKPOINT_INTERVAL_MS ? [a, b] : [b, a];
    for (const [label, x] of [['checkpointed', checkpointed], ['plain', plain]] as const) {
      if (x.problems.length > 0) throw new Error(`${argv.join(' ')} (${label}): ${x.problems.join('; ')}`);
      if (x.exitCode !== 0) throw new Error(`${argv.join(' ')} (${label}) exited with ${x.exitCode}`);
    }
    if (checkpointed.stdout !== plain.stdout) throw new Error(`${argv.join(' ')}: with checkpoints it printed ${JSON.stringify(checkpointed.stdout)}, without ${JSON.stringify(plain.stdout)}`);
    if (plain.stops.length > 0) throw new Error(`${argv.join(' ')}: the run without requests stopped ${plain.stops.length} times`);
    if (checkpointed.checkpoints.length < 2) throw new Error(`${argv.join(' ')}: only ${checkpointed.checkpoints.length} checkpoints committed in ${checkpointed.runMs.toFixed(0)} ms; give it more work`);
    ratios.push(checkpointed.runMs / plain.runMs);
    plainMs.push(plain.runMs);
    checkpointedMs.push(checkpointed.runMs);
    all.push(checkpointed);
  }
  const committed = all.flatMap((x) => x.checkpoints);
  return {
    ratio: median(ratios),
    plainMs: median(plainMs),
    checkpointedMs: median(checkpointedMs),
    stops: all.flatMap((x) => x.stops),
    reportedStops: committed.map((c) => c.stopMs),
    checkpoints: committed.length,
    declined: all.reduce((s, x) => s + x.declined, 0),
    pages: median(committed.map((c) => c.pages)),
    cowCopies: median(committed.map((c) => c.cowCopies)),
  };
}
