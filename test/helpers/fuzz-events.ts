/**
 * Random and adversarial volunteer events: for every event name the
 * coordinator handles (and names it does not), a payload of the right shape
 * with a lease that is this connection's own (valid), another connection's,
 * stale or forged, then mutated field by field, replaced whole, or sent with
 * extra arguments. Seeded (seeded-random.ts), so a failing run replays.
 */
import { createHash } from 'node:crypto';
import { CHECKPOINT_FORMAT } from '../../shared/checkpoint-format.ts';
import { adversarialValue, int, pick, randomBytes, randomString } from './fuzz-values.ts';
import type { Rng } from './fuzz-values.ts';

export interface LeaseRef {
  taskId: string;
  lease: string;
}

/** The leases a fuzzing connection can name: its own (valid now), other connections', ones that ended, and made-up ones. */
export interface LeasePool {
  own: LeaseRef[];
  others: LeaseRef[];
  stale: LeaseRef[];
  /** A volunteer id another connection uses (public: GET /api/volunteers lists them). */
  otherVolunteerIds: string[];
}

/** Names socket.io would hand to the socket's own EventEmitter (`error`), look like ours, or are server-to-volunteer events. */
export const UNKNOWN_EVENTS = ['error', 'HELLO', 'hello ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'task:assign', 'rank:deliver', 'protocol:error', 'ping', '', 'x'.repeat(300)];

export interface FuzzEvent {
  name: string;
  args: unknown[];
  ack: boolean;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const hex64 = (rng: Rng) => Array.from({ length: 64 }, () => '0123456789abcdef'[int(rng, 0, 15)]).join('');

function leaseFrom(rng: Rng, pool: LeasePool): LeaseRef {
  const forged = { taskId: pick(rng, [...pool.own, ...pool.others, { taskId: randomString(rng, 8), lease: '' }]).taskId, lease: `forged-${int(rng, 0, 1e9)}` };
  const choices = [pool.own, pool.own, pool.others, pool.stale].filter((list) => list.length > 0);
  return rng() < 0.2 || choices.length === 0 ? forged : pick(rng, pick(rng, choices));
}

/** A payload of the right shape for `name`, naming `ref`'s task and lease. */
function template(rng: Rng, name: string, ref: LeaseRef, pool: LeasePool): unknown {
  const { taskId, lease } = ref;
  const data = randomBytes(rng, int(rng, 1, 256));
  switch (name) {
    case 'hello':
      return {
        volunteerId: rng() < 0.1 && pool.otherVolunteerIds.length ? pick(rng, pool.otherVolunteerIds) : `fuzz${int(rng, 1e6, 9e6)}`,
        name: 'fuzz',
        cores: int(rng, 1, 8),
        slots: int(rng, 0, 4),
        leases: [lease],
        held: [{ taskId, seq: int(rng, 1, 3), digest: hex64(rng) }],
      };
    case 'slots':
      return { slots: int(rng, 0, 4) };
    case 'heartbeat':
      return { leases: [lease, ...pool.own.map((r) => r.lease)] };
    case 'task:progress':
      return { taskId, lease, progress: rng() };
    case 'task:output':
      return { taskId, lease, stream: pick(rng, ['stdout', 'stderr']), data };
    case 'task:finish':
      return { taskId, lease, exitCode: int(rng, 0, 2), ...(rng() < 0.3 ? { result: adversarialValue(rng) } : {}) };
    case 'task:fail':
      return { taskId, lease, error: { name: 'Error', message: 'fuzz' } };
    case 'task:release':
      return { taskId, lease };
    case 'task:checkpoint':
      return { taskId, lease, seq: int(rng, 1, 5), pages: int(rng, 0, 100), bytes: int(rng, 0, 1e6), stopMs: rng() * 10, saveMs: rng() * 10 };
    case 'checkpoint:missing':
      return { taskId, lease, hashes: Array.from({ length: int(rng, 0, 8) }, () => hex64(rng)) };
    case 'checkpoint:segment':
      return { taskId, lease, hash: rng() < 0.7 ? sha256(data) : hex64(rng), data };
    case 'checkpoint:manifest': {
      const seq = int(rng, 1, 4);
      return {
        taskId,
        lease,
        manifest: {
          format: CHECKPOINT_FORMAT,
          taskId,
          seq,
          parent: seq > 1 && rng() < 0.5 ? seq - 1 : null,
          pageSize: 4096,
          memoryPages: 1,
          extents: [{ first: 0, count: 1, zero: true }],
          segments: [],
          state: { output: { stdout: 0, stderr: 0 } },
          dirtyBytes: 4096,
          storedBytes: 0,
          createdAt: Date.now(),
        },
      };
    }
    case 'checkpoint:fetch':
      return { taskId, lease, hash: hex64(rng) };
    case 'task:halted':
      return { taskId, lease, seq: int(rng, 1, 3) };
    case 'task:resumed':
      return { taskId, lease, seq: int(rng, 1, 3), from: pick(rng, ['local', 'coordinator']) };
    case 'rank:send':
      return { taskId, lease, to: int(rng, 0, 2), data };
    case 'round:enter':
      return { taskId, lease, round: int(rng, 1, 3), seq: int(rng, 1, 3) };
    case 'rank:stats':
      return { taskId, lease, sent: int(rng, 0, 10), resent: int(rng, 0, 10), discarded: int(rng, 0, 10) };
    case 'leaving':
      return undefined;
    default:
      return adversarialValue(rng);
  }
}

/** Changes one to three fields: to an adversarial value, gone, or an extra key. */
function mutate(rng: Rng, payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) return adversarialValue(rng);
  // A Map, then own keys: `__proto__` stays a key rather than setting the prototype.
  const copy = new Map(Object.entries(payload));
  for (let n = int(rng, 1, 3); n > 0; n--) {
    const keys = [...copy.keys()];
    const roll = rng();
    if (roll < 0.6 && keys.length) copy.set(pick(rng, keys), adversarialValue(rng));
    else if (roll < 0.8 && keys.length) copy.delete(pick(rng, keys));
    else copy.set(pick(rng, ['__proto__', 'constructor', 'extra', randomString(rng, 4)]), adversarialValue(rng));
  }
  return Object.fromEntries(copy);
}

/** One fuzzed event for a connection whose leases are `pool`. */
export function fuzzEvent(rng: Rng, known: readonly string[], pool: LeasePool): FuzzEvent {
  const name = rng() < 0.9 ? pick(rng, known) : pick(rng, UNKNOWN_EVENTS);
  const ack = rng() < 0.75;
  const valid = template(rng, name, leaseFrom(rng, pool), pool);
  const roll = rng();
  let args: unknown[];
  if (roll < 0.4) args = [valid];
  else if (roll < 0.75) args = [mutate(rng, valid)];
  else if (roll < 0.88) args = [adversarialValue(rng)];
  else if (roll < 0.95) args = [valid, adversarialValue(rng), adversarialValue(rng)];
  else if (roll < 0.98) args = [adversarialValue(rng, false)];
  else args = [];
  return { name, args, ack };
}
