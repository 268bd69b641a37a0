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
 * BENCH_WASM_ROUNDS sets the counted rounds (default 9).
 */
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import type { BenchReport } from './report.ts';
import { openWasmBenchPage } from './wasm-bench-browser.ts';
import { measure } from './wasm-bench-measure.ts';
import type { Measured } from './wasm-bench-measure.ts';

const KERNELS = ['stencil', 'nbody', 'alloc', 'qsort'];
const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'];
const VARIANTS: Record<string, InstrumentOptions> = {
  full: {},
  polls: { barrier: false, asyncify: false },
  'polls+asyncify': { barrier: false },
  barrier: { polls: false },
};
const rounds = Number(process.env.BENCH_WASM_ROUNDS ?? 9);

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

export default async function wasmBench(report: BenchReport): Promise<void> {
  const page = await openWasmBenchPage();
  const kernels: Measured[] = [];
  const fixtures: number[] = [];
  try {
    for (const name of KERNELS) {
      const m = await measure(page, new URL(`./kernels/${name}/program.wasm`, import.meta.url), [name], VARIANTS, rounds);
      kernels.push(m);
      for (const [suffix, value] of Object.entries(attribution((label) => m.variants[label]!.ratio))) report.metric(`instrumented_overhead_pct_${name}${suffix}`, value, '%', 'lower');
      report.metric(`code_growth_ratio_${name}`, m.variants.full!.growth, 'ratio', 'lower');
      report.note(`${name}: ${fmt(m)}`);
    }
    for (const name of FIXTURES) {
      const m = await measure(page, new URL(`../fixtures/ckpt/${name}/program.wasm`, import.meta.url), [name], { full: {} }, rounds);
      fixtures.push(m.variants.full!.ratio);
      report.metric(`fixture_overhead_pct_${name}`, pct(m.variants.full!.ratio), '%', 'lower');
    }
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
