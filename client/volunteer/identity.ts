/**
 * A volunteer's stable id: one random id per browser profile (localStorage),
 * plus the lowest tab slot no other open tab holds (a Web Lock held for the
 * page's life). Two tabs are two volunteers; a reopened only tab gets its old
 * id back, which is what lets it resume its own local checkpoints (DESIGN.md §5).
 */

const BROWSER_ID_KEY = 'grid.browserId';
const MAX_TABS = 64;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

function browserId(): string {
  let id = localStorage.getItem(BROWSER_ID_KEY);
  if (!id) {
    id = randomId();
    localStorage.setItem(BROWSER_ID_KEY, id);
  }
  return id;
}

/** Takes the lock if free and keeps it until the page goes away. */
function tryHold(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    void navigator.locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<never>(() => {}) : undefined;
    });
  });
}

export async function claimVolunteerId(): Promise<string> {
  const base = browserId();
  // Web Locks exist only in secure contexts (https or localhost); elsewhere each tab is new.
  if (!('locks' in navigator)) return `${base}-x${randomId().slice(0, 6)}`;
  for (let slot = 0; slot < MAX_TABS; slot++) {
    if (await tryHold(`grid-volunteer-${base}-${slot}`)) return `${base}-${slot}`;
  }
  return `${base}-x${randomId().slice(0, 6)}`;
}
