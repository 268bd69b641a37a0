/**
 * Temporary locals of one function for the barrier's operands. An
 * instrumented store evaluates its operands into locals, checks, then stores;
 * a store nested in another's operands runs while the outer one's locals are
 * live, so locals are keyed by nesting depth (and role and type): few extra
 * locals, and binaryen's coalescing merges them further.
 */
import { B } from './binaryen-api.ts';

export class ScratchLocals {
  private readonly byKey = new Map<string, number>();

  constructor(private readonly func: number) {}

  get(role: number, type: number, depth: number): number {
    const key = `${role}:${type}:${depth}`;
    let index = this.byKey.get(key);
    if (index === undefined) {
      index = B._BinaryenFunctionAddVar(this.func, type);
      this.byKey.set(key, index);
    }
    return index;
  }
}
