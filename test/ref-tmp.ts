import { referenceRun } from './helpers/e2e-output.ts';
const args = process.argv.slice(2);
const r = referenceRun('test/fixtures/churn/program.wasm', 'churn', args);
console.log(args, r.exitCode, r.trap, Buffer.from(r.stdout).toString().split('\n').slice(-2), Buffer.from(r.stderr).toString());
