/**
 * Which functions need a poll at their entry. A run between two polls must be
 * bounded; loops carry their own poll, so what remains unbounded is
 * recursion: a function on a cycle of the call graph (direct calls, and
 * `call_indirect` as a call of every function in a table). Polling only
 * those, rather than every function, leaves loop-free leaves and
 * non-recursive helpers outside Asyncify's instrumentation, which is most of
 * its cost (issue 4: "keep its instrumentation to the functions that can
 * reach a safepoint").
 */

export interface CallSites {
  direct: Set<string>;
  indirect: boolean;
}

/** Functions on a cycle (an SCC of more than one, or calling itself). Iterative Tarjan: call graphs can be deep. */
export function recursiveFunctions(sites: ReadonlyMap<string, CallSites>, tableFunctions: readonly string[]): Set<string> {
  const edges = new Map<string, string[]>();
  for (const [name, s] of sites) {
    const out = [...s.direct].filter((callee) => sites.has(callee));
    if (s.indirect) out.push(...tableFunctions.filter((callee) => sites.has(callee)));
    edges.set(name, out);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result = new Set<string>();
  let counter = 0;
  for (const root of edges.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node)!;
      if (frame.next < out.length) {
        const callee = out[frame.next++]!;
        if (!index.has(callee)) {
          index.set(callee, counter);
          low.set(callee, counter++);
          stack.push(callee);
          onStack.add(callee);
          work.push({ node: callee, next: 0 });
        } else if (onStack.has(callee)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(callee)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      if (component.length > 1 || out.includes(frame.node)) for (const c of component) result.add(c);
    }
  }
  return result;
}
