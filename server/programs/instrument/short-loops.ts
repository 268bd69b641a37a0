/**
 * Loops that need no poll of their own: innermost counted loops whose whole
 * run is provably short, so the poll of the loop or function around them
 * bounds the time between polls just as well. Polling such a loop costs a
 * load and a compare per iteration of what is often the hottest code (the
 * stencil's row, the n-body's force sum), and a loop without a poll makes
 * the loop around it free of calls, where the barrier can cache (barrier.ts).
 *
 * Recognised, as clang emits a `for` with constant bounds: a loop whose last
 * child is its only branch back, `br_if $L (cmp (local.tee $i (i32.add
 * (local.get $i) step)) bound)` (or the tee alone: `!= 0`), with `$i` set
 * nowhere else in the loop, its start a constant the loop's preceding
 * siblings set, no call, no inner loop, no bulk memory operation and no
 * memory.grow (their time is unbounded). The trip count times the body's
 * size must stay under MAX_WORK.
 */
import { B } from './binaryen-api.ts';
import type { Ref } from './binaryen-api.ts';
import { replaceChildren } from './ir-children.ts';

/** Iterations × expressions of the body, at most (about 100 µs of straight-line code). */
const MAX_WORK = 100_000;

interface Accessors {
  Block: { getNumChildren(e: Ref): number; getChildAt(e: Ref, i: number): Ref };
  Loop: { getName(e: Ref): string | null; getBody(e: Ref): Ref };
  LocalSet: { getIndex(e: Ref): number; getValue(e: Ref): Ref; isTee(e: Ref): boolean };
  LocalGet: { getIndex(e: Ref): number };
  Break: { getName(e: Ref): string; getCondition(e: Ref): Ref; getValue(e: Ref): Ref };
  Switch: { getNumNames(e: Ref): number; getNameAt(e: Ref, i: number): string; getDefaultName(e: Ref): string };
  Binary: { getOp(e: Ref): number; getLeft(e: Ref): Ref; getRight(e: Ref): Ref };
  Const: { getValueI32(e: Ref): number };
}
const A = B as unknown as typeof B & Accessors;
const ops = B as unknown as Record<'AddInt32' | 'NeInt32' | 'LtSInt32' | 'LtUInt32' | 'GtSInt32' | 'GtUInt32', number>;

/** Every expression under `expr`, itself included, until `visit` returns false. */
function every(expr: Ref, visit: (e: Ref) => boolean): boolean {
  if (!visit(expr)) return false;
  let ok = true;
  replaceChildren(expr, (child) => {
    ok &&= every(child, visit);
    return child;
  });
  return ok;
}

function i32Const(e: Ref): number | undefined {
  return B.getExpressionId(e) === B.ConstId && B.getExpressionType(e) === B.i32 ? A.Const.getValueI32(e) : undefined;
}

/** `local.tee $i (i32.add (local.get $i) step)`: `[i, step]`. */
function increment(e: Ref): [number, number] | undefined {
  if (B.getExpressionId(e) !== B.LocalSetId || !A.LocalSet.isTee(e)) return undefined;
  const i = A.LocalSet.getIndex(e);
  const add = A.LocalSet.getValue(e);
  if (B.getExpressionId(add) !== B.BinaryId || A.Binary.getOp(add) !== ops.AddInt32) return undefined;
  const left = A.Binary.getLeft(add);
  const step = i32Const(A.Binary.getRight(add));
  if (B.getExpressionId(left) !== B.LocalGetId || A.LocalGet.getIndex(left) !== i || !step) return undefined;
  return [i, step];
}

/** How many times the body runs, from start to the first value after an increment that fails `continues`; undefined when not small. */
function trips(start: number, step: number, continues: (v: number) => boolean, limit: number): number | undefined {
  let v = start;
  for (let n = 1; n <= limit; n++) {
    v = (v + step) | 0;
    if (!continues(v)) return n;
  }
  return undefined;
}

