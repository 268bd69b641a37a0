/**
 * The part of a checkpoint's opaque `state` the coordinator reads: how many
 * bytes of stdout and stderr the program had written at the checkpoint. A
 * run resumed from it counts on from there, and the coordinator cuts what a
 * halted or lost run printed after it, so nothing appears twice (issue 4,
 * "Output written after a checkpoint ... must not appear twice").
 */
import type { JsonValue } from './checkpoint-format.ts';
import type { OutputStream } from './states.ts';

export type OutputOffsets = Record<OutputStream, number>;

const isOffset = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The output offsets of a task checkpoint's state, or undefined when it records none. */
export function outputOffsetsOf(state: JsonValue): OutputOffsets | undefined {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const output = state.output;
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return undefined;
  const { stdout, stderr } = output;
  return isOffset(stdout) && isOffset(stderr) ? { stdout, stderr } : undefined;
}
