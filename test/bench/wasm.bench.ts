/**
 * What the instrumentation of issue 4 costs (`npm run bench -- wasm`), in
 * headless Chromium, no checkpoints taken. The headline is over the kernels
 * of test/bench/kernels (built from committed C, each 0.3–1 s as posted):
 * stencil (store-heavy), nbody (compute-heavy), alloc (allocator-heavy),
 * qsort (recursion-heavy). Each runs as posted (the original) and
 * instrumented four ways, interleaved round by round on fresh memories:
 *
 * - full: barrier + polls + Asyncify, what a job runs;
 * - polls: polls alone, without Asyncify (such a module cannot checkpoint);
 * - polls+asyncify: what the stack capture costs on top of the polls;
 * - barrier: the write barrier alone.
 *
 * Metrics per kernel and as a geomean over the kernels:
 * `instrumented_overhead_pct_<kernel>` (full against the original, same
 * run) and its attribution `_polls`, `_asyncify` (polls+asyncify minus
 * polls, in percentage points), `_barrier`; `code_growth_ratio` and
 * `instrument_ms_per_mb` (full). The checkpoint fixtures, too short to
 * time well (6–75 ms), keep a full-only figure, `fixture_overhead_pct_*`.
 * BENCH_WASM_ROUNDS sets the counted rounds (default 9); BENCH_WASM_INSTRUMENT
 * (JSON InstrumentOptions) changes every variant, e.g. '{"cacheBarrier":false}'.
 *
 * Then each kernel runs fully instrumented under real checkpointing, the way a
 * volunteer runs a task (wasm-checkpoint.page.ts: startCheckpointing with the
 * write barrier, the real checkpoint worker saving to IndexedDB, the
 * volunteer's compute worker and driver), with arguments that make it last
 * seconds (CHECKPOINT_ARGS), once with a checkpoint requested every second
 * and once with none, alternating which goes first, BENCH_WASM_CHECKPOINT_ROUNDS
 * rounds (default 4; 0 skips this part). The module is warmed up in the page
 * first: V8 does not replace the code of a running wasm function, so a run
 * that never leaves `_start` would keep unoptimized code while a
 * checkpointed one, re-entering `_start` after each stop, would not.
 *
 * - `checkpoint_overhead_pct_<kernel>`: the median per-round ratio of the
 *   run with checkpoints to the one without, as a percentage above 1; a run
 *   is timed in its compute worker from instantiation to its end;
 *   `checkpoint_overhead_pct` is the geomean over the kernels;
 * - `pause_ms_p50`, `pause_ms_p99` (and `pause_ms_p99_<kernel>`): a stop of
 *   the program, over every checkpoint of every kernel, measured in the
 *   compute worker from the poll's call of the safepoint that began the
 *   unwind to the return of the one that ended the rewind: unwind, capture,
 *   beginCheckpoint, rewind (wasm-checkpoint.compute.ts). The runtime's own
 *   `stopMs` covers the begin alone; its p99 is printed beside.
 */
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import type { BenchReport } from './report.ts';
import { percentile } from './stats.ts';
import { openWasmBenchPage } from './wasm-bench-browser.ts';
import type { WasmBenchPage } from './wasm-bench-browser.ts';
import { measure } from './wasm-bench-measure.ts';
import type { Measured } from './wasm-bench-measure.ts';
import { measureCheckpoints } from './wasm-checkpoint-measure.ts';

const KERNELS = ['stencil', 'nbody', 'alloc', 'qsort'];
const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'];
const VARIANTS: Record<string, InstrumentOptions> = {
  full: {},
  polls: { barrier: false, asyncify: false },
  'polls+asyncify': { barrier: false },
  barrier: { polls: false },
};
const rounds = Number(process.env.BENCH_WASM_ROUNDS ?? 9);
const checkpointRounds = Number(process.env.BENCH_WASM_CHECKPOINT_ROUNDS ?? 4);
/** Arguments of the checkpointed runs: about 10× the work as posted, so several seconds and several checkpoints each. */
const CHECKPOINT_ARGS: Record<string, string> = { stencil: '15000', nbody: '320000', alloc: '90000000', qsort: '30' };
/** BENCH_WASM_INSTRUMENT: InstrumentOptions (JSON) under every variant's own, to measure the defaults against a change of them. */
const base = JSON.parse(process.env.BENCH_WASM_INSTRUMENT ?? '{}') as InstrumentOptions;

const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const pct = (ratio: number) => (ratio - 1) * 100;

/** The overhead of full and its attribution, from a ratio per variant. */
function attribution(ratio: (label: string) => number): Record<string, number> {
  return {
    '': pct(ratio('full')),
    _polls: pct(ratio('polls')),
    _asyncify: (ratio('polls+asyncify') - ratio('polls')) * 100,
    _barrier: pct(ratio('barrier')),
  };
}

