/**
 * `/api/programs`: post a program, list them, and (for volunteers) download
 * one: a wasm program's instrumented, checkpointable module (instrumented
 * when it is posted; a built-in's may still be running, and the download waits).
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { GridError } from '../../shared/errors.ts';
import { MAX_PROGRAM_BYTES } from '../../shared/limits.ts';
import type { ProgramFormat } from '../../shared/states.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import type { ProgramService } from '../programs/program-service.ts';
import type { Store } from '../store/store.ts';
import { limitBody, rawBody } from './body.ts';

const FORMAT_BY_TYPE: Record<string, ProgramFormat> = {
  'application/wasm': 'wasm',
  'text/javascript': 'js',
  'application/javascript': 'js',
};

const nameQuery = z.string().min(1).max(200).optional();

export function programRoutes(app: Hono, store: Store, programs: ProgramService, auth: MiddlewareHandler): void {
  app.post('/api/programs', auth, limitBody(MAX_PROGRAM_BYTES), async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const format = FORMAT_BY_TYPE[type];
    if (!format) {
      throw new GridError('ValidationError', `Content-Type: expected application/wasm or text/javascript, got "${type}"`);
    }
    const name = parseOrThrow(nameQuery, c.req.query('name'), 'name');
    const bytes = await rawBody(c);
    if (bytes.byteLength === 0) throw new GridError('ValidationError', 'body: the program is empty');
    const program = await programs.add({ bytes, format, name: name ?? `${format}-program` });
    await store.commit.durable();
    const { id, name: stored, size } = program;
    return c.json({ id, name: stored, format, size }, 201);
  });

  app.get('/api/programs', (c) => c.json(programs.list()));

  app.get('/api/programs/:id/bytes', async (c) => {
    const { program, bytes } = await programs.downloadBytes(c.req.param('id'));
    c.header('Content-Type', program.format === 'wasm' ? 'application/wasm' : 'text/javascript; charset=utf-8');
    // The id is the hash of the posted bytes; what volunteers run changes with the checkpointable ABI.
    c.header('Cache-Control', 'no-cache');
    return c.body(new Uint8Array(bytes));
  });
}
