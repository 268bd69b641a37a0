/**
 * The WASI shim's own state, which lives outside the process memory: the
 * random generator (advanced in place by the shim), the standard streams the
 * program closed, and how many bytes it wrote to stdout and stderr (so a
 * resume can truncate the task's output to the checkpoint and nothing is
 * written twice). Wraps `createWasiImports` without changing it.
 */
import type { CheckpointableState } from '../../../shared/checkpointable-abi.ts';
import type { GuestMemory } from '../guest-memory.ts';
import type { PrngState } from '../wasi/prng.ts';
import type { WasiFunction } from '../wasi/wasi-context.ts';
import { createWasiImports } from '../wasi/wasi-shim.ts';

export interface WasiSetup {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  memory: GuestMemory;
  write(fd: 1 | 2, bytes: Uint8Array): void;
}

export class WasiWithState {
  readonly imports: Record<string, WasiFunction>;
  private readonly prng: PrngState;
  private readonly closed = new Set<number>();
  private readonly written = { stdout: 0, stderr: 0 };

  constructor(setup: WasiSetup, prng: PrngState, saved?: CheckpointableState['wasi'] & { output: CheckpointableState['output'] }) {
    this.prng = { ...prng };
    if (saved) Object.assign(this.written, saved.output);
    const imports = createWasiImports({
      argv: setup.argv,
      env: setup.env,
      memory: setup.memory,
      prng: this.prng,
      write: (fd, bytes) => {
        this.written[fd === 1 ? 'stdout' : 'stderr'] += bytes.length;
        setup.write(fd, bytes);
      },
    });
    const close = imports.fd_close as (fd: number) => number;
    imports.fd_close = ((fd: number) => {
      const errno = close(fd);
      if (errno === 0) this.closed.add(fd);
      return errno;
    }) as WasiFunction;
    // The shim's set of closed streams is private: closing them again rebuilds it.
    for (const fd of saved?.closed ?? []) (imports.fd_close as (fd: number) => number)(fd);
    this.imports = imports;
  }

  save(): Pick<CheckpointableState, 'wasi' | 'output'> {
    return { wasi: { prng: { ...this.prng }, closed: [...this.closed].sort() }, output: { ...this.written } };
  }
}
