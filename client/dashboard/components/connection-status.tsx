import { useStore } from '../hooks/use-store.ts';
import { connectionStore, type ConnectionState } from '../socket.ts';

const LABELS: Record<ConnectionState, { text: string; title: string }> = {
  live: { text: 'Live', title: 'Receiving live updates from the coordinator' },
  connecting: { text: 'Connecting…', title: 'Opening the live-update connection' },
  offline: { text: 'Offline', title: 'Lost the coordinator; retrying, and refreshing every few seconds meanwhile' },
  'no-token': { text: 'No token', title: 'Enter the token for live updates; refreshing every few seconds meanwhile' },
};

export function ConnectionStatus() {
  const state = useStore(connectionStore);
  const label = LABELS[state];
  return (
    <span class={`connection connection-${state}`} title={label.title} data-testid="connection-status" data-state={state}>
      <span class="dot" aria-hidden="true" />
      {label.text}
    </span>
  );
}
