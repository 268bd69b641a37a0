/** The vote among a task index's replicas (server/scheduler/replica-vote.ts): majority, waiting, another replica, the limit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxReplicas } from '../../shared/limits.ts';
import { majority, outputHash, tally } from '../../server/scheduler/replica-vote.ts';
import type { Ballot } from '../../server/scheduler/replica-vote.ts';

const done = (hash: string): Ballot => ({ finished: true, hash });
const running: Ballot = { finished: false };
const bytes = (text: string) => new TextEncoder().encode(text);

test('a majority is ⌊k/2⌋ + 1 of the redundancy k', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(majority), [1, 2, 2, 3, 3]);
});

test('redundancy 1: the one replica decides alone', () => {
  assert.deepEqual(tally([done('a')], 1), { outcome: 'accepted', hash: 'a' });
});

test('k = 3: two equal hashes decide even while the third still runs', () => {
  assert.deepEqual(tally([done('good'), running, done('good')], 3), { outcome: 'accepted', hash: 'good' });
  assert.deepEqual(tally([done('bad'), done('good'), done('good')], 3), { outcome: 'accepted', hash: 'good' });
});

test('no majority yet while unfinished replicas could still make one', () => {
  assert.deepEqual(tally([done('bad'), done('good'), running], 3), { outcome: 'waiting' });
  assert.deepEqual(tally([done('good'), running, running], 3), { outcome: 'waiting' });
});

test('all finished and split (a tie): one more replica runs', () => {
  assert.deepEqual(tally([done('a'), done('b')], 2), { outcome: 'another' });
  assert.deepEqual(tally([done('a'), done('b'), done('c')], 3), { outcome: 'another' });
  // The extra replica breaks the tie.
  assert.deepEqual(tally([done('a'), done('b'), done('b')], 2), { outcome: 'accepted', hash: 'b' });
});

test('at maxReplicas(k) replicas without a majority the index fails', () => {
  assert.equal(maxReplicas(2), 5);
  const split = ['a', 'b', 'c', 'd', 'e'].map(done);
  assert.deepEqual(tally(split.slice(0, 4), 2), { outcome: 'another' });
  assert.deepEqual(tally(split, 2), { outcome: 'no-majority', replicas: 5, distinct: 5 });
});

test('failed replicas vote with the hash of their failure like any other', () => {
  const trap = outputHash({ error: 'RuntimeError: unreachable', stdout: bytes(''), stderr: bytes('') });
  const ok = outputHash({ exitCode: 0, stdout: bytes('42\n'), stderr: bytes('') });
  assert.deepEqual(tally([done(trap), done(ok), done(trap)], 3), { outcome: 'accepted', hash: trap });
});

test('the output hash covers exit code, stdout, stderr, result and error, and cannot be fooled by moving bytes between streams', () => {
  const base = { exitCode: 0, result: { pi: 3.14 }, stdout: bytes('out'), stderr: bytes('err') };
  const hash = outputHash(base);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(outputHash({ ...base, stdout: bytes('out'), stderr: bytes('err') }), hash);
  const different = [
    { ...base, exitCode: 1 },
    { ...base, stdout: bytes('ou'), stderr: bytes('terr') },
    { ...base, stdout: bytes('out!') },
    { ...base, stderr: bytes('') },
    { ...base, result: { pi: 3 } },
    { ...base, result: undefined },
    { ...base, error: 'Error: boom' },
  ];
  for (const output of different) assert.notEqual(outputHash(output), hash, JSON.stringify(output));
  assert.notEqual(outputHash({ stdout: bytes(''), stderr: bytes(''), result: null }), outputHash({ stdout: bytes(''), stderr: bytes('') }));
});
