/**
 * The page's watchdog over a compute worker (client/volunteer/task-watchdog.ts)
 * on a real liveness buffer and tracker words, with the clock in the test's
 * hands: silence for the period is unresponsive; a beat, a checkpoint in
 * flight or an unwatched mode is alive; quiet wasm is probed once per
 * silence, through the tracker's request word, before it is given up on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LivenessWord, PROBE_REQUEST, WatchMode, createLivenessBuffer, realRequests } from '../../client/runtime/liveness.ts';
import { TaskWatchdog, unresponsiveMessage } from '../../client/volunteer/task-watchdog.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';

const PERIOD = 1_000;

function setup(mode: number) {
  const buffer = createLivenessBuffer();
  const words = new Int32Array(buffer);
  Atomics.store(words, LivenessWord.MODE, mode);
  const tracker = new SharedArrayBuffer(64 * 4);
  const trackerWords = new Int32Array(tracker);
  const watchdog = new TaskWatchdog(buffer, { periodMs: PERIOD, tracker, onUnresponsive: () => assert.fail('not started') }, 0);
  return { watchdog, beat: () => Atomics.add(words, LivenessWord.BEATS, 1), trackerWords };
}

test('a JS run that stops beating is unresponsive after the period, not before', () => {
  const { watchdog, beat } = setup(WatchMode.STEPS);
  assert.equal(watchdog.check(500), 'alive');
  beat();
  assert.equal(watchdog.check(900), 'alive', 'the beat restarts the period');
  assert.equal(watchdog.check(1_800), 'alive');
  assert.equal(watchdog.check(1_900), 'unresponsive');
});

test('quiet wasm is probed once at half the period, and answering it keeps it alive', () => {
  const { watchdog, beat, trackerWords } = setup(WatchMode.PROBED);
  assert.equal(watchdog.check(400), 'alive');
  assert.equal(watchdog.check(500), 'probe');
  assert.equal(Atomics.load(trackerWords, TrackerWord.REQUESTS), PROBE_REQUEST);
  assert.equal(realRequests(Atomics.load(trackerWords, TrackerWord.REQUESTS)), 0, 'a probe is no checkpoint request');
  assert.equal(watchdog.check(700), 'alive', 'one probe per silence');
  beat(); // the program's next poll answered at ckpt.safepoint
  assert.equal(watchdog.check(800), 'alive');
  assert.equal(watchdog.check(1_300), 'probe', 'probed again after the next half period');
  assert.equal(watchdog.check(1_800), 'unresponsive', 'no answer within the period');
  assert.equal(realRequests(Atomics.load(trackerWords, TrackerWord.REQUESTS) + 1), 1, 'a real request still shows among probes');
});

test('a checkpoint in flight, loading and unwatched wasm are never unresponsive', () => {
  const probed = setup(WatchMode.PROBED);
  Atomics.store(probed.trackerWords, TrackerWord.PROTECTED, 3);
  assert.equal(probed.watchdog.check(5_000), 'alive', 'its write barrier may wait for the checkpoint worker');
  Atomics.store(probed.trackerWords, TrackerWord.PROTECTED, 0);
  assert.equal(probed.watchdog.check(5_999), 'probe');
  for (const mode of [WatchMode.LOADING, WatchMode.UNWATCHED]) assert.equal(setup(mode).watchdog.check(60_000), 'alive');
});

test('wasm without a tracker to probe through is not watched', () => {
  const buffer = createLivenessBuffer();
  Atomics.store(new Int32Array(buffer), LivenessWord.MODE, WatchMode.PROBED);
  const watchdog = new TaskWatchdog(buffer, { periodMs: PERIOD, onUnresponsive: () => undefined }, 0);
  assert.equal(watchdog.check(60_000), 'alive');
});

test('the failure names the period and what did not return', () => {
  assert.equal(unresponsiveMessage(WatchMode.STEPS, 10_000), 'a step did not return within 10 s; the task was stopped');
  assert.match(unresponsiveMessage(WatchMode.PROBED, 2_500), /neither returned nor reached a safepoint within 2\.5 s/);
});

test('a started watchdog calls onUnresponsive once and stops', async () => {
  const buffer = createLivenessBuffer();
  Atomics.store(new Int32Array(buffer), LivenessWord.MODE, WatchMode.STEPS);
  const failures: string[] = [];
  const watchdog = new TaskWatchdog(buffer, { periodMs: 60, checkEveryMs: 10, onUnresponsive: (f) => failures.push(`${f.name}: ${f.message}`) });
  watchdog.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  watchdog.stop();
  assert.deepEqual(failures, ['Unresponsive: a step did not return within 0.1 s; the task was stopped']);
});
