/**
 * Validation of the uplift part of issue 5 against Kevin Hillstrom's MineThatData e-mail experiment
 * (`<dataDir>/hillstrom/*.csv`, 64,000 customers randomised to a Mens e-mail, a Womens e-mail or no
 * e-mail; not part of the repository).
 *
 * 1. The experiment as REFERENCES.md prints it, computed here from the raw file and compared at the
 *    printed precision: arm sizes; visit and conversion rates (4 decimals of a percent); spend per
 *    customer (4 decimals); effects against No E-Mail (3 decimals of a percentage point / dollar).
 * 2. Uplift models on the visit outcome with the project's logistic regression, fitted on a seeded
 *    50 / 50 split and scored on the held-out half: treatment = Mens E-Mail against No E-Mail (the
 *    Womens rows left out; the arm with the largest effect) with both meta-learners, and treatment = any
 *    e-mail against none (a ⅔ treatment share, where class transformation relies on its reweighting).
 *    There is no published target for the held-out numbers: they are printed, and the check is only
 *    that each model ranks better than random (Qini coefficient > 0). The measured effect per decile of
 *    predicted uplift is printed for the first model.
 *
 * Features from the file's columns: recency, history, mens, womens, newbie, and zip_code and channel
 * one-hot (all levels: the logistic regression standardises and penalises, so the full set is fine).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stream } from '../src/domain/random.js';
import { logistic } from '../src/domain/ml/logistic.js';
import { matrix, takeRows, type Learner, type Matrix } from '../src/domain/ml/types.js';
import { fitUplift, type UpliftMethod } from '../src/domain/ml/uplift.js';
import { qiniAucScore, upliftAtK, upliftAucScore } from '../src/domain/ml/uplift-metrics.js';
import { groupEffects, upliftBins } from '../src/domain/ml/uplift-effects.js';

type Check = (label: string, actual: number, expected: number, tolerance?: number) => void;

const ARMS = ['Mens E-Mail', 'Womens E-Mail', 'No E-Mail'] as const;
type Arm = (typeof ARMS)[number];

const COLUMNS = ['recency', 'history_segment', 'history', 'mens', 'womens', 'zip_code', 'newbie', 'channel', 'segment', 'visit', 'conversion', 'spend'];
const ZIP = ['Urban', 'Surburban', 'Rural'];
const CHANNEL = ['Phone', 'Web', 'Multichannel'];
const FEATURES = ['recency', 'history', 'mens', 'womens', 'newbie', ...ZIP.map((z) => `zip_code=${z}`), ...CHANNEL.map((c) => `channel=${c}`)];

/** The rows of the file as typed columns. */
interface Hillstrom {
  n: number;
  x: Matrix;
  arm: Uint8Array; // index into ARMS
  visit: Uint8Array;
  conversion: Uint8Array;
  spend: Float64Array;
}

function read(dataDir: string): Hillstrom {
  const dir = join(dataDir, 'hillstrom');
  const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.csv'));
  if (files.length !== 1) throw new Error(`expected one CSV file in ${dir}, found ${files.length}`);
  const text = readFileSync(join(dir, files[0] as string), 'utf8');
  const rows = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  const header = Object.keys(rows[0] ?? {});
  if (header.join(',') !== COLUMNS.join(',')) throw new Error(`unexpected columns ${header.join(',')}`);
  const n = rows.length;
  const x = matrix(n, FEATURES.length);
  const arm = new Uint8Array(n), visit = new Uint8Array(n), conversion = new Uint8Array(n), spend = new Float64Array(n);
  const level = (values: string[], v: string | undefined, what: string) => {
    const k = values.indexOf(v ?? '');
    if (k < 0) throw new Error(`unknown ${what} '${v}'`);
    return k;
  };
  rows.forEach((r, i) => {
    const o = i * FEATURES.length;
    x.data[o] = Number(r['recency']);
    x.data[o + 1] = Number(r['history']);
    x.data[o + 2] = Number(r['mens']);
    x.data[o + 3] = Number(r['womens']);
    x.data[o + 4] = Number(r['newbie']);
    x.data[o + 5 + level(ZIP, r['zip_code'], 'zip_code')] = 1;
    x.data[o + 8 + level(CHANNEL, r['channel'], 'channel')] = 1;
    arm[i] = level([...ARMS], r['segment'], 'segment');
    visit[i] = Number(r['visit']);
    conversion[i] = Number(r['conversion']);
    spend[i] = Number(r['spend']);
  });
  return { n, x, arm, visit, conversion, spend };
}

/** A value rounded to the printed number of decimals (REFERENCES.md prints rounded figures). */
function printed(value: number, decimals: number): number {
  return Math.round(value * 10 ** decimals) / 10 ** decimals;
}

/** A seeded 50 / 50 split of the given rows (Fisher–Yates on the seed's stream). */
function split(rows: Uint32Array, seed: number): { train: Uint32Array; test: Uint32Array } {
  const rng = stream(seed, 'hillstrom:split');
  const shuffled = rows.slice();
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = shuffled[i] as number;
    shuffled[i] = shuffled[j] as number;
    shuffled[j] = tmp;
  }
  const half = Math.floor(shuffled.length / 2);
  return { train: shuffled.slice(0, half).sort(), test: shuffled.slice(half).sort() };
}

const pick = (values: Uint8Array, rows: Uint32Array) => Uint8Array.from(rows, (i) => values[i] as number);

