/**
 * Propensity and churn models (docs/models.md): supervised classifiers on features as of a snapshot and
 * a target observed in the prediction window after it.
 *
 * Time-based validation: with H the prediction window, a model is trained on the snapshot at
 * asOf − 2H (target in the following H) and measured on the snapshot at asOf − H (target up to asOf),
 * data it never saw and from a later time, as it will be used. The model that scores profiles is then
 * refitted on the later snapshot (the freshest behaviour) and applied to features as of asOf.
 */
import { InputError } from '../../../domain/errors.js';
import type { ChurnConfig, PropensityConfig } from '../../../domain/ml/configs.js';
import { designMatrix, fitDesign, selectRows, type AssembledFeatures } from '../../../domain/ml/feature-sets.js';
import { calibration, liftTable, logLoss, qualityGrade, rocAuc } from '../../../domain/ml/metrics.js';
import { percentiles } from '../../../domain/ml/select.js';
import { requireSufficient } from '../../../domain/ml/sufficiency.js';
import { computedFeatures } from '../../features.js';
import type { FitContext, FitOutput, Snapshot } from '../types.js';
import { learnerOf, serializeClassifier, topFactors } from './learners.js';

const DAY = 86_400_000;

interface Labelled {
  features: AssembledFeatures;
  profileIds: string[];
  y: Uint8Array;
}

/** Rows of a snapshot in the population, as a sub-table. */
function subset(s: Snapshot, keep: (i: number) => boolean): { rows: number[]; features: AssembledFeatures; profileIds: string[] } {
  const rows: number[] = [];
  for (let i = 0; i < s.profileIds.length; i++) if (keep(i)) rows.push(i);
  return { rows, features: selectRows(s, rows), profileIds: rows.map((i) => s.profileIds[i] as string) };
}

/** Per profile, how many times it performed `event` in (from, to]. */
async function outcomeCounts(ctx: FitContext, event: string, from: number, to: number): Promise<Map<string, number>> {
  const read = await computedFeatures(ctx.store, ctx.ws, [{
    key: 'outcome', kind: 'count', event, window: { type: 'between', from: new Date(from + 1).toISOString(), to: new Date(to).toISOString() },
  }], to);
  const col = read.columns['outcome'];
  const out = new Map<string, number>();
  read.profileIds.forEach((p, i) => { const v = col?.[i] as number; if (v > 0) out.set(p, v); });
  return out;
}

interface TargetSpec {
  /** Who is in the population at a snapshot. */
  inPopulation(s: Snapshot, i: number): boolean;
  /** Positive label from the outcome count in the window. */
  positive(count: number): boolean;
  event: string;
  outcome: string;
}

async function labelled(ctx: FitContext, cfg: PropensityConfig | ChurnConfig, target: TargetSpec, at: number, members: Set<string> | undefined): Promise<Labelled> {
  const snap = await ctx.snapshot(cfg.features, at, cfg.noProtected);
  const sub = subset(snap, (i) => target.inPopulation(snap, i) && (!members || members.has(snap.profileIds[i] as string)));
  const counts = await outcomeCounts(ctx, target.event, at, at + cfg.predictionDays * DAY);
  const y = Uint8Array.from(sub.profileIds, (p) => (target.positive(counts.get(p) ?? 0) ? 1 : 0));
  return { features: sub.features, profileIds: sub.profileIds, y };
}

function positives(y: Uint8Array): number {
  let s = 0;
  for (const v of y) s += v;
  return s;
}

