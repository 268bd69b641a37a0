/**
 * Binary data belongs only in a volunteer payload's top-level `data` field
 * (output, segments, rank frames). Anywhere else it is refused before the
 * schema sees it: zod walks an object's keys to find unknown ones, and a 1 MiB
 * Buffer where an object belongs has a million index keys (most of a second
 * of the coordinator's time, for one message).
 */
import { GridError } from '../../shared/errors.ts';

const isBinary = (value: unknown): boolean => ArrayBuffer.isView(value) || value instanceof ArrayBuffer;

/** Throws a ValidationError naming the first field that holds binary data, other than `payload.data`. */
export function refuseMisplacedBinary(payload: unknown, event: string): void {
  if (isBinary(payload)) throw new GridError('ValidationError', `${event}: expected an object, got binary data`);
  if (typeof payload !== 'object' || payload === null) return;
  // Iterative, so nesting costs no stack; only objects and arrays are visited (a long array of numbers costs one loop).
  const pending: Array<{ value: object; field: string }> = [];
  const visit = (value: unknown, field: string) => {
    if (isBinary(value)) throw new GridError('ValidationError', `${event}: ${field}: binary data is not expected here`);
    if (typeof value === 'object' && value !== null) pending.push({ value, field });
  };
  for (const key of Object.keys(payload)) if (key !== 'data') visit((payload as Record<string, unknown>)[key], key);
  while (pending.length > 0) {
    const { value, field } = pending.pop()!;
    if (Array.isArray(value)) for (const item of value as unknown[]) visit(item, field);
    else for (const key of Object.keys(value)) visit((value as Record<string, unknown>)[key], field);
  }
}
