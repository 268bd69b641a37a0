/**
 * `npm run bench` runs every benchmark, `npm run bench -- NAME [NAME…]` the
 * named ones. A benchmark is `test/bench/NAME.bench.ts` whose default export is
 * an async function that records metrics into the BenchReport it is given; this
 * runner prints the table and writes `test/bench/results/NAME.json`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchReport, benchEnv } from './report.ts';

const SUFFIX = '.bench.ts';
const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(benchDir, 'results');

type Benchmark = (report: BenchReport) => Promise<void>;

const available = readdirSync(benchDir)
  .filter((f) => f.endsWith(SUFFIX))
  .map((f) => f.slice(0, -SUFFIX.length))
  .sort();

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  console.error(`available: ${available.join(', ') || '(none)'} (files test/bench/NAME${SUFFIX})`);
  process.exit(2);
}

const env = benchEnv();
const failed: string[] = [];
for (const name of asked.length > 0 ? asked : available) {
  const report = new BenchReport(name);
  console.log(`\n== ${name}`);
  try {
    const module = (await import(pathToFileURL(join(benchDir, `${name}${SUFFIX}`)).href)) as { default?: unknown };
    if (typeof module.default !== 'function') throw new Error(`${name}${SUFFIX} has no default export function`);
    await (module.default as Benchmark)(report);
    const result = report.result(env);
    console.log(`\n${report.table(result)}`);
    console.log(`  -> ${report.write(result, resultsDir)}`);
  } catch (error) {
    failed.push(name);
    console.error(`\n${name} FAILED:`, error);
  }
}

if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
// Exit explicitly: a benchmark that left a handle open must not hang the run.
process.exit(failed.length > 0 ? 1 : 0);
