/**
 * The shapes every statistical model of `src/domain/ml` shares: a dense row-major matrix (one row per
 * profile, one column per feature), progress callbacks for long fits, and the binary-classifier
 * contract that propensity, churn, lookalike and uplift models are built on. Pure types and small
 * helpers; no I/O.
 *
 * Why a plain Float64Array and not a matrix library: fits run over a million rows, so the kernels
 * (k-means distances, tree histograms, likelihood sums) walk one contiguous buffer; a row of objects
 * would cost a pointer chase and ~10× the memory per value.
 */

/** A dense matrix, row-major: value (i, j) is `data[i * cols + j]`. NaN means "missing". */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** A matrix with its column names (feature names, in order). */
export interface Dataset {
  readonly x: Matrix;
  readonly names: readonly string[];
}

export function matrix(rows: number, cols: number, data?: Float64Array): Matrix {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) throw new Error(`bad matrix shape ${rows} × ${cols}`);
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) throw new Error(`matrix data has ${d.length} values, ${rows} × ${cols} needs ${rows * cols}`);
  return { rows, cols, data: d };
}

/** From an array of equal-length rows (tests and small fixtures). */
export function fromRows(rows: ReadonlyArray<ReadonlyArray<number>>): Matrix {
  const cols = rows[0]?.length ?? 0;
  const m = matrix(rows.length, cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`row ${i} has ${r.length} values, expected ${cols}`);
    m.data.set(r, i * cols);
  });
  return m;
}

/** Value (i, j). */
export function at(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j] as number;
}

/** A view of row i (no copy). */
export function rowOf(m: Matrix, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The rows at the given indices, copied into a new matrix (train / test splits, samples). */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = matrix(indices.length, m.cols);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    out.data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), k * m.cols);
  }
  return out;
}

/**
 * Progress of a long fit: the phase (e.g. "init", "iterate", "fit", "score"), work done out of total in
 * that phase (total 0 when unknown), and a short detail for humans ("k = 5, run 3 of 10").
 */
export interface FitProgressEvent {
  phase: string;
  done: number;
  total: number;
  detail?: string;
}
export type FitProgress = (p: FitProgressEvent) => void;

/** A fitted binary classifier. */
export interface BinaryClassifier {
  /** What it is ("gbt", "logistic", …), for the registry. */
  readonly kind: string;
  /** Probability of the positive class, one per row of x (x has the training columns, in order). */
  predict(x: Matrix): Float64Array;
  /** Global importance per column (non-negative, sums to 1 where any column matters). */
  importance(): Float64Array;
  /**
   * Per-row contributions to the prediction on the model's raw (log-odds) scale, one per column, plus the
   * base value: `base + Σ contributions = logit(predict(row))` (up to rounding).
   */
  contributions(x: Matrix, row: number): { base: number; values: Float64Array };
  /** The fitted model as JSON (the registry stores it; each kind has its loader). */
  toJSON(): unknown;
}

export interface LearnerOptions {
  /** Seed of every random choice of the fit (row / column sampling, initialisation). */
  seed?: number;
  /** Per-row weights (default 1). */
  weights?: Float64Array;
  progress?: FitProgress;
}

/** Fits a binary classifier: y[i] is 0 or 1 for row i of x. */
export type Learner = (x: Matrix, y: Uint8Array, opts?: LearnerOptions) => BinaryClassifier;
