/**
 * Which browser a volunteer id belongs to. Volunteer ids are public (GET
 * /api/volunteers lists them), so an id alone must not let a hello replace
 * another browser's session. Each browser keeps a random secret next to its id
 * (client/volunteer/identity.ts); the coordinator keeps only its SHA-256. The
 * first hello with a secret pins it; from then on a hello for that id must
 * carry the same secret. An id with no pinned secret (an old client) stays
 * open to any hello, as before.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GridError } from '../../shared/errors.ts';
import type { VolunteerStore } from '../store/store.ts';

/** Hex SHA-256 of a volunteer secret: what the store keeps. */
export function hashVolunteerSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Checks a hello's secret against the one pinned to `volunteerId`, and returns
 * the hash the volunteer row should carry (null: none yet). Throws
 * Unauthorized, before anything changed, when the id has a pinned secret and
 * the hello's is missing or different.
 */
export function verifyVolunteerSecret(volunteers: VolunteerStore, volunteerId: string, secret: string | undefined): string | null {
  const pinned = volunteers.secretHash(volunteerId);
  const offered = secret === undefined ? null : hashVolunteerSecret(secret);
  if (pinned === null) return offered;
  // Both are hex SHA-256 (equal lengths), compared in constant time.
  if (offered === null || !timingSafeEqual(Buffer.from(pinned, 'hex'), Buffer.from(offered, 'hex'))) {
    throw new GridError('Unauthorized', `volunteer ${volunteerId} belongs to another browser: hello with its secret`);
  }
  return pinned;
}
