/**
 * What the instrumentation of issue 4 costs, in headless Chromium: each
 * checkpoint fixture run as posted (original) and instrumented three ways
 * (full: barrier + polls + Asyncify; polls + Asyncify only; barrier only),
 * interleaved round by round on fresh memories, no checkpoints taken. Prints
 * medians, ratios against the original of the same run, code growth and
 * instrumentation time per MB. Not part of `npm run bench` yet:
 *   node --import tsx test/bench/instrument-overhead.ts [rounds]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { openInstrumentPage } from '../helpers/instrument-page.ts';

const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'];
const VARIANTS: [string, InstrumentOptions][] = [
  ['full', {}],
  ['polls+asyncify', { barrier: false }],
  ['barrier', { polls: false }],
];
const MAX_PAGES = 1024;
const rounds = Number(process.argv[2] ?? 11);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

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
    console.log(name, Object.entries(row).map(([k, v]) => `${k}=${v.toFixed(k.endsWith('_ms') ? 1 : 2)}`).join(' '));
  }
} finally {
  await page.close();
}
const summary = {
  ...Object.fromEntries(Object.entries(ratios).map(([label, xs]) => [`geomean_ratio_${label}`, geomean(xs)])),
  instrument_ms_per_mb: instrumentMs / (inputBytes / 2 ** 20),
};
console.log(JSON.stringify(summary));
writeFileSync(new URL(`./results/instrument-overhead-${Date.now()}.json`, import.meta.url), JSON.stringify({ rounds, results, summary }, null, 2));
