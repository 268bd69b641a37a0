/**
 * What the instrumentation of issue 4 costs (`npm run bench -- wasm`), in
 * headless Chromium: each checkpoint fixture run as posted (original) and
 * instrumented three ways (full: barrier + polls + Asyncify; polls +
 * Asyncify only; barrier only), interleaved round by round on fresh
 * memories, no checkpoints taken. Metrics: per fixture and as a geomean,
 * `instrumented_overhead_pct_*` (full against the original, same run), the
 * same for the partial variants (`*_polls_asyncify`, `*_barrier`), code
 * growth, and instrumentation time per MB of input. BENCH_WASM_ROUNDS sets
 * the rounds (default 11). Not yet measured: checkpoints every second and
 * their pauses (the volunteer's runtime does not use the driver yet).
 */
import { readFileSync } from 'node:fs';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { openInstrumentPage } from '../helpers/instrument-page.ts';
import type { BenchReport } from './report.ts';
import { median } from './stats.ts';

const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'];
const VARIANTS: [string, InstrumentOptions][] = [
  ['full', {}],
  ['polls+asyncify', { barrier: false }],
  ['barrier', { polls: false }],
];
const MAX_PAGES = 1024;
const rounds = Number(process.env.BENCH_WASM_ROUNDS ?? 11);

const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

const pct = (ratio: number) => (ratio - 1) * 100;
const metricName = (label: string) => (label === 'full' ? '' : `_${label.replace('+', '_')}`);

export default async function wasmBench(report: BenchReport): Promise<void> {
  const page = await openInstrumentPage();
  const results: Record<string, Record<string, number>> = {};
  const ratios: Record<string, number[]> = Object.fromEntries(VARIANTS.map(([label]) => [label, []]));
  let instrumentMs = 0;
  let inputBytes = 0;
  try {
    for (const name of FIXTURES) {
      const original = readFileSync(new URL(`../fixtures/ckpt/${name}/program.wasm`, import.meta.url));
      const { bytes, memory } = shareMemory(original, MAX_PAGES);
      const variants = [{ label: 'original', wasm: [...bytes], instrumented: false }];
      const row: Record<string, number> = {};
      for (const [label, options] of VARIANTS) {
        const { bytes: out, report } = instrumentProgram(bytes, options);
        variants.push({ label, wasm: [...out], instrumented: true });
        row[`growth_${label}`] = report.outputBytes / report.inputBytes;
        if (label === 'full') {
          instrumentMs += report.ms.total;
          inputBytes += report.inputBytes;
        }
      }
      const times = await page.call('bench', { variants, argv: [name], initialPages: memory.initial, maxPages: MAX_PAGES, repeats: rounds });
      row.original_ms = median(times.original!);
      for (const [label] of VARIANTS) {
        row[`${label}_ms`] = median(times[label]!);
        row[`${label}_ratio`] = row[`${label}_ms`]! / row.original_ms;
        ratios[label]!.push(row[`${label}_ratio`]!);
      }
      results[name] = row;
      report.metric(`instrumented_overhead_pct_${name}`, pct(row.full_ratio!), '%', 'lower');
      report.note(`${name}: ${Object.entries(row).map(([k, v]) => `${k}=${v.toFixed(k.endsWith('_ms') ? 1 : 2)}`).join(' ')}`);
    }
  } finally {
    await page.close();
  }
  for (const [label, xs] of Object.entries(ratios)) report.metric(`instrumented_overhead_pct_geomean${metricName(label)}`, pct(geomean(xs)), '%', 'lower');
  report.metric('code_growth_ratio', geomean(Object.values(results).map((row) => row.growth_full!)), 'ratio', 'lower');
  report.metric('instrument_ms_per_mb', instrumentMs / (inputBytes / 2 ** 20), 'ms/MB', 'lower');
  report.note(`${rounds} interleaved rounds per fixture, medians; ratios against the original module in the same run`);
}
