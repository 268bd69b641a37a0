/**
 * Monte Carlo estimate of pi as a JS step program: the same generator and the
 * same arithmetic as examples/montecarlo-pi, so for equal arguments both count
 * exactly the same points. All state lives in ctx.memory, so a checkpoint
 * between two steps captures it.
 *
 *   args: [SEED [SAMPLES]]; prints: seed=SEED samples=SAMPLES inside=N pi=P
 *
 * Bundled on its own into dist/examples/pi-js.js: it imports nothing.
 */

/** The part of the runtime's ctx this program uses. */
interface StepContext {
  readonly memory: { readonly buffer: ArrayBufferLike };
  readonly args: readonly string[];
  progress(fraction: number): void;
  print(text: string): void;
  /** Declares what a step wrote, so a checkpoint compares only that (API.md, README "Checkpoints"). */
  wrote?(byteOffset: number, length: number): void;
}

const DEFAULT_SAMPLES = 40_000_000;
/** Samples per step: a few milliseconds, so checkpoints between steps come often. */
const SAMPLES_PER_STEP = 250_000;

/** Layout of the process memory: generator words, then counters as doubles (exact below 2^53). */
const GENERATOR_WORDS = 4;
const COUNTERS_OFFSET = 16;
const COUNTER = { seed: 0, samples: 1, done: 2, inside: 3 } as const;
/** Everything this program ever writes: the generator and the counters. */
const STATE_BYTES = COUNTERS_OFFSET + 4 * 8;

function views(ctx: StepContext): { s: Uint32Array; counters: Float64Array } {
  // Made afresh each step: after a restore the memory is a different buffer.
  return { s: new Uint32Array(ctx.memory.buffer, 0, GENERATOR_WORDS), counters: new Float64Array(ctx.memory.buffer, COUNTERS_OFFSET, 4) };
}

function parseCount(text: string | undefined, fallback: bigint): bigint {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) throw new RangeError(`usage: pi-js [SEED [SAMPLES]]; ${JSON.stringify(text)} is not a non-negative integer`);
  return BigInt(text);
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** xoshiro128**, one step, on the state in memory. */
function next(s: Uint32Array): number {
  const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
  const t = s[1]! << 9;
  s[2]! ^= s[0]!;
  s[3]! ^= s[1]!;
  s[1]! ^= s[2]!;
  s[0]! ^= s[3]!;
  s[2]! ^= t;
  s[3] = rotl(s[3]!, 11);
  return result;
}

/** A double in [0, 1) from 53 random bits, as the C program computes it. */
function uniform(s: Uint32Array): number {
  const a = next(s) >>> 5;
  const b = next(s) >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

export function init(ctx: StepContext): void {
  const seed = parseCount(ctx.args[0], 1n);
  const samples = parseCount(ctx.args[1], BigInt(DEFAULT_SAMPLES));
  if (samples > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('pi-js: SAMPLES must be below 2^53');
  const { s, counters } = views(ctx);
  // splitmix32 from the low 32 bits of the seed, as in the C program.
  let x = Number(seed & 0xffffffffn);
  for (let i = 0; i < GENERATOR_WORDS; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  counters[COUNTER.seed] = Number(seed);
  counters[COUNTER.samples] = Number(samples);
  counters[COUNTER.done] = 0;
  counters[COUNTER.inside] = 0;
  ctx.wrote?.(0, STATE_BYTES);
}

export function step(ctx: StepContext): boolean {
  const { s, counters } = views(ctx);
  const samples = counters[COUNTER.samples]!;
  let done = counters[COUNTER.done]!;
  let inside = counters[COUNTER.inside]!;
  const end = Math.min(done + SAMPLES_PER_STEP, samples);
  for (; done < end; done++) {
    const px = uniform(s);
    const py = uniform(s);
    if (px * px + py * py <= 1) inside++;
  }
  counters[COUNTER.done] = done;
  counters[COUNTER.inside] = inside;
  ctx.wrote?.(0, STATE_BYTES);
  ctx.progress(samples > 0 ? done / samples : 1);
  if (done < samples) return false;
  const pi = samples > 0 ? (4 * inside) / samples : 0;
  ctx.print(`seed=${counters[COUNTER.seed]} samples=${samples} inside=${inside} pi=${pi.toFixed(6)}`);
  return true;
}

export function result(ctx: StepContext): { seed: number; samples: number; inside: number } {
  const { counters } = views(ctx);
  return { seed: counters[COUNTER.seed]!, samples: counters[COUNTER.samples]!, inside: counters[COUNTER.inside]! };
}