const fmt = (m: Measured) =>
  `original ${m.originalMs.toFixed(0)} ms; ${Object.entries(m.variants)
    .map(([label, v]) => `${label} ${v.ms.toFixed(0)} ms (x${v.ratio.toFixed(3)}, code x${v.growth.toFixed(2)})`)
    .join(', ')}; instrumented in ${m.instrumentMs.toFixed(0)} ms`;

/** The checkpointed runs of every kernel (see the file comment). */
async function checkpointMetrics(page: WasmBenchPage, report: BenchReport): Promise<void> {
  const ratios: number[] = [];
  const stops: number[] = [];
  const reported: number[] = [];
  for (const name of KERNELS) {
    const c = await measureCheckpoints(page, new URL(`./kernels/${name}/program.wasm`, import.meta.url), [name, CHECKPOINT_ARGS[name]!], checkpointRounds, base);
    ratios.push(c.ratio);
    stops.push(...c.stops);
    reported.push(...c.reportedStops);
    report.metric(`checkpoint_overhead_pct_${name}`, pct(c.ratio), '%', 'lower');
    report.metric(`pause_ms_p99_${name}`, percentile(c.stops, 99), 'ms', 'lower');
    report.note(
      `${name} ${CHECKPOINT_ARGS[name]}: without checkpoints ${c.plainMs.toFixed(0)} ms, with ${c.checkpointedMs.toFixed(0)} ms (x${c.ratio.toFixed(3)}); ` +
        `${c.checkpoints} checkpoints, median ${c.pages} pages and ${c.cowCopies} copies on write; stops p50 ${percentile(c.stops, 50).toFixed(2)} ms, ` +
        `max ${Math.max(...c.stops).toFixed(2)} ms; ${c.declined} safepoint calls declined`,
    );
  }
  report.metric('checkpoint_overhead_pct', pct(geomean(ratios)), '%', 'lower');
  report.metric('pause_ms_p50', percentile(stops, 50), 'ms', 'lower');
  report.metric('pause_ms_p99', percentile(stops, 99), 'ms', 'lower');
  report.note(`checkpointed runs: ${checkpointRounds} rounds per kernel, a request every second; ${stops.length} stops; the runtime's stopMs (begin only) p99 ${percentile(reported, 99).toFixed(2)} ms`);
}

export default async function wasmBench(report: BenchReport): Promise<void> {
  const page = await openWasmBenchPage();
  const variants = Object.fromEntries(Object.entries(VARIANTS).map(([label, options]) => [label, { ...base, ...options }]));
  const kernels: Measured[] = [];
  const fixtures: number[] = [];
  try {
    for (const name of KERNELS) {
      const m = await measure(page, new URL(`./kernels/${name}/program.wasm`, import.meta.url), [name], variants, rounds);
      kernels.push(m);
      for (const [suffix, value] of Object.entries(attribution((label) => m.variants[label]!.ratio))) report.metric(`instrumented_overhead_pct_${name}${suffix}`, value, '%', 'lower');
      report.metric(`code_growth_ratio_${name}`, m.variants.full!.growth, 'ratio', 'lower');
      report.note(`${name}: ${fmt(m)}`);
    }
    for (const name of FIXTURES) {
      const m = await measure(page, new URL(`../fixtures/ckpt/${name}/program.wasm`, import.meta.url), [name], { full: base }, rounds);
      fixtures.push(m.variants.full!.ratio);
      report.metric(`fixture_overhead_pct_${name}`, pct(m.variants.full!.ratio), '%', 'lower');
    }
    if (checkpointRounds > 0) await checkpointMetrics(page, report);
  } finally {
    await page.close();
  }
  const gm = (label: string) => geomean(kernels.map((m) => m.variants[label]!.ratio));
  for (const [suffix, value] of Object.entries(attribution(gm))) report.metric(`instrumented_overhead_pct_geomean${suffix}`, value, '%', 'lower');
  report.metric('code_growth_ratio', geomean(kernels.map((m) => m.variants.full!.growth)), 'ratio', 'lower');
  const mb = kernels.reduce((s, m) => s + m.inputBytes, 0) / 2 ** 20;
  report.metric('instrument_ms_per_mb', kernels.reduce((s, m) => s + m.instrumentMs, 0) / mb, 'ms/MB', 'lower');
  report.metric('fixture_overhead_pct_geomean', pct(geomean(fixtures)), '%', 'lower');
  report.note(`${rounds} interleaved rounds after a warm-up, medians of per-round ratios against the original; every variant printed what the original printed`);
}
