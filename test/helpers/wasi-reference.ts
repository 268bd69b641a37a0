/**
 * The uninterrupted run a checkpointed run must match byte for byte: the
 * original module under Node's own node:wasi, stdout and stderr captured
 * through temporary files (node:wasi writes to file descriptors). Only for
 * reference outputs: issue 4 found node:wasi unreliable after restores.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

export interface ReferenceRun {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}

export function referenceRun(wasm: Uint8Array, argv: readonly string[]): ReferenceRun {
  const dir = mkdtempSync(join(tmpdir(), 'wasi-ref-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  try {
    const wasi = new WASI({ version: 'preview1', args: [...argv], env: {}, stdout: out, stderr: err, returnOnExit: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { wasi_snapshot_preview1: wasi.wasiImport });
    const exitCode = wasi.start(instance);
    return { stdout: readFileSync(join(dir, 'stdout')), stderr: readFileSync(join(dir, 'stderr')), exitCode };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}
