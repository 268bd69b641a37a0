/**
 * A minimal poll_oneoff: clock subscriptions sleep (that is how wasi-libc's
 * sleep() and nanosleep() work); stdin is always readable (at end of file),
 * stdout and stderr always writable; any other descriptor gets an EBADF event.
 */
import { clockNow, isClock, sleepSync } from './clock.ts';
import { ERRNO, EVENTTYPE, SIZE, STDIN, SUBCLOCKFLAG_ABSTIME } from './constants.ts';
import { isStdio } from './wasi-context.ts';
import type { WasiContext } from './wasi-context.ts';

interface Event {
  userdata: bigint;
  error: number;
  type: number;
}

function fdEvent(context: WasiContext, userdata: bigint, type: number, fd: number): Event {
  const ready = isStdio(context, fd) && (type === EVENTTYPE.FD_READ) === (fd === STDIN);
  return { userdata, type, error: ready ? ERRNO.SUCCESS : ERRNO.BADF };
}

export function pollOneoff(context: WasiContext) {
  const { memory } = context;
  return (inPtr: number, outPtr: number, count: number, eventsPtr: number): number => {
    if (count === 0) return ERRNO.INVAL;
    const events: Event[] = [];
    const timers: { userdata: bigint; waitNs: number }[] = [];
    for (let i = 0; i < count; i++) {
      const base = inPtr + i * SIZE.SUBSCRIPTION;
      const userdata = memory.u64(base);
      const type = memory.u8(base + 8);
      if (type === EVENTTYPE.CLOCK) {
        const id = memory.u32(base + 16);
        if (!isClock(id)) {
          events.push({ userdata, type, error: ERRNO.INVAL });
          continue;
        }
        const timeout = memory.u64(base + 24);
        const absolute = (memory.u16(base + 40) & SUBCLOCKFLAG_ABSTIME) !== 0;
        timers.push({ userdata, waitNs: Number(absolute ? timeout - clockNow(id) : timeout) });
      } else if (type === EVENTTYPE.FD_READ || type === EVENTTYPE.FD_WRITE) {
        events.push(fdEvent(context, userdata, type, memory.u32(base + 16)));
      } else {
        return ERRNO.INVAL;
      }
    }
    if (events.length === 0 && timers.length > 0) {
      const shortest = Math.min(...timers.map((t) => t.waitNs));
      sleepSync(shortest / 1e6);
      for (const t of timers) t.waitNs -= shortest;
    }
    for (const t of timers) if (t.waitNs <= 0) events.push({ userdata: t.userdata, type: EVENTTYPE.CLOCK, error: ERRNO.SUCCESS });
    events.forEach((event, i) => {
      const base = outPtr + i * SIZE.EVENT;
      memory.fill(base, SIZE.EVENT);
      memory.writeU64(base, event.userdata);
      memory.writeU16(base + 8, event.error);
      memory.writeU8(base + 10, event.type);
    });
    memory.writeU32(eventsPtr, events.length);
    return ERRNO.SUCCESS;
  };
}