/** The counted-loop test of `loop` when it has the shape above: its counter, step and the `continues` test. */
function counter(loop: Ref): { i: number; step: number; continues: (v: number) => boolean } | undefined {
  const body = A.Loop.getBody(loop);
  if (B.getExpressionId(body) !== B.BlockId) return undefined;
  const n = A.Block.getNumChildren(body);
  const last = n > 0 ? A.Block.getChildAt(body, n - 1) : 0;
  if (!last || B.getExpressionId(last) !== B.BreakId || A.Break.getName(last) !== A.Loop.getName(loop) || A.Break.getValue(last)) return undefined;
  const condition = A.Break.getCondition(last);
  if (!condition) return undefined;
  const bare = increment(condition);
  if (bare) return { i: bare[0], step: bare[1], continues: (v) => v !== 0 };
  if (B.getExpressionId(condition) !== B.BinaryId) return undefined;
  const inc = increment(A.Binary.getLeft(condition));
  const bound = i32Const(A.Binary.getRight(condition));
  if (!inc || bound === undefined) return undefined;
  const test: Partial<Record<number, (v: number) => boolean>> = {
    [ops.NeInt32]: (v) => v !== bound,
    [ops.LtSInt32]: (v) => v < bound,
    [ops.GtSInt32]: (v) => v > bound,
    [ops.LtUInt32]: (v) => v >>> 0 < bound >>> 0,
    [ops.GtUInt32]: (v) => v >>> 0 > bound >>> 0,
  };
  const continues = test[A.Binary.getOp(condition)];
  return continues ? { i: inc[0], step: inc[1], continues } : undefined;
}

/** The body's size when nothing in it is unbounded and only the final branch sets `i` or goes back to the top; else undefined. */
function boundedBody(loop: Ref, i: number): number | undefined {
  const name = A.Loop.getName(loop);
  let size = 0;
  let sets = 0;
  const ok = every(A.Loop.getBody(loop), (e) => {
    size++;
    const id = B.getExpressionId(e);
    if (id === B.CallId || id === B.CallIndirectId || id === B.LoopId || id === B.MemoryGrowId) return false;
    if (id === B.MemoryFillId || id === B.MemoryCopyId || id === B.MemoryInitId) return false;
    if (id === B.LocalSetId && A.LocalSet.getIndex(e) === i) sets++;
    if (id === B.BreakId && A.Break.getName(e) === name) sets += 2; // only the final br_if may go back (counted below)
    if (id === B.SwitchId) {
      for (let k = 0; k < A.Switch.getNumNames(e); k++) if (A.Switch.getNameAt(e, k) === name) return false;
      if (A.Switch.getDefaultName(e) === name) return false;
    }
    return true;
  });
  // The final br_if counts 2 and its tee 1: anything more is another way back or another write of the counter.
  return ok && sets === 3 ? size : undefined;
}

/** The constant `i` holds when `loop`, child `k` of `block`, starts: set by an earlier sibling, and not touched after it. */
function startValue(block: Ref, k: number, i: number): number | undefined {
  for (let j = k - 1; j >= 0; j--) {
    const sibling = A.Block.getChildAt(block, j);
    if (B.getExpressionId(sibling) === B.LocalSetId && A.LocalSet.getIndex(sibling) === i) return i32Const(A.LocalSet.getValue(sibling));
    const calm = every(sibling, (e) => {
      const id = B.getExpressionId(e);
      return !(id === B.LocalSetId && A.LocalSet.getIndex(e) === i) && id !== B.LoopId && id !== B.BreakId && id !== B.SwitchId;
    });
    if (!calm) return undefined;
  }
  return undefined;
}

/** The loops of a function body that need no poll (see the file comment). */
export function shortLoops(body: Ref): Set<Ref> {
  const found = new Set<Ref>();
  every(body, (e) => {
    if (B.getExpressionId(e) !== B.BlockId) return true;
    for (let k = 0; k < A.Block.getNumChildren(e); k++) {
      const loop = A.Block.getChildAt(e, k);
      if (B.getExpressionId(loop) !== B.LoopId) continue;
      const c = counter(loop);
      if (!c) continue;
      const start = startValue(e, k, c.i);
      const size = start === undefined ? undefined : boundedBody(loop, c.i);
      if (start === undefined || size === undefined) continue;
      const n = trips(start, c.step, c.continues, Math.floor(MAX_WORK / size));
      if (n !== undefined) found.add(loop);
    }
    return true;
  });
  return found;
}
