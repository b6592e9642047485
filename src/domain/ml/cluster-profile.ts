/**
 * Cluster profiles: what a cluster is, in the raw units a marketer knows (euros, days, orders), not in
 * the standardised space the clustering ran in. Per cluster: size and share, mean and median of each
 * raw feature and the ratio of the mean to the overall mean, the features that distinguish it most
 * (standardised mean difference against the rest of the rows) and a short label suggestion built from
 * them, e.g. "high monetary, low recency days". Deterministic: ties go by feature order.
 */
import { InputError } from '../errors.js';
import type { Dataset } from './types.js';

export interface ProfileOptions {
  /** Distinguishing features listed per cluster (default 3). */
  top?: number;
  /** Features named in the label (default 2). */
  labelFeatures?: number;
  /**
   * Smallest |standardised mean difference| for a feature to count as distinguishing (default 0.5, a
   * "medium" effect in Cohen's terms: the cluster's mean is half a standard deviation from the rest).
   */
  minEffect?: number;
}

export interface FeatureProfile {
  feature: string;
  mean: number;
  median: number;
  /** Cluster mean / overall mean (null when the overall mean is 0). */
  ratio: number | null;
  /** (mean in cluster − mean of the other rows) / pooled sd; 0 when undefined. */
  smd: number;
  /** Non-missing values in the cluster. */
  count: number;
}

export interface ClusterProfile {
  cluster: number;
  size: number;
  share: number;
  features: FeatureProfile[];
  /** Up to `top` features with |smd| ≥ minEffect, largest first. */
  distinguishing: Array<{ feature: string; smd: number; direction: 'high' | 'low' }>;
  /** e.g. "high monetary, low recency days"; "typical" when nothing stands out. */
  label: string;
}

export interface ClusterProfiles {
  overall: Array<{ feature: string; mean: number; median: number; count: number }>;
  clusters: ClusterProfile[];
}

function median(values: Float64Array): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort();
  const h = s.length >> 1;
  return s.length % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

/** A feature name as words: "recency_days" → "recency days". */
export function humanise(feature: string): string {
  return feature.replace(/[_\-.]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Profiles of clusters 0 … k-1 over raw features (`raw.x`, NaN = missing, skipped per feature).
 * Means of a cluster with no value for a feature are NaN.
 */
export function profileClusters(raw: Dataset, labels: Int32Array, k: number, opts: ProfileOptions = {}): ClusterProfiles {
  const { x, names } = raw;
  const { rows: n, cols: d, data } = x;
  if (labels.length !== n) throw new InputError('bad_input', `${labels.length} labels for ${n} rows`);
  if (names.length !== d) throw new InputError('bad_input', `${names.length} names for ${d} columns`);
  if (!Number.isInteger(k) || k < 1) throw new InputError('bad_option', `k must be an integer ≥ 1, got ${k}`, 'k');
  const top = opts.top ?? 3;
  const labelFeatures = opts.labelFeatures ?? 2;
  const minEffect = opts.minEffect ?? 0.5;
  const size = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const l = labels[i] as number;
    if (!(l >= 0 && l < k)) throw new InputError('bad_input', `row ${i} has label ${l}, outside 0 … ${k - 1}`);
    size[l] = (size[l] as number) + 1;
  }
  // Per feature and cluster: count, sum, sum of squares (for the pooled sd) and the values (median).
  const overall: ClusterProfiles['overall'] = [];
  const perCluster: FeatureProfile[][] = Array.from({ length: k }, () => []);
  for (let f = 0; f < d; f++) {
    const cnt = new Float64Array(k);
    const sum = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const v = data[i * d + f] as number;
      if (Number.isNaN(v)) continue;
      const l = labels[i] as number;
      cnt[l] = (cnt[l] as number) + 1;
      sum[l] = (sum[l] as number) + v;
    }
    const means = new Float64Array(k);
    for (let l = 0; l < k; l++) means[l] = (cnt[l] as number) > 0 ? (sum[l] as number) / (cnt[l] as number) : 0;
    // Within-cluster sums of squares about each cluster's mean (two passes: no cancellation on large
    // amounts); the rest's sum of squares follows by the parallel-axis rule.
    const ssw = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const v = data[i * d + f] as number;
      if (Number.isNaN(v)) continue;
      const l = labels[i] as number;
      const t = v - (means[l] as number);
      ssw[l] = (ssw[l] as number) + t * t;
    }
    // Values grouped by cluster in one buffer (offsets by count), for the medians.
    const offset = new Float64Array(k + 1);
    for (let l = 0; l < k; l++) offset[l + 1] = (offset[l] as number) + (cnt[l] as number);
    const grouped = new Float64Array(offset[k] as number);
    const fill = Float64Array.from(offset.subarray(0, k));
    for (let i = 0; i < n; i++) {
      const v = data[i * d + f] as number;
      if (Number.isNaN(v)) continue;
      const l = labels[i] as number;
      grouped[fill[l] as number] = v;
      fill[l] = (fill[l] as number) + 1;
    }
    let tc = 0;
    let ts = 0;
    for (let l = 0; l < k; l++) {
      tc += cnt[l] as number;
      ts += sum[l] as number;
    }
    const totalMean = tc > 0 ? ts / tc : NaN;
    const name = names[f] as string;
    overall.push({ feature: name, mean: totalMean, median: median(grouped), count: tc });
    for (let l = 0; l < k; l++) {
      const c = cnt[l] as number;
      const m = c > 0 ? (sum[l] as number) / c : NaN;
      const rc = tc - c;
      let smd = 0;
      if (c > 0 && rc > 0 && c + rc > 2) {
        const rm = (ts - (sum[l] as number)) / rc;
        let ssOut = 0;
        for (let o = 0; o < k; o++) if (o !== l) ssOut += (ssw[o] as number) + (cnt[o] as number) * ((means[o] as number) - rm) ** 2;
        const pooled = Math.sqrt(((ssw[l] as number) + ssOut) / (c + rc - 2));
        // Pooled sd at rounding level of the values: no real spread, no effect.
        if (pooled > 1e-12 * Math.max(1, Math.abs(totalMean))) smd = (m - rm) / pooled;
      }
      perCluster[l]?.push({
        feature: name,
        mean: m,
        median: median(grouped.subarray(offset[l] as number, offset[l + 1] as number)),
        ratio: totalMean !== 0 && Number.isFinite(totalMean) && c > 0 ? m / totalMean : null,
        smd,
        count: c,
      });
    }
  }
  const clusters = perCluster.map((features, cluster): ClusterProfile => {
    const distinguishing = features
      .map((fp, order) => ({ fp, order }))
      .filter(({ fp }) => Math.abs(fp.smd) >= minEffect)
      .sort((a, b) => Math.abs(b.fp.smd) - Math.abs(a.fp.smd) || a.order - b.order)
      .slice(0, top)
      .map(({ fp }) => ({ feature: fp.feature, smd: fp.smd, direction: fp.smd > 0 ? ('high' as const) : ('low' as const) }));
    const words = distinguishing.slice(0, labelFeatures).map((t) => `${t.direction} ${humanise(t.feature)}`);
    return { cluster, size: size[cluster] as number, share: n > 0 ? (size[cluster] as number) / n : 0, features, distinguishing, label: words.length ? words.join(', ') : 'typical' };
  });
  return { overall, clusters };
}
