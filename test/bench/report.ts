/**
 * What every benchmark records and how it is written (API.md "Bench output"):
 * named metrics with a unit and a direction, the environment they were measured
 * in, a table on stdout and `test/bench/results/NAME.json`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Better = 'lower' | 'higher';

export interface Metric {
  value: number;
  unit: string;
  better: Better;
}

export interface BenchEnv {
  node: string;
  /** The Chromium the browser benchmarks drive; null if it is not installed. */
  chromium: string | null;
}

export interface BenchResult {
  name: string;
  at: string;
  env: BenchEnv;
  metrics: Record<string, Metric>;
}

/** @default `/usr/bin/chromium`, or `CHROMIUM_PATH` */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** The version number `chromium --version` prints (e.g. `156.0.8078.79`), or null if it does not run. */
export function chromiumVersion(path = chromiumPath()): string | null {
  try {
    const text = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return /(\d+(?:\.\d+)+)/.exec(text)?.[1] ?? (text.trim() || null);
  } catch {
    return null;
  }
}

export function benchEnv(): BenchEnv {
  return { node: process.versions.node, chromium: chromiumVersion() };
}

/** Keeps about four significant digits: more would only be noise. */
function tidy(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 6)));
}

/** One benchmark run's metrics and notes; `run.ts` prints and writes it when the benchmark returns. */
export class BenchReport {
  readonly metrics: Record<string, Metric> = {};
  readonly notes: string[] = [];

  constructor(readonly name: string) {}

  metric(name: string, value: number, unit: string, better: Better): void {
    if (!Number.isFinite(value)) throw new Error(`metric ${name}: expected a finite number, got ${value}`);
    this.metrics[name] = { value: tidy(value), unit, better };
  }

  /** A line printed under the table (context that is not a metric: sizes, checks, diagnostics). */
  note(line: string): void {
    this.notes.push(line);
  }

  result(env: BenchEnv = benchEnv(), at = new Date()): BenchResult {
    return { name: this.name, at: at.toISOString(), env, metrics: { ...this.metrics } };
  }

  table(result: BenchResult): string {
    const rows = [
      ['metric', 'value', 'unit', 'better'],
      ...Object.entries(result.metrics).map(([name, m]) => [name, m.value.toLocaleString('en-US'), m.unit, m.better]),
    ];
    const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
    const line = (row: string[]) =>
      row.map((cell, col) => (col === 1 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ');
    return [
      `${result.name} (${result.at}, node ${result.env.node}, chromium ${result.env.chromium ?? 'not found'})`,
      line(rows[0]!),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.slice(1).map(line),
      ...this.notes.map((n) => `  ${n}`),
    ].join('\n');
  }

  /** Writes `DIR/NAME.json`; returns its path. */
  write(result: BenchResult, dir: string): string {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${result.name}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    return file;
  }
}
