/**
 * The Content-Security-Policy of the compute worker script. A dedicated
 * worker's CSP comes from its script's response headers, and job code runs
 * in that worker, so this is the policy job code runs under (issue 7,
 * Sandbox): no network at all (`connect-src`, fonts, images, nested
 * workers: `default-src 'none'`), wasm compiled from bytes, and scripts only
 * from blob: URLs, which is how the worker imports a JS program from the
 * bytes the page passes it (client/runtime/program-loader.ts). Not even
 * `'self'`: a program cannot `import()` anything from the coordinator, and
 * `eval` / `new Function` are refused. The worker bundle is one file, so it
 * imports nothing itself.
 */
export const COMPUTE_WORKER_CSP = "default-src 'none'; script-src blob: 'wasm-unsafe-eval'; connect-src 'none'";

/** Served scripts that get a CSP of their own, by URL path. */
export const SCRIPT_POLICIES: Readonly<Record<string, string>> = {
  '/build/compute-worker.js': COMPUTE_WORKER_CSP,
};
