/**
 * `npm run bench [-- name …]`: runs the named benchmarks (default: all), prints the results as JSON and
 * as the markdown rows that docs/benchmarks.md records, with the machine they ran on.
 */
import { cpus, totalmem } from 'node:os';
import { runIngestBench } from './ingest.js';

const BENCHES: Record<string, () => Promise<unknown>> = {
  ingest: () => runIngestBench(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
for (const name of names) {
  const run = BENCHES[name];
  if (!run) {
    console.error(`unknown benchmark '${name}' (have: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
  console.log(`\n## ${name}`);
  const result = await run();
  console.log(JSON.stringify(result, null, 2));
}