async function fitPredictive(ctx: FitContext, cfg: PropensityConfig | ChurnConfig, target: TargetSpec): Promise<FitOutput> {
  const H = cfg.predictionDays * DAY;
  const t1 = ctx.asOf - 2 * H;
  const t2 = ctx.asOf - H;
  const members = cfg.population ? await ctx.members(cfg.population) : undefined;
  ctx.progress({ phase: 'features', done: 0, total: 3, detail: 'training snapshot' });
  const train = await labelled(ctx, cfg, target, t1, members);
  ctx.progress({ phase: 'features', done: 1, total: 3, detail: 'validation snapshot' });
  const valid = await labelled(ctx, cfg, target, t2, members);
  const design = fitDesign(train.features);
  const learner = learnerOf(cfg.learner);
  const { x: xTrain, names } = designMatrix(design, train.features);
  // The training snapshot needs a full feature window before it and two prediction windows after it.
  const sufficiency = requireSufficient({
    y: train.y, validationY: valid.y, x: xTrain, names,
    history: { days: await historyDays(ctx), featureWindowDays: cfg.features.windowDays, predictionWindowDays: 2 * cfg.predictionDays },
  }, { minPositives: cfg.minPositives, minNegatives: cfg.minNegatives });
  ctx.progress({ phase: 'fit', done: 0, total: 2, detail: `${cfg.learner} on ${train.y.length} profiles, ${positives(train.y)} ${target.outcome}` });
  const model = learner(xTrain, train.y, { seed: cfg.seed, progress: (p) => ctx.progress({ ...p, phase: `fit: ${p.phase}` }) });
  const pValid = model.predict(designMatrix(design, valid.features).x);
  const auc = rocAuc(valid.y, pValid);
  const lift = liftTable(valid.y, pValid);
  const grade = qualityGrade(auc, { topDecileLift: lift[0]?.lift, validationPositives: positives(valid.y), outcome: target.outcome });

  // The scoring model: the same learner on the later snapshot.
  ctx.progress({ phase: 'fit', done: 1, total: 2, detail: `refit on ${valid.y.length} profiles` });
  const designFinal = fitDesign(valid.features);
  const final = learner(designMatrix(designFinal, valid.features).x, valid.y, { seed: cfg.seed });
  ctx.progress({ phase: 'features', done: 2, total: 3, detail: 'scoring snapshot' });
  const now = await ctx.snapshot(cfg.features, ctx.asOf, cfg.noProtected);
  const scored = subset(now, (i) => target.inPopulation(now, i) && (!members || members.has(now.profileIds[i] as string)));
  ctx.progress({ phase: 'score', done: 0, total: scored.profileIds.length });
  const { x: xNow, names: finalNames } = designMatrix(designFinal, scored.features);
  const p = final.predict(xNow);
  const pct = percentiles(p);
  const factors = topFactors(final, xNow, finalNames, p);
  const traits = scored.profileIds.map((_, i) => {
    const t: Record<string, string | number> = { [`${ctx.name}_probability`]: round(p[i] as number, 4), [`${ctx.name}_percentile`]: round(pct[i] as number, 1) };
    const f = factors.get(i);
    if (f) t[`${ctx.name}_top_factors`] = f;
    return t;
  });
  const importance = ranked(final.importance(), finalNames);
  return {
    training: {
      trainSnapshot: iso(t1), validationSnapshot: iso(t2), scoredAt: iso(ctx.asOf), predictionDays: cfg.predictionDays, featureWindowDays: cfg.features.windowDays,
      trainRows: train.y.length, trainPositives: positives(train.y), validationRows: valid.y.length, validationPositives: positives(valid.y), scored: scored.profileIds.length,
      features: names.length,
    },
    artifact: { design: designFinal, model: serializeClassifier(final) },
    metrics: {
      summary: `${grade.explanation}${grade.warnings.length ? `\n${grade.warnings.join('\n')}` : ''}`,
      auc: round(auc, 4), grade: grade.grade, logLoss: round(logLoss(valid.y, pValid), 4), baseRate: round(positives(valid.y) / Math.max(1, valid.y.length), 4),
      lift, calibration: calibration(valid.y, pValid), importance: importance.slice(0, 15), warnings: [...sufficiency.warnings, ...grade.warnings],
    },
    profileIds: scored.profileIds,
    traits,
    score: p,
  };
}

/** Days between the workspace's first event and now (a history shorter than the windows cannot be trained on). */
async function historyDays(ctx: FitContext): Promise<number> {
  const read = await computedFeatures(ctx.store, ctx.ws, [{ key: 'first', kind: 'days_since_first', event: '*' }], ctx.asOf);
  let max = 0;
  for (const v of read.columns['first'] ?? []) if (v > max) max = v;
  return max;
}

function ranked(values: Float64Array, names: string[]): Array<{ feature: string; importance: number }> {
  return names.map((feature, i) => ({ feature, importance: round(values[i] as number, 4) })).sort((a, b) => b.importance - a.importance || (a.feature < b.feature ? -1 : 1));
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function fitPropensity(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as PropensityConfig;
  return fitPredictive(ctx, cfg, {
    event: cfg.target.event, outcome: `profiles with ${cfg.target.event}`,
    inPopulation: (s, i) => s.seen[i] === 1,
    positive: (n) => n > 0,
  });
}

export async function fitChurn(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as ChurnConfig;
  if (cfg.activeEvent !== cfg.features.purchaseEvent) {
    throw new InputError('ml.config', `churn config.activeEvent '${cfg.activeEvent}' must be the features' purchaseEvent ('${cfg.features.purchaseEvent}'): the population is who did it in the feature window`);
  }
  return fitPredictive(ctx, cfg, {
    event: cfg.activeEvent, outcome: 'churners',
    // Customers: at least one active event in the feature window before the snapshot.
    inPopulation: (s, i) => (s.numeric['orders']?.[i] ?? 0) > 0,
    positive: (n) => n === 0,
  });
}

