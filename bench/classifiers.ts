/**
 * Classifier benchmark (issue 5): our gradient-boosted trees and logistic regression against
 * scikit-learn's HistGradientBoostingClassifier and LogisticRegression on the same data, one core each.
 *
 *   npm run bench -- classifiers [--rows N] [--cols N] [--trees N] [--seed N] [--no-sklearn]
 *
 * Data: a seeded non-linear propensity problem (default 1M training rows × 30 features, 100,000 test
 * rows): Gaussian features, 5 % missing in two of them, an outcome from a logit with an interaction
 * (an AND of two features), a threshold, a quadratic and linear terms, and missingness that carries
 * signal. The matrices are written as raw float64 to a temporary folder that
 * `bench/classifiers_sklearn.py` reads with numpy.fromfile under `/usr/bin/python3` (Debian's
 * scikit-learn), with OMP_NUM_THREADS=1.
 *
 * Both GBTs use the same settings: `trees` rounds, learning rate 0.1, 31 leaves, depth ≤ 8, 20 rows per
 * leaf, L2 1, 255 bins, no early stopping. Measured: fit wall time, time per tree, test AUC, scoring
 * time of the test rows; ours also the TreeSHAP time per row.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitGbt } from '../src/domain/ml/gbt.js';
import { fitLogistic } from '../src/domain/ml/logistic.js';
import { rocAuc } from '../src/domain/ml/metrics.js';
import { matrix, type Matrix } from '../src/domain/ml/types.js';
import { normal, stream } from '../src/domain/random.js';

export interface ClassifierBenchOptions { rows?: number; cols?: number; trees?: number; seed?: number; sklearn?: boolean; testRows?: number }

/**
 * The benchmark's propensity problem (see the file comment). The interaction is an AND rather than an
 * XOR: an XOR has no marginal signal, so greedy trees find it only by chance and the test AUC of any
 * GBT swings by ±0.02 with the binning, which would drown the comparison.
 */
export function propensityData(rows: number, cols: number, seed: number, name: string): { x: Matrix; y: Uint8Array } {
  if (cols < 6) throw new Error('the benchmark data need at least 6 columns');
  const rng = stream(seed, `classifier bench ${name}`);
  const x = matrix(rows, cols);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const b = i * cols;
    for (let j = 0; j < cols; j++) x.data[b + j] = normal(rng);
    const [a, c, d, e, f] = [x.data[b], x.data[b + 1], x.data[b + 2], x.data[b + 3], x.data[b + 4]] as number[] as [number, number, number, number, number];
    const missing = rng() < 0.05;
    let eta = -1.2 + (a > 0 && c > 0 ? 0.9 : 0) + (d > 0.5 ? 0.7 : 0) - 0.3 * e * e + 0.4 * f + 0.2 * (x.data[b + 5] as number);
    if (missing) {
      x.data[b + 4] = Number.NaN;
      eta += 0.8;
    }
    if (rng() < 0.05) x.data[b + 5] = Number.NaN;
    y[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { x, y };
}

const round = (v: number, digits = 3) => Number(v.toPrecision(digits + 2));

interface SklearnSide { sklearn: string; hgb: { seconds: number; trees: number; auc: number; predictSeconds: number }; logistic: { seconds: number; auc: number } }

export async function runClassifierBench(opts: ClassifierBenchOptions = {}) {
  const rows = opts.rows ?? 1_000_000;
  const cols = opts.cols ?? 30;
  const trees = opts.trees ?? 100;
  const seed = opts.seed ?? 1;
  const testRows = opts.testRows ?? 100_000;
  const t0 = performance.now();
  const train = propensityData(rows, cols, seed, 'train');
  const test = propensityData(testRows, cols, seed, 'test');
  console.error(`generated ${rows} × ${cols} (+ ${testRows} test rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const settings = { trees, learningRate: 0.1, maxLeaves: 31, maxDepth: 8, minSamplesLeaf: 20, l2: 1, maxBins: 255, earlyStopping: false as const, seed };
  let start = performance.now();
  const gbt = fitGbt(train.x, train.y, { ...settings, progress: (p) => { if (p.phase === 'fit' && p.done % 25 === 0) console.error(`  gbt: ${p.detail} (${((performance.now() - start) / 1000).toFixed(1)} s)`); } });
  const gbtMs = performance.now() - start;
  start = performance.now();
  const pTest = gbt.predict(test.x);
  const predictMs = performance.now() - start;
  start = performance.now();
  const shapRows = 1_000;
  for (let r = 0; r < shapRows; r++) gbt.contributions(test.x, r);
  const shapMs = performance.now() - start;
  start = performance.now();
  const lr = fitLogistic(train.x, train.y);
  const lrMs = performance.now() - start;
  const ours = {
    gbt: {
      seconds: round(gbtMs / 1000),
      msPerTree: round(gbtMs / gbt.info.grown),
      trees: gbt.info.grown,
      auc: round(rocAuc(test.y, pTest), 4),
      predictSeconds: round(predictMs / 1000),
      treeShapMsPerRow: round(shapMs / shapRows),
    },
    logistic: { seconds: round(lrMs / 1000), iterations: lr.info.iterations, auc: round(rocAuc(test.y, lr.predict(test.x)), 4) },
  };
  console.error(`ours: ${JSON.stringify(ours)}`);

  let sklearn: SklearnSide | { error: string } | undefined;
  if (opts.sklearn !== false) {
    const dir = mkdtempSync(join(tmpdir(), 'segmenta-clsbench-'));
    try {
      const write = (name: string, a: Float64Array | Uint8Array) => writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      write('x_train.f64', train.x.data);
      write('y_train.u8', train.y);
      write('x_test.f64', test.x.data);
      write('y_test.u8', test.y);
      const script = join(import.meta.dirname, 'classifiers_sklearn.py');
      const out = execFileSync('/usr/bin/python3', [script, dir, String(rows), String(testRows), String(cols), String(trees), String(seed)], {
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
        maxBuffer: 1 << 20,
      });
      sklearn = JSON.parse(out.toString()) as SklearnSide;
    } catch (e) {
      sklearn = { error: e instanceof Error ? e.message.split('\n')[0] ?? 'failed' : String(e) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    data: { rows, cols, testRows, trees, positiveRate: round(train.y.reduce((s, v) => s + v, 0) / rows) },
    ours,
    sklearn,
    ratio: sklearn && 'hgb' in sklearn ? { gbtTime: round(gbtMs / 1000 / sklearn.hgb.seconds), gbtAucDifference: round(ours.gbt.auc - sklearn.hgb.auc, 3) } : undefined,
  };
}
