/**
 * Measures one program of the instrumentation benchmark: instruments it once
 * per variant, runs the original and every variant in interleaved rounds in
 * the bench page, checks that each run prints exactly what the original
 * printed in the same round, and returns per variant the median of the
 * per-round time ratios against the original. Ratios are taken within a
 * round because the machine is shared: a slow spell hits the original and
 * its variants alike, so pairing them cancels most of it.
 */
import { readFileSync } from 'node:fs';
import { instrumentProgram } from '../../server/programs/instrument/instrument-program.ts';
import type { InstrumentOptions } from '../../server/programs/instrument/instrument-options.ts';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { median } from './stats.ts';
import type { WasmBenchPage } from './wasm-bench-browser.ts';

/** Memory maximum of every run, in 64 KiB pages (64 MiB: the kernels' few MiB and the allocator's growth fit). */
const MAX_PAGES = 1024;
/** Instrumentation time is the median of this many runs (the first pays binaryen's warm-up). */
const INSTRUMENT_RUNS = 3;

export type Variants = Readonly<Record<string, InstrumentOptions>>;

export interface Measured {
  originalMs: number;
  /** Median time of each variant and the median of its per-round ratios to the original. */
  variants: Record<string, { ms: number; ratio: number; growth: number }>;
  /** Bytes of the original and the median time to instrument it fully (the first variant). */
  inputBytes: number;
  instrumentMs: number;
}

export async function measure(page: WasmBenchPage, wasmFile: URL, argv: string[], variants: Variants, rounds: number): Promise<Measured> {
  const original = readFileSync(wasmFile);
  const { bytes, memory } = shareMemory(original, MAX_PAGES);
  const labels = Object.keys(variants);
  const built = labels.map((label) => ({ label, out: instrumentProgram(bytes, variants[label]) }));
  const times: number[] = [];
  for (let i = 0; i < INSTRUMENT_RUNS; i++) times.push(instrumentProgram(bytes, variants[labels[0]!]).report.ms.total);
  await page.call('load', {
    variants: [{ label: 'original', wasm: [...bytes] }, ...built.map(({ label, out }) => ({ label, wasm: [...out.bytes] }))],
    argv,
    initialPages: memory.initial,
    maxPages: MAX_PAGES,
  });
  const order = ['original', ...labels];
  const ms: Record<string, number[]> = Object.fromEntries(order.map((l) => [l, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(labels.map((l) => [l, []]));
  // Round 0 warms up (V8 tiers a module up while it runs) and is not counted.
  for (let r = 0; r <= rounds; r++) {
    const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
    const runs = await page.call('round', rotated);
    const reference = runs.original!;
    for (const label of labels) {
      const run = runs[label]!;
      if (run.stdout !== reference.stdout || run.exitCode !== reference.exitCode) {
        throw new Error(`${argv[0]}: the ${label} variant printed ${JSON.stringify(run.stdout)} (exit ${run.exitCode}), the original ${JSON.stringify(reference.stdout)} (exit ${reference.exitCode})`);
      }
      if (r > 0) ratios[label]!.push(run.ms / reference.ms);
    }
    if (r > 0) for (const label of order) ms[label]!.push(runs[label]!.ms);
  }
  const out: Measured = { originalMs: median(ms.original!), variants: {}, inputBytes: bytes.byteLength, instrumentMs: median(times) };
  for (const { label, out: result } of built) {
    out.variants[label] = { ms: median(ms[label]!), ratio: median(ratios[label]!), growth: result.report.outputBytes / result.report.inputBytes };
  }
  return out;
}
