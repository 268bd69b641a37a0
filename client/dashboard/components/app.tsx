import { useEffect, useState } from 'preact/hooks';
import { useStore } from '../hooks/use-store.ts';
import { useRoute } from '../route.ts';
import { startLiveUpdates } from '../socket.ts';
import { dismissTokenProblem, tokenStore } from '../token.ts';
import { HeaderBar } from './header-bar.tsx';
import { HomePage } from './home-page.tsx';
import { JobPage } from './job-page.tsx';
import { TokenForm } from './token-form.tsx';

/** The dashboard: header, the token form when needed, and the current page. */
export function App() {
  const route = useRoute();
  const { token, problem } = useStore(tokenStore);
  const [editingToken, setEditingToken] = useState(false);
  const [dismissed, setDismissed] = useState(false);

  useEffect(() => startLiveUpdates(), []);

  const askToken = editingToken || problem !== null || (token === null && !dismissed);
  const closeTokenForm = (saved: boolean) => {
    setEditingToken(false);
    if (!saved) {
      setDismissed(true);
      dismissTokenProblem();
    }
  };
  return (
    <>
      <HeaderBar hasToken={token !== null} onEditToken={() => setEditingToken(true)} />
      {askToken && (
        <div class="container token-container">
          <TokenForm problem={problem} onClose={closeTokenForm} />
        </div>
      )}
      {route.page === 'job' ? <JobPage key={route.id} id={route.id} /> : <HomePage />}
    </>
  );
}
