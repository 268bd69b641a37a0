/**
 * The vote among the replicas of one task index (a job's `redundancy` k):
 * each finished replica votes with the hash of its output; ⌊k/2⌋ + 1 equal
 * hashes decide. A failed replica votes like any other (honest volunteers
 * fail the same way on the same input). When every replica has finished
 * without a majority, one more runs, up to maxReplicas(k); then the index
 * fails. Pure: replicas.ts applies the outcome to the store.
 */
import { createHash } from 'node:crypto';
import { maxReplicas } from '../../shared/limits.ts';

/** One replica as the vote sees it: its hash once it finished. */
export interface Ballot {
  finished: boolean;
  hash?: string;
}

export type Tally =
  /** The majority's hash: the index's output is that of a replica with it. */
  | { outcome: 'accepted'; hash: string }
  /** Unfinished replicas may still make a majority. */
  | { outcome: 'waiting' }
  /** Every replica finished without a majority, and another may run. */
  | { outcome: 'another' }
  /** maxReplicas(k) finished without a majority: the index fails. */
  | { outcome: 'no-majority'; replicas: number; distinct: number };

/** Equal hashes that decide among k replicas. */
export function majority(redundancy: number): number {
  return Math.floor(redundancy / 2) + 1;
}

export function tally(ballots: readonly Ballot[], redundancy: number): Tally {
  const counts = new Map<string, number>();
  for (const { finished, hash } of ballots) if (finished && hash !== undefined) counts.set(hash, (counts.get(hash) ?? 0) + 1);
  for (const [hash, count] of counts) if (count >= majority(redundancy)) return { outcome: 'accepted', hash };
  if (ballots.some((b) => !b.finished)) return { outcome: 'waiting' };
  if (ballots.length < maxReplicas(redundancy)) return { outcome: 'another' };
  return { outcome: 'no-majority', replicas: ballots.length, distinct: counts.size };
}

/** The error of an index whose replicas never agreed. */
export function noMajorityError(replicas: number): string {
  return `NoMajority: no majority among ${replicas} replicas`;
}

/** What a replica's vote covers: everything the job's owner gets of it. */
export interface ReplicaOutput {
  exitCode?: number;
  result?: unknown;
  error?: string;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

const encoder = new TextEncoder();

/** SHA-256 over the exit code, result, error, stdout and stderr, each part length-prefixed so no two outputs encode alike. */
export function outputHash(output: ReplicaOutput): string {
  const head = JSON.stringify([output.exitCode ?? null, output.result === undefined ? [] : [output.result], output.error ?? null]);
  const hash = createHash('sha256');
  for (const part of [encoder.encode(head), output.stdout, output.stderr]) {
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(part.byteLength));
    hash.update(length).update(part);
  }
  return hash.digest('hex');
}
