/**
 * Limits an operator (or a load test) may raise through the environment, for
 * every coordinator this process starts: `npm start`, and the benches' and
 * tests' child coordinators alike.
 */

/** A positive number from `process.env[name]` ("Infinity" lifts the limit), or undefined when unset. */
export function limitFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name}: expected a positive number or Infinity, got "${raw}"`);
  return value;
}
