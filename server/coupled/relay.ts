/**
 * The coordinator's message relay between the ranks of a coupled job
 * (DESIGN.md §6). It forwards each batch of message-layer frames as it is,
 * without parsing or storing it, to whoever holds the destination rank's
 * lease now, stamped with that lease and the sender's rank. What cannot be
 * delivered (the rank is between leases, its volunteer away, the sender's
 * lease stale after a rollback) is dropped: the sender keeps every message
 * until it is acknowledged and resends it, so the relay needs no memory, and
 * the senders' windows bound what is in flight.
 */
import { GridError } from '../../shared/errors.ts';
import type { Lease, LeaseTable } from '../scheduler/lease-table.ts';
import type { VolunteerSession } from '../scheduler/session.ts';
import type { RankDirectory } from './rank-directory.ts';

type Held = Lease<VolunteerSession>;

export class Relay {
  /** Batches dropped because the destination had no connected lease. */
  dropped = 0;

  constructor(
    private readonly leases: LeaseTable<VolunteerSession>,
    private readonly directory: RankDirectory,
  ) {}

  forward(sender: Held, to: number, data: Uint8Array): void {
    const info = this.directory.job(sender.jobId);
    if (!info) throw new GridError('Conflict', `task ${sender.taskId} is not a rank of a coupled job`);
    const target = info.taskIds[to];
    if (target === undefined) throw new GridError('ValidationError', `to: the job has ranks 0 to ${info.taskIds.length - 1}, not ${to}`);
    const from = info.rankOf.get(sender.taskId)!;
    const lease = this.leases.ofTask(target);
    if (!lease?.session) {
      this.dropped++;
      return;
    }
    lease.session.link.deliver(target, lease.token, from, data);
  }
}
