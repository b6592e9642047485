/**
 * Customer clustering (docs/models.md): the default features of every profile with events, through the
 * feature pipeline (log for skewed amounts, standardisation, one-hot), k chosen by silhouette on a
 * seeded sample (the elbow reported beside it) unless fixed, k-means on both cores, cluster ids kept
 * stable across refits, a profile and label per cluster, PCA coordinates of a sample for plotting, and
 * one ready segment per cluster (its persona card is the segment's insights).
 */
import type { KMeansConfig } from '../../../domain/ml/configs.js';
import { stableClusterIds, type ClusterIdAssignment } from '../../../domain/ml/cluster-ids.js';
import { profileClusters } from '../../../domain/ml/cluster-profile.js';
import { chooseK, sampleIndices } from '../../../domain/ml/cluster-quality.js';
import { fitPca, projectPca } from '../../../domain/ml/pca.js';
import { applyPipeline, fitPipeline, parsePipelineSpec, type PipelineSpec, type RawColumns } from '../../../domain/ml/pipeline.js';
import { matrix, takeRows, type Matrix } from '../../../domain/ml/types.js';
import { fitKMeansParallel } from '../kmeans-parallel.js';
import { selectRows } from '../../../domain/ml/feature-sets.js';
import type { FitContext, FitOutput } from '../types.js';

/** Rows used to choose k and for the plot: silhouettes are O(n²), and a plot of a million points is a blur. */
const K_SAMPLE = 20_000;
const PLOT_POINTS = 2_000;

interface KMeansArtifact {
  pipeline: PipelineSpec;
  centres: number[][];
  ids: number[];
  nextFreeId: number;
  labels: string[];
}

