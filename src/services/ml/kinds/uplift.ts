/**
 * Uplift (docs/models.md): who does contact move? Contacted profiles (a treatment segment) and held-out
 * ones (a control segment) with features as of the contact start; the outcome is the event in the days
 * after. A seeded share of rows is held out to measure the model (Qini coefficient, AUUC, uplift@k, and
 * the measured effect per decile of predicted uplift with intervals and a verdict); the scores profiles
 * get come from a fit on all rows.
 */
import { InputError } from '../../../domain/errors.js';
import type { UpliftConfig } from '../../../domain/ml/configs.js';
import { designMatrix, fitDesign, selectRows } from '../../../domain/ml/feature-sets.js';
import { percentiles } from '../../../domain/ml/select.js';
import { stratifiedSplit } from '../../../domain/ml/split.js';
import { fitUplift } from '../../../domain/ml/uplift.js';
import { groupEffects, upliftBins } from '../../../domain/ml/uplift-effects.js';
import { evaluateUplift } from '../../../domain/ml/uplift-metrics.js';
import { isoUtc } from '../../../domain/segments/compile.js';
import { computedFeatures } from '../../features.js';
import type { FitContext, FitOutput } from '../types.js';
import { learnerOf } from './learners.js';

const DAY = 86_400_000;

export async function fitUpliftModel(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as UpliftConfig;
  const start = Date.parse(isoUtc(cfg.start));
  if (!Number.isFinite(start)) throw new InputError('ml.config', `uplift config.start '${cfg.start}' is not an ISO-8601 date or date-time`);
  const end = start + cfg.outcomeDays * DAY;
  if (end > ctx.asOf) throw new InputError('ml.config', `uplift: the outcome window (${cfg.start} + ${cfg.outcomeDays} days) is not over yet at ${new Date(ctx.asOf).toISOString()}`);
  const treated = await ctx.members(cfg.treatment);
  const control = await ctx.members(cfg.control);
  const both = [...treated].filter((p) => control.has(p)).length;
  if (both) throw new InputError('ml.config', `uplift: ${both} profiles are in both '${cfg.treatment}' and '${cfg.control}'; the arms must not overlap`);
  ctx.progress({ phase: 'features', done: 0, total: 0, detail: `as of ${cfg.start}` });
  const snap = await ctx.snapshot(cfg.features, start, cfg.noProtected);
  const idx: number[] = [];
  snap.profileIds.forEach((p, i) => { if (treated.has(p) || control.has(p)) idx.push(i); });
  const ids = idx.map((i) => snap.profileIds[i] as string);
  const t = Uint8Array.from(ids, (p) => (treated.has(p) ? 1 : 0));
  const outcome = await computedFeatures(ctx.store, ctx.ws, [{
    key: 'y', kind: 'count', event: cfg.outcome.event, window: { type: 'between', from: new Date(start + 1).toISOString(), to: new Date(end).toISOString() },
  }], end);
  const converted = new Set<string>();
  const ycol = outcome.columns['y'];
  outcome.profileIds.forEach((p, i) => { if ((ycol?.[i] ?? 0) > 0) converted.add(p); });
  const y = Uint8Array.from(ids, (p) => (converted.has(p) ? 1 : 0));
  const arms = { treated: t.reduce((a, v) => a + v, 0), control: 0 };
  arms.control = t.length - arms.treated;
  if (arms.treated < 50 || arms.control < 50) throw new InputError('ml.data', `uplift needs at least 50 profiles per arm with events before the start; treated ${arms.treated}, control ${arms.control}`);

  const features = selectRows(snap, idx);
  const design = fitDesign(features);
  const { x, names } = designMatrix(design, features);
  const learner = learnerOf(cfg.learner);
  // Stratified on arm × outcome so both halves keep the experiment's balance.
  const split = stratifiedSplit(Uint8Array.from(t, (v, i) => v * 2 + (y[i] as number)).map((v) => (v === 3 || v === 0 ? 1 : 0)), cfg.testShare, cfg.seed);
  const train = Array.from(split.train);
  const test = Array.from(split.validation);
  const take = (a: Uint8Array, r: number[]) => Uint8Array.from(r, (i) => a[i] as number);
  const sub = (r: number[]) => designMatrix(design, features, r).x;
  ctx.progress({ phase: 'fit', done: 0, total: 2, detail: `${cfg.method} (${cfg.learner}) on ${train.length} profiles` });
  const measured = fitUplift(cfg.method, sub(train), take(y, train), take(t, train), learner, { seed: cfg.seed });
  const uTest = measured.predict(sub(test));
  const evaluation = evaluateUplift(take(y, test), uTest, take(t, test));
  const effects = groupEffects({ treatment: take(t, test), converted: take(y, test) }, upliftBins(uTest, 10));
  // The measured effect of contact in each segment asked for, over all rows of the experiment: the
  // experiment's randomisation holds within any segment defined before the start.
  const segmentGroups = [];
  for (const key of cfg.effectsBy) {
    const members = await ctx.members(key);
    segmentGroups.push({ label: key, rows: ids.flatMap((p, i) => (members.has(p) ? [i] : [])) });
  }
  const effectsBySegment = segmentGroups.length ? groupEffects({ treatment: t, converted: y }, segmentGroups) : null;

  ctx.progress({ phase: 'fit', done: 1, total: 2, detail: `refit on all ${ids.length} profiles` });
  const final = fitUplift(cfg.method, x, y, t, learner, { seed: cfg.seed });
  const u = final.predict(x);
  const pct = percentiles(u);
  const traits = ids.map((_, i) => ({ [`${ctx.name}_uplift`]: Math.round((u[i] as number) * 1e4) / 1e4, [`${ctx.name}_uplift_percentile`]: Math.round((pct[i] as number) * 10) / 10 }));
  return {
    training: { start: new Date(start).toISOString(), outcomeEnd: new Date(end).toISOString(), treated: arms.treated, control: arms.control, converted: converted.size, features: names.length, trainRows: train.length, testRows: test.length },
    artifact: { method: cfg.method, learner: cfg.learner, design },
    metrics: {
      summary: `Qini coefficient ${evaluation.qini.toFixed(4)} on ${test.length} held-out profiles (0 = random targeting, 1 = perfect); ` +
        `overall effect ${effects.overall.conversionDifference.value === null ? 'unknown' : `${(100 * effects.overall.conversionDifference.value).toFixed(2)} pp`} (${effects.overall.verdictText}).`,
      qini: evaluation.qini, auuc: evaluation.auuc, upliftAt: evaluation.upliftAt, qiniCurve: evaluation.qiniCurve, perfectQiniCurve: evaluation.perfectQiniCurve,
      effectsByDecile: effects,
      ...(effectsBySegment ? { effectsBySegment } : {}),
    },
    profileIds: ids,
    traits,
    score: u,
  };
}
