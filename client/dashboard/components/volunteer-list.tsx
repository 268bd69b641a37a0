import type { VolunteerView } from '../../../shared/http-api.ts';
import { listVolunteers } from '../api.ts';
import type { Changes } from '../changes.ts';
import { useLiveResource } from '../hooks/use-live-resource.ts';
import { Notice } from './notice.tsx';
import { plural } from '../format.ts';
import { TimeAgo } from './time-ago.tsx';

const onVolunteerChanges = (changes: Changes) => changes.volunteers;

function connectedFirst(a: VolunteerView, b: VolunteerView): number {
  if (a.connected !== b.connected) return a.connected ? -1 : 1;
  return b.lastSeen.localeCompare(a.lastSeen);
}

function VolunteerRow({ volunteer: v }: { volunteer: VolunteerView }) {
  return (
    <tr data-testid="volunteer-row" data-volunteer-id={v.id} data-connected={String(v.connected)}>
      <td class="cell-name">
        <span
          class={`dot ${v.connected ? 'dot-on' : 'dot-off'}`}
          role="img"
          aria-label={v.connected ? 'connected' : 'disconnected'}
          title={v.connected ? 'Connected' : 'Disconnected'}
          data-testid="volunteer-connected"
        />
        {v.name || v.id}
        {(v.outvoted ?? 0) > 0 && (
          <>
            {' '}
            <span
              class="badge badge-failed"
              data-testid="volunteer-outvoted"
              title="Replicas of this volunteer whose output a majority of other volunteers contradicted (jobs with redundancy)"
            >
              outvoted ×{v.outvoted}
            </span>
          </>
        )}
        <div class="sub">
          {v.connected ? 'connected' : <>last seen <TimeAgo iso={v.lastSeen} /></>}
        </div>
      </td>
      <td class="num">{v.cores}</td>
      <td class="num">{v.slots}</td>
      <td>{v.paused ? <span class="badge badge-preempted">paused</span> : <span class="muted">no</span>}</td>
      <td class="num" data-testid="volunteer-tasks" title={v.tasks.join('\n')}>
        {v.tasks.length}
      </td>
    </tr>
  );
}

/** Browsers that donate compute, connected ones first. */
export function VolunteerList() {
  const volunteers = useLiveResource('volunteers', listVolunteers, onVolunteerChanges);
  const sorted = [...(volunteers.data ?? [])].sort(connectedFirst);
  const connected = sorted.filter((v) => v.connected);

  return (
    <div>
      {volunteers.error && <Notice kind="error">Could not load volunteers: {volunteers.error}</Notice>}
      {volunteers.data && (
        <p class="summary" data-testid="volunteers-summary">
          <strong>{connected.length}</strong> connected · {plural(connected.reduce((n, v) => n + v.slots, 0), 'slot')} ·{' '}
          {plural(connected.reduce((n, v) => n + v.tasks.length, 0), 'task')} running
        </p>
      )}
      {volunteers.data && sorted.length === 0 && (
        <p class="empty">No volunteers yet. Open the volunteer page to add one.</p>
      )}
      {sorted.length > 0 && (
        <div class="table-wrap">
          <table class="table" id="volunteers-table" data-testid="volunteers-table">
            <thead>
              <tr>
                <th scope="col">Volunteer</th>
                <th scope="col" class="num">Cores</th>
                <th scope="col" class="num">Slots</th>
                <th scope="col">Paused</th>
                <th scope="col" class="num">Running</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((v) => (
                <VolunteerRow key={v.id} volunteer={v} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
