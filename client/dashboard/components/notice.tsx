import type { ComponentChildren } from 'preact';

interface Props {
  kind: 'error' | 'success' | 'info';
  testId?: string;
  id?: string;
  children: ComponentChildren;
}

/** A coloured message box; errors are announced to screen readers at once. */
export function Notice({ kind, testId, id, children }: Props) {
  return (
    <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId} id={id}>
      {children}
    </div>
  );
}
