/**
 * Validation at every boundary: a zod schema parses what arrived, and a failure
 * becomes one ValidationError whose message names the field, in the form
 * `tasks[2].args[0]: expected string, received number` (as Playwright's protocol does).
 */
import type { z } from 'zod';
import { GridError } from './errors.ts';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(body)';
}

/** Parses `value` with `schema` or throws a ValidationError naming the first bad fields. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const prefix = what ? `${what}: ` : '';
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
    .join('; ');
  throw new GridError('ValidationError', prefix + problems);
}
