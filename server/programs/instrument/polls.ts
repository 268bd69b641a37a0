/**
 * Safepoint polls (DESIGN.md §3, issue 4): one load and a compare, and a call
 * of `ckpt.safepoint` only while a checkpoint request is pending (the request
 * count differs from the count served). In `'tracker'` mode the count is a
 * tracker header word another thread bumps; the load is atomic so that no
 * compiler may hoist it out of a loop without calls (on x86 and ARM64 a
 * seq-cst 32-bit load is an ordinary load, so it costs the same).
 */
import { TRACKER_REQUEST_WORD } from '../../../shared/checkpointable-abi.ts';
import { Added } from './added-names.ts';
import { B } from './binaryen-api.ts';
import type { Module, Ref } from './binaryen-api.ts';

export function poll(m: Module, request: 'tracker' | 'global'): Ref {
  const requested =
    request === 'tracker' ? m.i32.atomic.load(TRACKER_REQUEST_WORD * 4, m.i32.const(0), Added.tracker) : m.global.get(Added.request, B.i32);
  return m.if(m.i32.ne(requested, m.global.get(Added.served, B.i32)), m.call(Added.safepoint, [], B.none));
}

/** `body` preceded by a poll, with the body's type (a loop's body: the poll runs on every iteration). */
export function polled(m: Module, request: 'tracker' | 'global', body: Ref): Ref {
  return m.block(null, [poll(m, request), body], B.getExpressionType(body));
}