export async function fitKMeansModel(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as KMeansConfig;
  ctx.progress({ phase: 'features', done: 0, total: 0 });
  const snap = await ctx.snapshot(cfg.features, ctx.asOf, cfg.noProtected);
  const rows: number[] = [];
  for (let i = 0; i < snap.profileIds.length; i++) if (snap.seen[i] === 1) rows.push(i);
  const sel = selectRows(snap, rows);
  const raw: Record<string, Float64Array | Array<string | null>> = { ...sel.numeric, ...sel.categorical };
  const { spec, notes } = fitPipeline(raw as RawColumns);
  const { x, names } = applyPipeline(spec, raw as RawColumns);

  let k: number;
  let selection: Record<string, unknown> | undefined;
  if (cfg.k === 'auto') {
    const sample = sampleIndices(x.rows, Math.min(K_SAMPLE, x.rows), cfg.seed);
    const chosen = chooseK(takeRows(x, sample), {
      kMin: cfg.kMin, kMax: Math.min(cfg.kMax, sample.length - 1), nInit: cfg.nInit, seed: cfg.seed, algorithm: cfg.algorithm, maxIter: cfg.maxIter,
      progress: (p) => ctx.progress({ ...p, phase: `choose k: ${p.phase}` }),
    });
    k = chosen.bestK;
    selection = { by: 'silhouette', sampleRows: sample.length, bestK: chosen.bestK, elbowK: chosen.elbowK, scores: chosen.scores };
  } else k = cfg.k;

  const fit = await fitKMeansParallel(x, { k, nInit: cfg.nInit, seed: cfg.seed, algorithm: cfg.algorithm, maxIter: cfg.maxIter, progress: (p) => ctx.progress({ ...p, phase: `k-means: ${p.phase}` }) });
  const ids = clusterIds(ctx, fit.labels, k, raw as RawColumns, fit.centres);
  const numericNames = Object.keys(snap.numeric);
  const rawNumeric = matrix(rows.length, numericNames.length);
  numericNames.forEach((name, j) => {
    const col = raw[name] as Float64Array;
    for (let r = 0; r < rows.length; r++) rawNumeric.data[r * numericNames.length + j] = col[r] as number;
  });
  const profiles = profileClusters({ x: rawNumeric, names: numericNames }, fit.labels, k);
  const labels = profiles.clusters.map((c) => c.label);

  // Distance of each row to its centre (standardised space).
  const dist = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    const c = fit.labels[r] as number;
    let s = 0;
    for (let j = 0; j < x.cols; j++) {
      const d = (x.data[r * x.cols + j] as number) - (fit.centres.data[c * x.cols + j] as number);
      s += d * d;
    }
    dist[r] = Math.sqrt(s);
  }
  const traits: Array<Record<string, string | number> | undefined> = new Array(snap.profileIds.length);
  rows.forEach((i, r) => {
    const c = fit.labels[r] as number;
    traits[i] = { [`${ctx.name}_cluster`]: ids.ids[c] as number, [`${ctx.name}_cluster_label`]: labels[c] ?? '', [`${ctx.name}_cluster_distance`]: Math.round((dist[r] as number) * 1000) / 1000 };
  });

  // Plot: PCA of a sample, with the centres in the same plane.
  const plotRows = sampleIndices(x.rows, Math.min(PLOT_POINTS, x.rows), cfg.seed + 1);
  const pca = fitPca(takeRows(x, sampleIndices(x.rows, Math.min(K_SAMPLE, x.rows), cfg.seed)), Math.min(2, x.cols));
  const pts = projectPca(pca, takeRows(x, plotRows));
  const ctr = projectPca(pca, fit.centres);
  const round3 = (v: number) => Math.round(v * 1000) / 1000;
  const coords = (m: Matrix, i: number) => [round3(m.data[i * m.cols] as number), round3(m.cols > 1 ? (m.data[i * m.cols + 1] as number) : 0)];

  const artifact: KMeansArtifact = {
    pipeline: spec, centres: Array.from({ length: k }, (_, c) => Array.from(fit.centres.data.subarray(c * x.cols, (c + 1) * x.cols))),
    ids: ids.ids, nextFreeId: ids.nextFreeId, labels,
  };
  const clusters = profiles.clusters.map((c) => ({ ...c, id: ids.ids[c.cluster] }));
  const summary = clusters.map((c) => `cluster ${c.id} (${(100 * c.share).toFixed(1)} %, ${c.size} profiles): ${c.label}`).join('\n');
  return {
    training: { asOf: new Date(ctx.asOf).toISOString(), rows: x.rows, features: names, pipeline: notes },
    artifact,
    metrics: {
      summary, k, inertia: fit.inertia, iterations: fit.iterations, converged: fit.converged, algorithm: fit.algorithm, runInertias: fit.runInertias,
      ...(selection ? { selection } : {}), idMatching: ids.matches, retiredIds: ids.retired, clusters,
      projection: {
        explainedVarianceRatio: Array.from(pca.explainedVarianceRatio), centres: Array.from({ length: k }, (_, c) => ({ id: ids.ids[c], xy: coords(ctr, c) })),
        points: Array.from(plotRows, (r, i) => ({ cluster: ids.ids[fit.labels[r] as number], xy: coords(pts, i) })),
      },
    },
    profileIds: snap.profileIds,
    traits,
    segments: clusters.map((c) => ({
      key: `${ctx.name}_cluster_${c.id}`, name: `${ctx.name}: cluster ${c.id} (${c.label})`,
      description: `Profiles k-means model ${ctx.name} puts in cluster ${c.id} ("${c.label}" when created; trait ${ctx.name}_cluster). Its insights are the persona card.`,
      condition: { type: 'trait', trait: `${ctx.name}_cluster`, op: 'eq', value: c.id },
    })),
  };
}

/**
 * Ids that stay with "the same" cluster across refits: the new clusters' centroids are computed in the
 * previous fit's pipeline space (the new pipeline's means and scales differ a little) and matched to the
 * previous centres (Hungarian algorithm, minimum total distance).
 */
function clusterIds(ctx: FitContext, labels: Int32Array, k: number, raw: RawColumns, centres: Matrix): ClusterIdAssignment {
  const prev = ctx.previous?.artifact as KMeansArtifact | undefined;
  if (!prev) return stableClusterIds(null, centres);
  let prevSpace: Matrix;
  try {
    prevSpace = applyPipeline(parsePipelineSpec(prev.pipeline), raw).x;
  } catch {
    return stableClusterIds(null, centres); // the features changed: new ids from scratch
  }
  const d = prevSpace.cols;
  if (prev.centres[0]?.length !== d) return stableClusterIds(null, centres);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let r = 0; r < prevSpace.rows; r++) {
    const c = labels[r] as number;
    counts[c] = (counts[c] as number) + 1;
    for (let j = 0; j < d; j++) sums[c * d + j] = (sums[c * d + j] as number) + (prevSpace.data[r * d + j] as number);
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) sums[c * d + j] = (sums[c * d + j] as number) / Math.max(1, counts[c] as number);
  return stableClusterIds({ ids: prev.ids, centres: matrix(prev.centres.length, d, Float64Array.from(prev.centres.flat())), nextFreeId: prev.nextFreeId }, matrix(k, d, sums));
}
