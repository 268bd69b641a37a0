import type { JobView } from '../../../shared/http-api.ts';
import { plural } from '../format.ts';
import { Notice } from './notice.tsx';

/**
 * A coupled job's ranks as one: whether they wait for slots to start
 * together, the recovery line they would roll back to, how often they did,
 * and what their message layer sent, resent and dropped as duplicate.
 */
export function CoupledPanel({ job }: { job: JobView }) {
  const { recoveryLine, rollbacks, messages, waitingForSlots } = job;
  return (
    <section class="coupled" data-testid="coupled-panel" data-ranks={job.ranks} aria-labelledby="coupled-title">
      <h2 id="coupled-title">Coupled: {plural(job.ranks, 'rank')}</h2>
      {waitingForSlots && (
        <Notice kind="info" testId="gang-waiting">
          {`Waiting for ${plural(waitingForSlots.needed, 'free slot')} to start all ranks together (${waitingForSlots.free} free now)`}
        </Notice>
      )}
      <dl class="facts">
        <div>
          <dt>Recovery line</dt>
          <dd data-testid="recovery-line" data-round={recoveryLine}>
            {recoveryLine === undefined ? <span class="muted">none yet</span> : `round ${recoveryLine}`}
          </dd>
        </div>
        <div>
          <dt>Rollbacks</dt>
          <dd data-testid="rollbacks">{rollbacks}</dd>
        </div>
        <div class="facts-wide">
          <dt>Messages</dt>
          <dd>
            <span data-testid="messages-sent">{messages.sent}</span> sent ·{' '}
            <span data-testid="messages-resent">{messages.resent}</span> resent ·{' '}
            <span data-testid="messages-discarded">{messages.discarded}</span> duplicates discarded
          </dd>
        </div>
      </dl>
    </section>
  );
}
