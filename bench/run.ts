/**
 * `npm run bench [-- name …]`: runs the named benchmarks (default: all but behavioural-floor, which needs
 * the database of an earlier behavioural run), prints the results as JSON and as the markdown rows that
 * docs/benchmarks.md records, with the machine they ran on.
 */
import { cpus, totalmem } from 'node:os';
import { runIngestBench } from './ingest.js';
import { runSegmentBench } from './segments.js';
import { runBehaviouralBench } from './behavioural.js';
import { runBehaviouralFloorBench } from './behavioural-floor.js';
import { runBtydBench } from './btyd.js';
import { runClassifierBench } from './classifiers.js';
import { runKMeansBench } from './kmeans.js';

const BENCHES: Record<string, () => Promise<unknown>> = {
  ingest: () => runIngestBench(),
  behavioural: () => runBehaviouralBench({ profiles: flag('profiles'), events: flag('events'), dir: text('dir'), perModel: !process.argv.includes('--no-per-model'), memoryLimit: text('memory-limit') }),
  'behavioural-floor': () => runBehaviouralFloorBench({ profiles: flag('profiles'), events: flag('events'), dir: text('dir'), rounds: flag('rounds') }),
  kmeans: () => runKMeansBench({ rows: flag('rows'), cols: flag('cols'), k: flag('k'), threads: flag('threads'), seed: flag('seed') }),
  classifiers: () => runClassifierBench({ rows: flag('rows'), cols: flag('cols'), trees: flag('trees'), seed: flag('seed') }),
  btyd: () => runBtydBench({ customers: flag('customers'), seed: flag('seed') }),
  segments: () => runSegmentBench({ profiles: flag('profiles'), events: flag('events'), rate: flag('rate'), seconds: flag('seconds'), dir: text('dir'), latencyOnly: process.argv.includes('--latency-only'), slowIntervalMs: flag('slow-interval'), slowPauseRatio: flag('slow-pause-ratio'), fastPauseRatio: flag('fast-pause-ratio'), fastBatchMax: flag('fast-batch-max'), threads: flag('threads'), memoryLimit: text('memory-limit'), refreshMs: flag('refresh') }),
};

function text(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** `--name N` or `--name=N` after the benchmark names. */
function flag(name: string): number | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === `--${name}`) return Number(args[i + 1]);
    if (a.startsWith(`--${name}=`)) return Number(a.slice(name.length + 3));
  }
  return undefined;
}

const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('-') && !((all[i - 1] ?? '').startsWith('--') && all[i - 1] !== '--latency-only' && all[i - 1] !== '--no-per-model'));
// Run only when named: the floor reads a database an earlier behavioural bench left (--dir).
const ON_REQUEST = new Set(['behavioural-floor']);
const names = wanted.length ? wanted : Object.keys(BENCHES).filter((n) => !ON_REQUEST.has(n));
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
