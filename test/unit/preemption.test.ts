import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePreemptions } from '../../server/scheduler/preemption.ts';

const running = (token: string, priority: number, halting = false) => ({ token, priority, halting });

test('each waiting task halts the lowest-priority running task below its own priority', () => {
  assert.deepEqual(choosePreemptions([5, 5], [running('a', 3), running('b', 1), running('c', 4)]), ['b', 'a']);
  assert.deepEqual(choosePreemptions([2], [running('a', 3), running('b', 2)]), [], 'equal priority does not preempt');
  assert.deepEqual(choosePreemptions([], [running('a', 0)]), []);
});

test('a slot already being freed serves a waiting task before anything else is halted', () => {
  assert.deepEqual(choosePreemptions([9, 9], [running('a', 0, true), running('b', 0)]), ['b']);
  assert.deepEqual(choosePreemptions([9], [running('a', 0, true), running('b', 0)]), []);
});

test('preemption stops at the first waiting task that outranks nothing left', () => {
  assert.deepEqual(choosePreemptions([9, 1, 9], [running('a', 0), running('b', 5)]), ['a']);
});
