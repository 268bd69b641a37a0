/**
 * Random and adversarial values for fuzzing the coordinator's boundaries,
 * from a seeded generator (seeded-random.ts) so a failure replays: strings
 * that parse as numbers or name prototype keys, numbers past every bound,
 * binary where text belongs, deep nesting, huge arrays, objects with an own
 * `__proto__` key.
 */
export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
export const int = (rng: Rng, low: number, high: number): number => low + Math.floor(rng() * (high - low + 1));

const NASTY_STRINGS = [
  '',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '0x10',
  ' 1 ',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\u0000',
  '\ud800',
  '../../../etc/passwd',
  '%00%2e%2e',
  '<script>alert(1)</script>',
  "'; DROP TABLE tasks; --",
  '0'.repeat(64),
  'f'.repeat(64),
  'A'.repeat(4097),
];

const NASTY_NUMBERS = [0, -0, -1, 1, 0.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, Number.MIN_VALUE, NaN, Infinity, -Infinity, 1024, 1025, 16_384];

/** An object with an own `__proto__` key (as JSON.parse makes it), plus `constructor.prototype`: pollution attempts. */
export function pollutionObject(): unknown {
  return JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}');
}

/** `depth` arrays or objects inside each other. */
export function deepNesting(depth: number, objects: boolean): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = objects ? { a: value } : [value];
  return value;
}

export function randomBytes(rng: Rng, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(rng() * 256);
  return bytes;
}

export function randomString(rng: Rng, length = int(rng, 0, 40)): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(int(rng, 0, 0xffff));
  return out;
}

/** One adversarial value; `small` keeps it to a few KiB (most of a fuzz run), otherwise it may be up to ~1 MiB. */
export function adversarialValue(rng: Rng, small = true, depth = 0): unknown {
  const kind = int(rng, 0, small ? 11 : 15);
  switch (kind) {
    case 0:
      return pick(rng, NASTY_STRINGS);
    case 1:
      return pick(rng, NASTY_NUMBERS);
    case 2:
      return pick(rng, [null, undefined, true, false]);
    case 3:
      return randomString(rng);
    case 4:
      return randomBytes(rng, int(rng, 0, 64));
    case 5:
      return pollutionObject();
    case 6:
      return depth > 3 ? [] : Array.from({ length: int(rng, 0, 5) }, () => adversarialValue(rng, true, depth + 1));
    case 7: {
      if (depth > 3) return {};
      // fromEntries defines own keys: `__proto__` stays a key (as JSON.parse makes it) rather than setting the prototype.
      const entries = Array.from({ length: int(rng, 0, 4) }, () => [pick(rng, [...NASTY_STRINGS.slice(0, 16), randomString(rng, 5)]), adversarialValue(rng, true, depth + 1)]);
      return Object.fromEntries(entries);
    }
    case 8:
      return int(rng, -1e6, 1e6);
    case 9:
      return rng() * 2 - 1;
    case 10:
      // Deeper than MAX_JSON_DEPTH (64) closes the connection: that is fuzzed with raw packets (deepJson).
      return deepNesting(int(rng, 5, 50), rng() < 0.5);
    case 11:
      return [pick(rng, NASTY_STRINGS), pick(rng, NASTY_NUMBERS)];
    case 12:
      return '9'.repeat(int(rng, 300, 5_000));
    case 13:
      return big(rng, kind, () => Array.from({ length: int(rng, 10_000, 100_000) }, () => int(rng, 0, 9)));
    case 14:
      return big(rng, kind, () => 'x'.repeat(int(rng, 100_000, 1_000_000)));
    default:
      return big(rng, kind, () => randomBytes(rng, int(rng, 65_537, 1_100_000)));
  }
}

/** Large values are made a few times and then reused: making them would otherwise be most of the fuzzer's own time. */
const bigValues = new Map<number, unknown[]>();
function big(rng: Rng, kind: number, make: () => unknown): unknown {
  const made = bigValues.get(kind) ?? [];
  bigValues.set(kind, made);
  if (made.length < 3) made.push(make());
  return pick(rng, made);
}

/** JSON text nested deeper than a JSON.stringify on this side could write (sent raw, past socket.io-client's encoder). */
export function deepJson(depth: number, objects: boolean): string {
  return objects ? '{"a":'.repeat(depth) + '0' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
}
