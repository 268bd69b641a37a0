import { clockStore } from '../clock.ts';
import { formatAgo, formatDateTime } from '../format.ts';
import { useStore } from '../hooks/use-store.ts';

/** A relative time ("3 min ago") with the full date in its tooltip. */
export function TimeAgo({ iso }: { iso: string }) {
  const now = useStore(clockStore);
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatAgo(iso, now)}
    </time>
  );
}
