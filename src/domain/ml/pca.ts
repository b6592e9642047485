/**
 * Principal component analysis for the 2-D map of a clustering: rows and cluster centres projected on
 * the two directions of largest variance, with the share of the variance each direction shows (a map
 * showing 40 % of the variance can make distinct clusters look merged; the UI should say so).
 *
 * Own code because the domain takes no numeric package and the covariance matrix is small (features ×
 * features): the covariance is accumulated in one pass over the rows and diagonalised with the cyclic
 * Jacobi method, which is exact to rounding for symmetric matrices and needs no tuning. Each
 * component's sign is fixed so that its largest-magnitude loading is positive (the map does not flip
 * between refits).
 */
import { InputError } from '../errors.js';
import { matrix, type Matrix } from './types.js';

export interface PcaFit {
  /** Column means (subtracted before projecting). */
  mean: Float64Array;
  /** nComponents × cols, unit rows, by decreasing variance. */
  components: Matrix;
  /** Variance along each component (sample variance, n − 1). */
  explainedVariance: Float64Array;
  /** Share of the total variance along each component. */
  explainedVarianceRatio: Float64Array;
}

/** Fits the first `nComponents` (default 2, at most cols) principal components. */
export function fitPca(x: Matrix, nComponents = 2): PcaFit {
  const { rows: n, cols: d, data } = x;
  if (n < 2) throw new InputError('bad_input', `PCA needs at least 2 rows, got ${n}`);
  if (!Number.isInteger(nComponents) || nComponents < 1) throw new InputError('bad_option', `nComponents must be an integer ≥ 1, got ${nComponents}`, 'nComponents');
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) throw new InputError('bad_input', `PCA input has a missing or infinite value at row ${Math.floor(i / d)}, column ${i % d}`);
  const m = Math.min(nComponents, d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (data[i * d + j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = (data[i * d + j] as number) - (mean[j] as number);
    for (let a = 0; a < d; a++) {
      const ra = row[a] as number;
      for (let b = a; b < d; b++) cov[a * d + b] = (cov[a * d + b] as number) + ra * (row[b] as number);
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = (cov[a * d + b] as number) / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  const { values, vectors } = jacobiEigen(cov, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  let total = 0;
  for (let i = 0; i < d; i++) total += Math.max(0, values[i] as number);
  const components = matrix(m, d);
  const explainedVariance = new Float64Array(m);
  const explainedVarianceRatio = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    const e = order[c] as number;
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(vectors[j * d + e] as number) > Math.abs(vectors[big * d + e] as number) + 1e-12) big = j;
    const sign = (vectors[big * d + e] as number) < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) components.data[c * d + j] = sign * (vectors[j * d + e] as number);
    const v = Math.max(0, values[e] as number);
    explainedVariance[c] = v;
    explainedVarianceRatio[c] = total > 0 ? v / total : 0;
  }
  return { mean, components, explainedVariance, explainedVarianceRatio };
}

/** Coordinates of each row on the components (rows × nComponents); works for rows and for centres. */
export function projectPca(p: PcaFit, x: Matrix): Matrix {
  const d = p.mean.length;
  if (x.cols !== d) throw new InputError('bad_input', `PCA was fitted on ${d} columns, got ${x.cols}`);
  const m = p.components.rows;
  const out = matrix(x.rows, m);
  const comp = p.components.data;
  for (let i = 0; i < x.rows; i++) {
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += ((x.data[i * d + j] as number) - (p.mean[j] as number)) * (comp[c * d + j] as number);
      out.data[i * m + c] = s;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric d × d matrix by cyclic Jacobi rotations: values[i] with its
 * eigenvector in column i of `vectors` (row-major d × d).
 */
export function jacobiEigen(sym: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(sym);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += (a[i] as number) ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += (a[p * d + q] as number) ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q] as number;
        if (apq === 0) continue;
        const app = a[p * d + p] as number;
        const aqq = a[q * d + q] as number;
        // The rotation angle that zeroes a[p][q] (Numerical Recipes' stable form).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p] as number;
          const akq = a[k * d + q] as number;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k] as number;
          const aqk = a[q * d + k] as number;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p] as number;
          const vkq = v[k * d + q] as number;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i] as number;
  return { values, vectors: v };
}
