/** Request bodies: size-limited before they are read (413), then parsed and validated (400). */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { GridError } from '../../shared/errors.ts';
import { MAX_JSON_DEPTH } from '../../shared/limits.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import { nestsDeeperThan } from './json-depth.ts';

export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new GridError('PayloadTooLarge', `the request body is larger than ${maxBytes} bytes`);
    },
  });
}

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new GridError('ValidationError', `body: nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GridError('ValidationError', `body: expected JSON (${(error as Error).message})`);
  }
  return parseOrThrow(schema, value);
}

export async function rawBody(c: Context): Promise<Uint8Array> {
  return new Uint8Array(await c.req.arrayBuffer());
}
