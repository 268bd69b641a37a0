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

export type RequestSource = 'tracker' | 'global';

function requested(m: Module, request: RequestSource): Ref {
  return request === 'tracker' ? m.i32.atomic.load(TRACKER_REQUEST_WORD * 4, m.i32.const(0), Added.tracker) : m.global.get(Added.request, B.i32);
}

const served = (m: Module) => m.global.get(Added.served, B.i32);
const safepoint = (m: Module) => m.call(Added.safepoint, [], B.none);

/** The poll: call the safepoint while a request is pending. */
export function poll(m: Module, request: RequestSource): Ref {
  return m.if(m.i32.ne(requested(m, request), served(m)), safepoint(m));
}

/** `body` preceded by a poll, with the body's type (a function's body: the poll runs at every entry). */
export function polled(m: Module, request: RequestSource, body: Ref): Ref {
  return m.block(null, [poll(m, request), body], B.getExpressionType(body));
}

let labels = 0;

/**
 * A loop polled at the top of every iteration, with the call of the
 * safepoint moved out of the loop:
 *
 *     block $exit                      ;; the loop's type
 *       t = served
 *       loop $again
 *         block $pending
 *           br $exit (loop $L  (br_if $pending (req != t))  t = served  BODY)
 *         call safepoint
 *         t = req
 *         br $again
 *
 * Why: Asyncify guards every expression of a function that can reach the
 * safepoint with a test of its state, except whole subtrees with no such
 * call, which it guards once. With the call inside the loop, each
 * iteration paid those tests (the benchmark's stencil ran 2.6x slower with
 * polls and Asyncify against 1.8x with polls alone); with the call outside,
 * the loop `$L` is such a subtree, and its iterations run unguarded. A
 * rewind enters `$again`, skips `$L` (it has no call) and reaches the call.
 *
 * It behaves as a poll at the top of each iteration: while a request is
 * pending (req != served) every iteration calls the safepoint first, once,
 * then runs. `t` (a local) is what `served` was at the end of the previous
 * check, so the compare needs no global; after a call `t = req` lets the
 * interrupted iteration run once without calling again even if the driver
 * declined to suspend (served unchanged: a checkpoint still in flight), and
 * the `t = served` after the next check re-arms it, so the next iteration
 * calls again, as the driver's contract (CkptExport.SERVED) says. Only `t`
 * and labels are added: the body is not copied, and its own `br $L` still
 * lands on the poll.
 *
 * `entry` runs each time `$L` is entered, so after every call of the
 * safepoint too: the barrier resets its page caches there (barrier.ts).
 */
export function polledLoop(m: Module, request: RequestSource, loop: Ref, t: number, entry: Ref[] = []): Ref {
  const type = B.getExpressionType(loop);
  if (type === B.unreachable) {
    // A loop that never falls through (no value to carry out): keep the plain poll, too rare to matter; entry follows it.
    const body = B.Loop.getBody(loop);
    B.Loop.setBody(loop, m.block(null, [poll(m, request), ...entry, body], B.getExpressionType(body)));
    return loop;
  }
  const n = labels++;
  const exit = `ckpt$exit${n}`;
  const again = `ckpt$again${n}`;
  const pending = `ckpt$pending${n}`;
  const body = B.Loop.getBody(loop);
  const check = m.br(pending, m.i32.ne(requested(m, request), m.local.get(t, B.i32)));
  B.Loop.setBody(loop, m.block(null, [check, m.local.set(t, served(m)), body], B.getExpressionType(body)));
  const leave = type === B.none ? m.block(null, [...entry, loop, m.br(exit)], B.none) : entry.length > 0 ? m.block(null, [...entry, m.br(exit, 0, loop)], B.unreachable) : m.br(exit, 0, loop);
  const afterCall = [safepoint(m), m.local.set(t, requested(m, request)), m.br(again)];
  return m.block(exit, [m.local.set(t, served(m)), m.loop(again, m.block(null, [m.block(pending, [leave], B.none), ...afterCall], B.unreachable))], type);
}