export async function validateHillstrom(dataDir: string, check: Check, learner: Learner = logistic): Promise<void> {
  console.log(`\n# Hillstrom e-mail experiment (${join(dataDir, 'hillstrom')})`);
  const d = read(dataDir);
  check('rows', d.n, 64_000);

  // ---- 1. the experiment as published -------------------------------------------------------------
  const stats = ARMS.map(() => ({ n: 0, visits: 0, conversions: 0, spend: 0 }));
  for (let i = 0; i < d.n; i++) {
    const s = stats[d.arm[i] as number] as (typeof stats)[number];
    s.n++;
    s.visits += d.visit[i] as number;
    s.conversions += d.conversion[i] as number;
    s.spend += d.spend[i] as number;
  }
  const rate = (a: Arm, what: 'visits' | 'conversions' | 'spend') => {
    const s = stats[ARMS.indexOf(a)] as (typeof stats)[number];
    return s[what] / s.n;
  };
  const published: Record<Arm, { n: number; visit: number; conversion: number; spend: number }> = {
    'Mens E-Mail': { n: 21_307, visit: 18.2757, conversion: 1.2531, spend: 1.4226 },
    'Womens E-Mail': { n: 21_387, visit: 15.14, conversion: 0.8837, spend: 1.0772 },
    'No E-Mail': { n: 21_306, visit: 10.6167, conversion: 0.5726, spend: 0.6528 },
  };
  const EPS = 1e-9; // only the binary representation of a rounded decimal
  for (const a of ARMS) {
    const p = published[a];
    check(`${a}: customers`, stats[ARMS.indexOf(a)]?.n ?? 0, p.n);
    check(`${a}: visit rate, % (4 decimals)`, printed(100 * rate(a, 'visits'), 4), p.visit, EPS);
    check(`${a}: conversion rate, % (4 decimals)`, printed(100 * rate(a, 'conversions'), 4), p.conversion, EPS);
    check(`${a}: spend per customer (4 decimals)`, printed(rate(a, 'spend'), 4), p.spend, EPS);
  }
  const effects: Record<'Mens E-Mail' | 'Womens E-Mail', { visit: number; conversion: number; spend: number }> = {
    'Mens E-Mail': { visit: 7.659, conversion: 0.681, spend: 0.77 },
    'Womens E-Mail': { visit: 4.523, conversion: 0.311, spend: 0.424 },
  };
  for (const a of ['Mens E-Mail', 'Womens E-Mail'] as const) {
    const e = effects[a];
    check(`${a} vs No E-Mail: visit, pp (3 decimals)`, printed(100 * (rate(a, 'visits') - rate('No E-Mail', 'visits')), 3), e.visit, EPS);
    check(`${a} vs No E-Mail: conversion, pp (3 decimals)`, printed(100 * (rate(a, 'conversions') - rate('No E-Mail', 'conversions')), 3), e.conversion, EPS);
    check(`${a} vs No E-Mail: spend per customer (3 decimals)`, printed(rate(a, 'spend') - rate('No E-Mail', 'spend'), 3), e.spend, EPS);
  }

  // ---- 2. uplift models on the visit outcome --------------------------------------------------------
  const seed = 42;
  const designs: { name: string; treated: (arm: number) => boolean; rows: Uint32Array }[] = [
    {
      name: 'Mens E-Mail vs No E-Mail',
      treated: (a) => a === 0,
      rows: Uint32Array.from({ length: d.n }, (_, i) => i).filter((i) => d.arm[i] !== 1),
    },
    {
      name: 'any e-mail vs No E-Mail',
      treated: (a) => a !== 2,
      rows: Uint32Array.from({ length: d.n }, (_, i) => i),
    },
  ];
  for (const design of designs) {
    const { train, test } = split(design.rows, seed);
    const treatment = Uint8Array.from({ length: d.n }, (_, i) => (design.treated(d.arm[i] as number) ? 1 : 0));
    const xTrain = takeRows(d.x, train), xTest = takeRows(d.x, test);
    const yTrain = pick(d.visit, train), yTest = pick(d.visit, test);
    const tTrain = pick(treatment, train), tTest = pick(treatment, test);
    let treatedTest = 0;
    for (const t of tTest) treatedTest += t;
    console.log(`\n## ${design.name}, outcome visit: seeded 50 / 50 split (seed ${seed}), ${train.length} rows to fit, ${test.length} held out (${treatedTest} treated)`);
    for (const method of ['two_model', 'class_transformation'] as UpliftMethod[]) {
      const t0 = Date.now();
      const model = fitUplift(method, xTrain, yTrain, tTrain, learner, { seed });
      const fitMs = Date.now() - t0;
      const u = model.predict(xTest);
      const qini = qiniAucScore(yTest, u, tTest);
      const auuc = upliftAucScore(yTest, u, tTest);
      const at30 = upliftAtK(yTest, u, tTest, 'overall', 0.3);
      console.log(`  ${model.kind} (treated share ${(100 * model.treatedShare).toFixed(1)} %, fit ${fitMs} ms): Qini coefficient ${qini.toFixed(5)}, AUUC ${auuc.toFixed(5)}, uplift@30 % ${(100 * at30).toFixed(3)} pp`);
      check(`${design.name}, ${model.kind}: Qini coefficient > 0 (better than random)`, qini > 0 ? 1 : 0, 1);
      if (design === designs[0] && method === 'two_model') {
        const report = groupEffects({ treatment: tTest, converted: yTest }, upliftBins(u, 10));
        console.log('  measured visit effect per decile of predicted uplift (held-out half):');
        for (const g of report.groups) {
          const dlt = g.conversionDifference;
          console.log(`    ${g.label.padEnd(9)} n ${String(g.n).padStart(5)}  ${(100 * (dlt.value ?? NaN)).toFixed(1).padStart(5)} pp (${(100 * (dlt.low ?? NaN)).toFixed(1)} to ${(100 * (dlt.high ?? NaN)).toFixed(1)})  ${g.verdict}`);
        }
      }
    }
  }
}
