/** The page's side of a rank: which stops may enter a coordinated round (client/volunteer/rank-link.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RankLink } from '../../client/volunteer/rank-link.ts';
import type { RankTransport } from '../../client/volunteer/rank-transport.ts';
import { GATE_RELEASED, GATE_SUSPENDED } from '../../client/runtime/rank-port.ts';
import { GridError } from '../../shared/errors.ts';

function setup(answer: (round: number) => Promise<void> = async () => {}) {
  const entered: { round: number; seq: number }[] = [];
  const transport: RankTransport = {
    send: () => {},
    enter: async (_task, round, seq) => {
      entered.push({ round, seq });
      await answer(round);
    },
    stats: () => {},
  };
  const link = new RankLink({ taskId: 't', lease: 'l', coupled: { epoch: 0 } }, transport);
  let requests = 0;
  link.attach(() => requests++);
  const gate = new Int32Array(link.channels.gate);
  /** What the compute worker does when it stops (rank-port.ts `stopped`): its ticket. */
  const stop = () => Atomics.add(gate, GATE_SUSPENDED, 1) + 1;
  const released = () => Atomics.load(gate, GATE_RELEASED);
  return { link, entered, requests: () => requests, stop, released };
}

test('a stop enters the newest round asked for and stays at the gate until released', () => {
  const { link, entered, requests, stop, released } = setup();
  link.roundCheckpoint(1);
  assert.equal(requests(), 1);
  const ticket = stop();
  link.suspended(5);
  assert.deepEqual(entered, [{ round: 1, seq: 5 }]);
  assert.ok(released() < ticket, 'the rank waits for the round');
  link.release();
  assert.ok(released() >= ticket);
  link.close();
});

test('a stop nobody asked for is let go at once and enters nothing', () => {
  const { link, entered, stop, released } = setup();
  const ticket = stop();
  link.suspended(3);
  assert.deepEqual(entered, []);
  assert.ok(released() >= ticket);
  link.close();
});

test('a stop the gate let go before the page heard of it (its round aborted) enters no later round: a new stop is asked for', () => {
  const { link, entered, requests, stop, released } = setup();
  link.roundCheckpoint(1);
  const ticket = stop();
  // Round 1 is aborted after the worker stopped but before its report reached the page: the rank runs on.
  link.release();
  assert.ok(released() >= ticket);
  link.roundCheckpoint(2);
  const asked = requests();
  link.suspended(7);
  assert.deepEqual(entered, [], 'checkpoint 7 is no stop of round 2: the rank ran on after it');
  assert.equal(requests(), asked + 1, 'round 2 gets a stop of its own');
  const second = stop();
  link.suspended(8);
  assert.deepEqual(entered, [{ round: 2, seq: 8 }]);
  assert.ok(released() < second);
  link.close();
});

test('an entry the coordinator refuses lets the rank go; one it never answers does not (the round may hold the stop)', async () => {
  const refused = setup(async () => {
    throw new GridError('Conflict', 'round 1 is not open');
  });
  refused.link.roundCheckpoint(1);
  const ticket = refused.stop();
  refused.link.suspended(4);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(refused.released() >= ticket, 'refused: the rank runs on');
  refused.link.close();

  const unanswered = setup(async () => {
    throw new Error('operation has timed out');
  });
  unanswered.link.roundCheckpoint(1);
  const held = unanswered.stop();
  unanswered.link.suspended(4);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(unanswered.released() < held, 'no answer: the rank waits for the round');
  unanswered.link.release(); // the round's release (or abort) comes
  assert.ok(unanswered.released() >= held);
  unanswered.link.close();
});
