import { HOME_HREF } from '../route.ts';
import { ConnectionStatus } from './connection-status.tsx';

interface Props {
  hasToken: boolean;
  onEditToken: () => void;
}

export function HeaderBar({ hasToken, onEditToken }: Props) {
  return (
    <header class="topbar">
      <div class="topbar-inner">
        <a class="brand" href={HOME_HREF} data-testid="home-link">
          <span class="brand-mark" aria-hidden="true">▦</span>
          Browser Grid
        </a>
        <nav class="topbar-nav" aria-label="Main">
          <a href={HOME_HREF}>Jobs</a>
          <a href="/volunteer" target="_blank" rel="noopener">
            Volunteer ↗
          </a>
        </nav>
        <div class="topbar-right">
          <ConnectionStatus />
          <button type="button" class="button button-ghost button-small" onClick={onEditToken} data-testid="token-edit">
            {hasToken ? 'Change token' : 'Enter token'}
          </button>
        </div>
      </div>
    </header>
  );
}
