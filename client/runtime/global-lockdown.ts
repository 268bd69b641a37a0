/**
 * Takes the network, storage and escape hatches out of a compute worker's
 * global scope before any job code is evaluated in it (issue 7, Sandbox).
 * The compute worker never needs them itself: the page hands it the
 * program's bytes (program-source.ts) and everything else arrives as shared
 * memory or message ports.
 *
 * A removed name is deleted wherever it lives on the global's prototype
 * chain (WebIDL puts a [Global]'s members on the object itself, but engines
 * differ: DedicatedWorkerGlobalScope.prototype, WorkerGlobalScope.prototype
 * are searched too) and then defined on the global as a non-configurable,
 * non-writable `undefined`, so the program can neither call it nor put
 * anything back under that name. No reference to a removed function
 * survives anywhere the program can reach. Dynamic `import()` is syntax and
 * cannot be removed: the worker script's Content-Security-Policy
 * (COMPUTE_WORKER_CSP) blocks it, and anything left here, from the network.
 */

/** Globals the program must not reach: network, storage, other contexts, and ways to get fresh copies of them. */
export const BLOCKED_GLOBALS = [
  // network
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'WebSocketStream',
  'WebTransport',
  'EventSource',
  'FontFace', // FontFace('x', 'url(…)').load() fetches
  'fonts',
  // storage of the volunteer's origin
  'indexedDB',
  'IDBFactory',
  'caches',
  'CacheStorage',
  'cookieStore',
  'CookieStore',
  'StorageManager',
  'webkitRequestFileSystem',
  'webkitRequestFileSystemSync',
  'webkitResolveLocalFileSystemURL',
  'webkitResolveLocalFileSystemSyncURL',
  'FileReaderSync',
  // other contexts: other tasks, the volunteer's other tabs, fresh unlocked globals
  'importScripts',
  'Worker',
  'SharedWorker',
  'BroadcastChannel',
  'ServiceWorkerContainer',
  'LockManager',
  'Notification',
  'close', // would end the worker silently; the watchdog would still catch it
] as const;

/** Prefixes of globals removed as a family (WebRTC: peer connections and data channels). */
export const BLOCKED_PREFIXES = ['RTC'] as const;

/** Members of `navigator` the program must not reach (storage, locks shared with the page, devices, beacons). */
export const BLOCKED_NAVIGATOR = ['storage', 'serviceWorker', 'locks', 'sendBeacon', 'usb', 'hid', 'serial', 'bluetooth', 'permissions'] as const;

/** The objects `target`'s name lookups go through: itself, then its prototypes up to (not including) Object.prototype. */
function lookupChain(target: object): object[] {
  const chain: object[] = [];
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) chain.push(o);
  return chain;
}

/** Deletes `name` along `target`'s chain and pins it to `undefined` on `target`; says whether it was there. */
function remove(target: object, name: string): boolean {
  let found = false;
  for (const holder of lookupChain(target)) {
    if (!Object.hasOwn(holder, name)) continue;
    found = true;
    if (!Reflect.deleteProperty(holder, name)) throw new Error(`cannot remove ${name} from the compute worker's scope`);
  }
  Object.defineProperty(target, name, { value: undefined, writable: false, enumerable: false, configurable: false });
  return found;
}

/** Every name `target` can see through its chain that starts with one of `prefixes`. */
function namesWithPrefix(target: object, prefixes: readonly string[]): string[] {
  const names = lookupChain(target).flatMap((holder) => Object.getOwnPropertyNames(holder));
  return [...new Set(names)].filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
}

/**
 * Removes BLOCKED_GLOBALS, the BLOCKED_PREFIXES families and BLOCKED_NAVIGATOR
 * from `scope`; answers the names that were present (for the worker's log).
 * Call once, before the program is loaded.
 */
export function lockDownGlobalScope(scope: object = globalThis): string[] {
  const removed: string[] = [];
  for (const name of [...BLOCKED_GLOBALS, ...namesWithPrefix(scope, BLOCKED_PREFIXES)]) {
    if (remove(scope, name)) removed.push(name);
  }
  const navigator = (scope as { navigator?: object }).navigator;
  if (navigator) {
    for (const name of BLOCKED_NAVIGATOR) {
      if (remove(navigator, name)) removed.push(`navigator.${name}`);
    }
  }
  return removed;
}
