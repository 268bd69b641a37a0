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

/** The check before a bulk write of `size` bytes at `addr` (nothing when size is 0, the only case where addr may equal the memory size). */
export function barrierRange(m: Module, addr: Operand, size: Operand): Ref {
  const condition = m.i32.or(stale(m, addr), straddles(m, addr, m.i32.sub(size(), m.i32.const(1))));
  return m.if(size(), m.if(condition, m.call(Added.markWrite, [addr(), size()], B.none)));
}
