/**
 * Registers the built-in examples (`examples/<name>/example.json`) at start-up,
 * so users can post them by name. A wasm example runs `examples/<name>/program.wasm`
 * (committed, built from the C source beside it); a JS example runs the bundle
 * `npm install` built into `dist/examples/<name>.js`. Registering does not wait
 * for a wasm example's instrumentation (start-up stays fast); the coordinator
 * starts it in the background once it listens.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../../shared/validate.ts';
import { logger } from '../logger.ts';
import type { ProgramRecord } from '../store/records.ts';
import type { ProgramService } from './program-service.ts';

const log = logger('programs');

const exampleSchema = z.object({
  name: z.string().min(1),
  format: z.enum(['wasm', 'js']),
  description: z.string().optional(),
  defaultArgs: z.array(z.string()).optional(),
  defaultTasks: z.array(z.array(z.string())).optional(),
});

/** Registers every example found under `rootDir`; returns their records. */
export function registerBuiltins(programs: ProgramService, rootDir: string): ProgramRecord[] {
  const examplesDir = join(rootDir, 'examples');
  if (!existsSync(examplesDir)) return [];
  const registered: ProgramRecord[] = [];
  for (const entry of readdirSync(examplesDir, { withFileTypes: true })) {
    const manifest = join(examplesDir, entry.name, 'example.json');
    if (!entry.isDirectory() || !existsSync(manifest)) continue;
    const example = parseOrThrow(exampleSchema, JSON.parse(readFileSync(manifest, 'utf8')), manifest);
    const file =
      example.format === 'wasm'
        ? join(examplesDir, entry.name, 'program.wasm')
        : join(rootDir, 'dist', 'examples', `${entry.name}.js`);
    if (!existsSync(file)) {
      log.warn(`example ${example.name}: ${file} is missing (run npm run build)`);
      continue;
    }
    const { defaultArgs, defaultTasks } = example;
    const record = programs.register(
      {
        bytes: readFileSync(file),
        format: example.format,
        name: example.name,
        builtin: true,
        ...(example.description ? { description: example.description } : {}),
      },
      { ...(defaultArgs ? { defaultArgs } : {}), ...(defaultTasks ? { defaultTasks } : {}) },
    );
    registered.push(record);
  }
  return registered;
}
