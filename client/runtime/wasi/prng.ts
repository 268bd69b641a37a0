/**
 * The deterministic generator behind `random_get`: xoshiro128** seeded by
 * splitmix32 from the task's seed. Its whole state is a small plain object, so a
 * checkpoint can store it and a resumed run draws the same bytes as an
 * uninterrupted one (DESIGN.md §3, "Nondeterminism breaks replay").
 * https://prng.di.unimi.it/xoshiro128starstar.c
 */
export interface PrngState {
  s0: number;
  s1: number;
  s2: number;
  s3: number;
  /** 32-bit words drawn so far. */
  draws: number;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function splitmix32(x: number): { next: number; value: number } {
  const next = (x + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return { next, value: (z ^ (z >>> 16)) >>> 0 };
}

/** A generator state for `seed` (any finite number; its low 53 bits count). */
export function seedPrng(seed: number): PrngState {
  const whole = Math.trunc(seed);
  const lo = whole >>> 0;
  const hi = Math.floor(whole / 2 ** 32) >>> 0;
  let x = (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const step = splitmix32(x);
    x = step.next;
    words.push(step.value);
  }
  const [s0, s1, s2, s3] = words as [number, number, number, number];
  // splitmix32 never yields four zero words from one sequence, so the state is never all zero.
  return { s0, s1, s2, s3, draws: 0 };
}

export function nextU32(state: PrngState): number {
  const result = Math.imul(rotl(Math.imul(state.s1, 5), 7), 9) >>> 0;
  const t = (state.s1 << 9) >>> 0;
  state.s2 = (state.s2 ^ state.s0) >>> 0;
  state.s3 = (state.s3 ^ state.s1) >>> 0;
  state.s1 = (state.s1 ^ state.s2) >>> 0;
  state.s0 = (state.s0 ^ state.s3) >>> 0;
  state.s2 = (state.s2 ^ t) >>> 0;
  state.s3 = rotl(state.s3, 11);
  state.draws++;
  return result;
}

/** `length` random bytes, little-endian words; a partial last word's spare bytes are dropped. */
export function randomBytes(state: PrngState, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    let word = nextU32(state);
    for (let j = i; j < Math.min(i + 4, length); j++) {
      out[j] = word & 0xff;
      word >>>= 8;
    }
  }
  return out;
}
