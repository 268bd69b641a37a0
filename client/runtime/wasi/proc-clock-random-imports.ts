/** proc_*, sched_yield, clocks, poll_oneoff and the seeded random_get. */
import { CLOCK_RESOLUTION_NS, clockNow, isClock } from './clock.ts';
import { ERRNO } from './constants.ts';
import { pollOneoff } from './poll-oneoff.ts';
import { ProcExit } from './proc-exit.ts';
import { randomBytes } from './prng.ts';
import type { PrngState } from './prng.ts';
import type { WasiContext, WasiFunction } from './wasi-context.ts';

export function procClockRandomImports(context: WasiContext, prng: PrngState): Record<string, WasiFunction> {
  const { memory } = context;
  return {
    proc_exit(code: number): void {
      // Signed, as Node's WASI reports it: exit(-1) ends with -1.
      throw new ProcExit(code | 0);
    },
    proc_raise: () => ERRNO.NOSYS,
    sched_yield: () => ERRNO.SUCCESS,
    random_get(ptr: number, length: number): number {
      memory.write(ptr, randomBytes(prng, length));
      return ERRNO.SUCCESS;
    },
    clock_res_get(id: number, ptr: number): number {
      if (!isClock(id)) return ERRNO.INVAL;
      memory.writeU64(ptr, CLOCK_RESOLUTION_NS);
      return ERRNO.SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, ptr: number): number {
      if (!isClock(id)) return ERRNO.INVAL;
      memory.writeU64(ptr, clockNow(id));
      return ERRNO.SUCCESS;
    },
    poll_oneoff: pollOneoff(context),
  };
}
