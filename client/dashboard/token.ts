/**
 * The coordinator's bearer token: read once from `#token=…`, kept in
 * localStorage, asked for again whenever the server refuses it.
 */
import { createStore } from './store.ts';

const STORAGE_KEY = 'grid.dashboard.token';

export interface TokenState {
  token: string | null;
  /** Why the token form is shown: none yet, or the server refused the last one. */
  problem: string | null;
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled (private mode, sandboxed iframe)
  }
}

function writeStored(token: string | null): void {
  try {
    if (token) localStorage.setItem(STORAGE_KEY, token);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the token lives only as long as the tab
  }
}

/**
 * Takes `#token=…` out of the address bar (so it does not end up in
 * bookmarks or screenshots) and returns it.
 */
export function takeTokenFromHash(): string | null {
  const hash = location.hash.replace(/^#/, '');
  if (!hash.startsWith('token=')) return null;
  const token = decodeURIComponent(hash.slice('token='.length)).trim();
  history.replaceState(null, '', location.pathname + location.search);
  return token || null;
}

function initialToken(): string | null {
  const fromHash = takeTokenFromHash();
  if (fromHash) writeStored(fromHash);
  return fromHash ?? readStored();
}

export const tokenStore = createStore<TokenState>({ token: initialToken(), problem: null });

/** A `#token=…` pasted into the address bar while the page is open. */
window.addEventListener('hashchange', () => {
  const token = takeTokenFromHash();
  if (token) saveToken(token);
});

export function getToken(): string | null {
  return tokenStore.get().token;
}

/** Saves a token the user typed in and clears any earlier refusal. */
export function saveToken(token: string): void {
  const trimmed = token.trim();
  writeStored(trimmed || null);
  tokenStore.set({ token: trimmed || null, problem: null });
}

/** The user closed the token form: keep browsing without one. */
export function dismissTokenProblem(): void {
  const current = tokenStore.get();
  if (current.problem !== null) tokenStore.set({ token: current.token, problem: null });
}

/** The server refused the token: forget it and show the form again with `reason`. */
export function rejectToken(reason: string): void {
  writeStored(null);
  tokenStore.set({ token: null, problem: reason });
}
