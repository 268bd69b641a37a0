/**
 * Which running tasks to preempt for waiting ones of higher priority
 * (DESIGN.md §5, claims 62–65), once every slot is busy. A preempted task
 * checkpoints, uploads, halts and waits in the queue; the freed slot goes to
 * the higher-priority task, as dispatch takes the queue by priority.
 */

export interface RunningTask {
  token: string;
  priority: number;
  /** Already asked to halt: its slot is on its way to being free. */
  halting: boolean;
}

/**
 * `waiting`: priorities of the waiting tasks, highest first. Each takes a slot
 * being freed already if there is one, else the lowest-priority running task
 * below its own priority. Returns the tokens to halt.
 */
export function choosePreemptions(waiting: readonly number[], running: readonly RunningTask[]): string[] {
  let freeing = running.filter((r) => r.halting).length;
  const candidates = running.filter((r) => !r.halting).sort((a, b) => a.priority - b.priority);
  const chosen: string[] = [];
  for (const priority of waiting) {
    if (freeing > 0) {
      freeing -= 1;
      continue;
    }
    const victim = candidates[0];
    if (!victim || victim.priority >= priority) break;
    chosen.push(victim.token);
    candidates.shift();
  }
  return chosen;
}
