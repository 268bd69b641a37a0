/**
 * One walk over a function's body that adds, bottom-up: a barrier before each
 * write to memory, a poll at each loop header, and the redirection of
 * `memory.size`/`memory.grow`; it also records the function's call sites for
 * the entry polls (call-graph.ts).
 *
 * A write is rewritten as `{ t0 = op0; t1 = op1; …; barrier(t0 + offset);
 * write(t0, t1, …) }`: operands keep their evaluation order, and nothing runs
 * between the barrier and the write.
 *
 * A write of a fixed width inside a loop that makes no call (and, when polls
 * are added, holds no inner loop, whose poll would call the safepoint) gets
 * the cached barrier (barrier.ts `barrierCached`); its cache is reset where
 * the loop is entered.
 */
import { Added } from './added-names.ts';
import { barrierCached, barrierFixed, barrierRange, cacheReset } from './barrier.ts';
import { B, binaryen, expressionClass } from './binaryen-api.ts';
import type { Module, Ref } from './binaryen-api.ts';
import type { CallSites } from './call-graph.ts';
import { replaceChildren } from './ir-children.ts';
import { polledLoop } from './polls.ts';
import { ScratchLocals } from './scratch-locals.ts';
import { shortLoops } from './short-loops.ts';

export interface WalkOptions {
  barrier: boolean;
  polls: boolean;
  request: 'tracker' | 'global';
  /** Cached barriers in loops without calls (needs a program memory of at most 2 GiB). */
  cache: boolean;
  /** Leave provably short loops without a poll (short-loops.ts). */
  skipShort: boolean;
}

export interface WalkCounts {
  stores: number;
  bulk: number;
  loopPolls: number;
  memoryOps: number;
}

/** How to instrument one kind of write: its operand fields, which one is the address, and how many bytes it writes. */
interface WritePlan {
  className: string;
  fields: readonly string[];
  /** Constant width and static offset; absent for bulk writes, whose size is the last operand. */
  fixed?: (e: Ref) => { bytes: number; offset: number } | null;
}

const laneBytes = new Map<number, number>([
  [binaryen.Store8LaneVec128, 1],
  [binaryen.Store16LaneVec128, 2],
  [binaryen.Store32LaneVec128, 4],
  [binaryen.Store64LaneVec128, 8],
]);

const PLANS: ReadonlyMap<number, WritePlan> = new Map<number, WritePlan>([
  [B.StoreId, { className: 'Store', fields: ['Ptr', 'Value'], fixed: (e) => ({ bytes: B.Store.getBytes(e), offset: B.Store.getOffset(e) }) }],
  [B.AtomicRMWId, { className: 'AtomicRMW', fields: ['Ptr', 'Value'], fixed: (e) => ({ bytes: B.AtomicRMW.getBytes(e), offset: B.AtomicRMW.getOffset(e) }) }],
  [
    B.AtomicCmpxchgId,
    { className: 'AtomicCmpxchg', fields: ['Ptr', 'Expected', 'Replacement'], fixed: (e) => ({ bytes: B.AtomicCmpxchg.getBytes(e), offset: B.AtomicCmpxchg.getOffset(e) }) },
  ],
  [
    B.SIMDLoadStoreLaneId,
    {
      className: 'SIMDLoadStoreLane',
      fields: ['Ptr', 'Vec'],
      fixed: (e) => (B.SIMDLoadStoreLane.isStore(e) ? { bytes: laneBytes.get(B.SIMDLoadStoreLane.getOp(e))!, offset: B.SIMDLoadStoreLane.getOffset(e) } : null),
    },
  ],
  [B.MemoryFillId, { className: 'MemoryFill', fields: ['Dest', 'Value', 'Size'] }],
  [B.MemoryCopyId, { className: 'MemoryCopy', fields: ['Dest', 'Source', 'Size'] }],
  [B.MemoryInitId, { className: 'MemoryInit', fields: ['Dest', 'Offset', 'Size'] }],
]);

type Accessor = { get: (e: Ref) => Ref; set: (e: Ref, v: Ref) => void };
const accessors = new Map<string, Accessor>();
function accessor(className: string, field: string): Accessor {
  const key = `${className}.${field}`;
  let found = accessors.get(key);
  if (!found) {
    const wrapper = expressionClass(className);
    found = { get: wrapper[`get${field}`] as Accessor['get'], set: wrapper[`set${field}`] as Accessor['set'] };
    accessors.set(key, found);
  }
  return found;
}

