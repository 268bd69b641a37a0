/**
 * The inline write barrier (DESIGN.md §4): before a write of `len` bytes at
 * address `a`, `if (word[a >> shift] != E || a and a+len-1 lie on different
 * pages) mark_write(a, len)`. The fast path is one load of the page's tracker
 * word (tracker memory, after its header) and a compare with the global E;
 * the straddle test is three ALU operations and sends the rare store that
 * crosses a page boundary to the slow path, which marks every page of the
 * range (PageTracker.markWrite). The check runs after the operands are
 * evaluated, immediately before the write: an operand may reach a safepoint
 * (a call) where the interval changes, and the mark must belong to the
 * interval in which the write happens.
 *
 * A plain load suffices for the tracker word (client/checkpoint/tracker.ts
 * says why): a word equal to E was stored by this thread, and any other value
 * only sends us to the slow path, which re-reads it atomically.
 *
 * In a loop without calls, a store site also remembers the page it last found
 * marked (`barrierCached`): once a page's word is E, it stays E until E
 * changes, and E changes only in a call (of the safepoint), so while the loop
 * runs a store to that page needs no look at the tracker, only a range test
 * on locals. The cache is reset each time the loop is entered (the walk puts
 * `cacheReset` before it), and a loop is entered again after every poll's call.
 */
import { TRACKER_HEADER_WORDS } from '../../../shared/tracker-layout.ts';
import { Added } from './added-names.ts';
import { B } from './binaryen-api.ts';
import type { Module, Ref } from './binaryen-api.ts';

/** A way to read the address again (a local.get; called once per use). */
export type Operand = () => Ref;

function pageWord(m: Module, addr: Ref): Ref {
  const index = m.i32.shl(m.i32.shr_u(addr, m.global.get(Added.pageShift, B.i32)), m.i32.const(2));
  return m.i32.load(TRACKER_HEADER_WORDS * 4, 4, index, Added.tracker);
}

function stale(m: Module, addr: Operand): Ref {
  return m.i32.ne(pageWord(m, addr()), m.global.get(Added.epoch, B.i32));
}

/** Non-zero when [addr, addr + lastOffset] spans two pages. */
function straddles(m: Module, addr: Operand, lastOffset: Ref): Ref {
  return m.i32.shr_u(m.i32.xor(addr(), m.i32.add(addr(), lastOffset)), m.global.get(Added.pageShift, B.i32));
}

/** The check before a write of a constant `bytes` at `addr`. */
export function barrierFixed(m: Module, addr: Operand, bytes: number): Ref {
  const condition = bytes > 1 ? m.i32.or(stale(m, addr), straddles(m, addr, m.i32.const(bytes - 1))) : stale(m, addr);
  return m.if(condition, m.call(Added.markWrite, [addr(), m.i32.const(bytes)], B.none));
}

/**
 * What a cache holds when no page is known marked: the start of a "page" no
 * store can reach without trapping (the program's memory is at most 2 GiB,
 * instrument-program.ts checks), so `addr - cache <= room` is false for every
 * store that executes, whatever `room` holds.
 */
const NO_PAGE = -0x80000000;

export function cacheReset(m: Module, cache: number): Ref {
  return m.local.set(cache, m.i32.const(NO_PAGE));
}

/**
 * `barrierFixed` behind a cache of the page this site last found marked:
 * `cache` is that page's first byte (or NO_PAGE), `room` the page size minus
 * `bytes` (the last offset in the page a write of `bytes` may start at, set by
 * the slow path: 0 until then, which is safe with NO_PAGE). Fast path: one
 * subtraction and one unsigned compare, no load.
 */
export function barrierCached(m: Module, addr: Operand, bytes: number, cache: number, room: number): Ref {
  const shift = () => m.global.get(Added.pageShift, B.i32);
  const outside = m.i32.gt_u(m.i32.sub(addr(), m.local.get(cache, B.i32)), m.local.get(room, B.i32));
  return m.if(
    outside,
    m.block(null, [
      barrierFixed(m, addr, bytes),
      m.local.set(cache, m.i32.shl(m.i32.shr_u(addr(), shift()), shift())),
      m.local.set(room, m.i32.sub(m.i32.shl(m.i32.const(1), shift()), m.i32.const(bytes))),
    ]),
  );
}

/** The check before a bulk write of `size` bytes at `addr` (nothing when size is 0, the only case where addr may equal the memory size). */
export function barrierRange(m: Module, addr: Operand, size: Operand): Ref {
  const condition = m.i32.or(stale(m, addr), straddles(m, addr, m.i32.sub(size(), m.i32.const(1))));
  return m.if(size(), m.if(condition, m.call(Added.markWrite, [addr(), size()], B.none)));
}
