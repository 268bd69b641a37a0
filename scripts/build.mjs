// Builds what `npm start` serves and runs: the coordinator into dist/, the browser
// bundles (pages and workers) and the JS example programs into public/build/.
// esbuild only; no step needs a C compiler (the example .wasm files are committed).
import { build } from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';

const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022' };

/** Browser entry points: one bundle per page and per worker. */
const browserEntries = {
  dashboard: 'client/dashboard/main.tsx',
  volunteer: 'client/volunteer/main.ts',
  'compute-worker': 'client/runtime/compute-worker.ts',
  'checkpoint-worker': 'client/checkpoint/checkpoint-worker.ts',
};

/** JS example programs are ES modules the compute worker imports at run time. */
const exampleEntries = Object.fromEntries(
  readdirSync('examples', { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`examples/${d.name}/program.ts`))
    .map((d) => [d.name, `examples/${d.name}/program.ts`]),
);

await Promise.all([
  build({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(browserEntries).filter(([, p]) => existsSync(p))),
    outdir: 'public/build',
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
  }),
  build({
    ...common,
    entryPoints: exampleEntries,
    outdir: 'dist/examples',
    format: 'esm',
    platform: 'neutral',
    sourcemap: false,
  }),
  build({
    ...common,
    // The instrumentation worker sits beside main.js, where instrument-worker-spawn.ts looks for it.
    entryPoints: { main: 'server/main.ts', 'instrument-worker': 'server/programs/instrument-worker.ts' },
    outdir: 'dist/server',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
  }),
]);