export class FunctionWalk {
  readonly sites: CallSites = { direct: new Set(), indirect: false };
  private readonly scratch: ScratchLocals;
  /** The local the loop polls of this function compare the request with (polls.ts polledLoop); one serves every loop. */
  private target: number | undefined;
  /** Per enclosing loop, innermost last: the caches of its writes, or null when it may call (no caching inside). */
  private readonly loops: (number[] | null)[] = [];
  /** Per write width: the `room` local of the cached barriers (barrier.ts). */
  private readonly rooms = new Map<number, number>();
  /** Loops that get no poll. */
  private readonly short: ReadonlySet<Ref>;

  constructor(
    private readonly m: Module,
    private readonly func: number,
    private readonly options: WalkOptions,
    private readonly counts: WalkCounts,
  ) {
    this.scratch = new ScratchLocals(func);
    this.short = options.polls && options.skipShort ? shortLoops(B.Function.getBody(func)) : new Set();
  }

  visit(expr: Ref, depth = 0): Ref {
    const id = B.getExpressionId(expr);
    const plan = this.options.barrier ? PLANS.get(id) : undefined;
    if (id === B.LoopId) this.loops.push(this.options.cache && this.options.barrier && this.callFree(B.Loop.getBody(expr)) ? [] : null);
    replaceChildren(expr, (child) => this.visit(child, plan ? depth + 1 : depth));
    if (plan) return this.write(expr, plan, depth);
    if (id === B.CallId) this.sites.direct.add(B.Call.getTarget(expr));
    else if (id === B.CallIndirectId) this.sites.indirect = true;
    else if (id === B.LoopId) {
      const entry = (this.loops.pop() ?? []).map((cache) => cacheReset(this.m, cache));
      if (this.options.polls && !this.short.has(expr)) {
        this.counts.loopPolls++;
        return polledLoop(this.m, this.options.request, expr, this.pollTarget(), entry);
      }
      return entry.length > 0 ? this.m.block(null, [...entry, expr], B.getExpressionType(expr)) : expr;
    } else if (id === B.MemorySizeId && this.options.polls) {
      this.counts.memoryOps++;
      return this.m.call(Added.memorySize, [], B.i32);
    } else if (id === B.MemoryGrowId && this.options.polls) {
      this.counts.memoryOps++;
      return this.m.call(Added.memoryGrow, [B.MemoryGrow.getDelta(expr)], B.i32);
    }
    return expr;
  }

  /** No call in `expr` (nor, with polls, a loop that gets a poll, which calls). */
  private callFree(expr: Ref): boolean {
    const id = B.getExpressionId(expr);
    if (id === B.CallId || id === B.CallIndirectId || (id === B.LoopId && this.options.polls && !this.short.has(expr))) return false;
    let free = true;
    replaceChildren(expr, (child) => {
      free &&= this.callFree(child);
      return child;
    });
    return free;
  }

  private pollTarget(): number {
    this.target ??= B._BinaryenFunctionAddVar(this.func, B.i32);
    return this.target;
  }

  private room(bytes: number): number {
    let room = this.rooms.get(bytes);
    if (room === undefined) {
      room = B._BinaryenFunctionAddVar(this.func, B.i32);
      this.rooms.set(bytes, room);
    }
    return room;
  }

  private write(expr: Ref, plan: WritePlan, depth: number): Ref {
    const m = this.m;
    const fixed = plan.fixed ? plan.fixed(expr) : undefined;
    if (fixed === null) return expr; // a lane load, not a store
    const sets: Ref[] = [];
    const locals: number[] = [];
    for (const [role, field] of plan.fields.entries()) {
      const { get, set } = accessor(plan.className, field);
      const operand = get(expr);
      const type = B.getExpressionType(operand);
      if (type === B.unreachable) return expr; // never executes
      const local = this.scratch.get(role, type, depth);
      sets.push(m.local.set(local, operand));
      set(expr, m.local.get(local, type));
      locals.push(local);
    }
    const base = locals[0]!;
    let addr = () => m.local.get(base, B.i32);
    if (fixed && fixed.offset !== 0) {
      const withOffset = this.scratch.get(plan.fields.length, B.i32, depth);
      sets.push(m.local.set(withOffset, m.i32.add(addr(), m.i32.const(fixed.offset | 0))));
      addr = () => m.local.get(withOffset, B.i32);
    }
    const caches = this.loops[this.loops.length - 1];
    if (fixed && caches) {
      this.counts.stores++;
      const cache = B._BinaryenFunctionAddVar(this.func, B.i32);
      caches.push(cache);
      sets.push(barrierCached(m, addr, fixed.bytes, cache, this.room(fixed.bytes)));
    } else if (fixed) {
      this.counts.stores++;
      sets.push(barrierFixed(m, addr, fixed.bytes));
    } else {
      this.counts.bulk++;
      const size = locals[locals.length - 1]!;
      sets.push(barrierRange(m, addr, () => m.local.get(size, B.i32)));
    }
    return m.block(null, [...sets, expr], B.getExpressionType(expr));
  }
}
