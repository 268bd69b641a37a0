/**
 * A volunteer's stable id: one random id per browser profile (localStorage),
 * plus the lowest tab slot no other open tab holds (a Web Lock held for the
 * page's life). Two tabs are two volunteers; a reopened only tab gets its old
 * id back, which is what lets it resume its own local checkpoints (DESIGN.md §5).
 * Next to the browser id it keeps a random secret: ids are public, and the
 * coordinator takes a hello for an id only with the secret its first hello
 * carried (server/scheduler/volunteer-secret.ts).
 */

const BROWSER_ID_KEY = 'grid.browserId';
const BROWSER_SECRET_KEY = 'grid.browserSecret';
const MAX_TABS = 64;
/** 9 bytes: 12 base64url characters, unique enough among one grid's browsers. */
const ID_BYTES = 9;
/** 24 bytes (192 bits): 32 base64url characters, not guessable. */
const SECRET_BYTES = 24;

/** Random bytes as base64url (a multiple of 3 bytes, so no padding). */
function randomId(byteCount = ID_BYTES): string {
  const bytes = crypto.getRandomValues(new Uint8Array(byteCount));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/** This browser profile's volunteer secret, created on first use; every tab's hello carries it. */
export function browserSecret(): string {
  let secret = localStorage.getItem(BROWSER_SECRET_KEY);
  if (!secret || !/^[A-Za-z0-9_-]{22,128}$/.test(secret)) {
    secret = randomId(SECRET_BYTES);
    localStorage.setItem(BROWSER_SECRET_KEY, secret);
  }
  return secret;
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
