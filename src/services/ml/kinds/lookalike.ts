/**
 * Lookalikes (docs/models.md): every profile with events ranked by resemblance to the current members
 * of a seed segment (a classifier of seed vs a sample of the rest, or kNN cosine similarity for small
 * seeds); the best `size` profiles outside the seed are the lookalike audience, a ready segment.
 */
import { InputError } from '../../../domain/errors.js';
import type { LookalikeConfig } from '../../../domain/ml/configs.js';
import { lookalike } from '../../../domain/ml/lookalike.js';
import { applyPipeline, fitPipeline, type RawColumns } from '../../../domain/ml/pipeline.js';
import { selectRows } from '../../../domain/ml/feature-sets.js';
import type { FitContext, FitOutput } from '../types.js';
import { learnerOf } from './learners.js';

export async function fitLookalike(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as LookalikeConfig;
  const seedMembers = await ctx.members(cfg.seedSegment);
  ctx.progress({ phase: 'features', done: 0, total: 0 });
  const snap = await ctx.snapshot(cfg.features, ctx.asOf, cfg.noProtected);
  const rows: number[] = [];
  for (let i = 0; i < snap.profileIds.length; i++) if (snap.seen[i] === 1 || seedMembers.has(snap.profileIds[i] as string)) rows.push(i);
  const ids = rows.map((i) => snap.profileIds[i] as string);
  const seedRows = ids.flatMap((p, r) => (seedMembers.has(p) ? [r] : []));
  if (seedRows.length < 5) throw new InputError('ml.data', `lookalike: segment '${cfg.seedSegment}' has ${seedRows.length} members with events; a seed needs at least 5`);
  if (ids.length - seedRows.length < cfg.size) throw new InputError('ml.config', `lookalike config.size ${cfg.size} is more than the ${ids.length - seedRows.length} profiles outside the seed`);
  const sel = selectRows(snap, rows);
  const raw: Record<string, Float64Array | Array<string | null>> = { ...sel.numeric, ...sel.categorical };
  const { spec } = fitPipeline(raw as RawColumns);
  const { x, names } = applyPipeline(spec, raw as RawColumns);
  ctx.progress({ phase: 'fit', done: 0, total: 1, detail: `seed ${seedRows.length} profiles of ${ids.length}` });
  const r = lookalike(x, seedRows, { seed: cfg.seed, learner: learnerOf(cfg.learner), top: cfg.size, progress: (p) => ctx.progress({ ...p, phase: `fit: ${p.phase}` }) });
  const chosen = new Set(r.top.map((t) => t.index));
  const traits = ids.map((_, i) => {
    if (Number.isNaN(r.scores[i] as number)) return undefined; // the seed itself
    return {
      [`${ctx.name}_similarity`]: Math.round((r.scores[i] as number) * 1e4) / 1e4,
      [`${ctx.name}_percentile`]: Math.round((r.percentiles[i] as number) * 10) / 10,
      [`${ctx.name}_member`]: chosen.has(i) ? 1 : 0,
    };
  });
  const importance = r.model ? Array.from(r.model.importance(), (v, j) => ({ feature: names[j] ?? String(j), importance: Math.round(v * 1e4) / 1e4 })).sort((a, b) => b.importance - a.importance).slice(0, 10) : null;
  return {
    training: { asOf: new Date(ctx.asOf).toISOString(), seedSegment: cfg.seedSegment, seed: r.seedSize, profiles: ids.length, negatives: r.negatives, features: names.length },
    artifact: { pipeline: spec, method: r.method },
    metrics: {
      summary: `${cfg.size} profiles most like the ${r.seedSize} members of '${cfg.seedSegment}' (${r.method === 'classifier' ? 'a classifier of the seed against the rest' : 'cosine similarity to the seed'}).`,
      method: r.method, audience: chosen.size, lowestScoreInAudience: r.top.length ? r.top[r.top.length - 1]?.score ?? null : null,
      ...(importance ? { whatMakesTheSeedDistinct: importance } : {}),
    },
    profileIds: ids,
    traits,
    score: r.scores,
    segments: [{
      key: `${ctx.name}_audience`, name: `${ctx.name}: lookalikes of ${cfg.seedSegment}`,
      description: `The ${cfg.size} profiles outside '${cfg.seedSegment}' most like its members (lookalike model ${ctx.name}; trait ${ctx.name}_member).`,
      condition: { type: 'trait', trait: `${ctx.name}_member`, op: 'eq', value: 1 },
    }],
  };
}
