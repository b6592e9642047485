/**
 * Customer lifetime value and churn by buy-till-you-die models (docs/models.md): each customer's purchase
 * days (whole UTC days, as the literature counts them) become the summary x (repeat purchase days),
 * t_x (first to last, in weeks) and T (first purchase to as-of, in weeks); BG/NBD or Pareto/NBD is fitted
 * by maximum likelihood, Gamma-Gamma on the repeat customers' mean repeat-order value, and every
 * customer gets P(alive), expected purchases, the next order date, expected order value and discounted
 * CLV over the horizon. With `holdoutDays`, a second fit ending that many days earlier is checked
 * against what customers really did since (cumulative tracking, conditional expectations).
 */
import type { ClvConfig } from '../../../domain/ml/configs.js';
import { fitBgNbd } from '../../../domain/ml/bgnbd.js';
import type { TransactionModel } from '../../../domain/ml/btyd-data.js';
import { scoreCustomers } from '../../../domain/ml/btyd-score.js';
import { conditionalExpectations } from '../../../domain/ml/btyd-diagnostics.js';
import { fitGammaGamma, type GammaGammaModel } from '../../../domain/ml/gamma-gamma.js';
import { fitParetoNbd } from '../../../domain/ml/pareto-nbd.js';
import { percentiles } from '../../../domain/ml/select.js';
import { InputError } from '../../../domain/errors.js';
import type { PurchaseSummaryRow } from '../../../ports/storage.js';
import type { FitContext, FitOutput } from '../types.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;

interface Summary {
  rows: PurchaseSummaryRow[];
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  m: Float64Array;
  revenue: Float64Array;
}

function summarise(rows: PurchaseSummaryRow[], end: number): Summary {
  const n = rows.length;
  const s: Summary = { rows, x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), m: new Float64Array(n), revenue: new Float64Array(n) };
  rows.forEach((r, i) => {
    const firstDay = Math.floor(r.first / DAY) * DAY;
    const lastDay = Math.floor(r.last / DAY) * DAY;
    s.x[i] = r.days - 1;
    s.tx[i] = (lastDay - firstDay) / WEEK;
    s.T[i] = Math.max((end - firstDay) / WEEK, s.tx[i] as number);
    s.m[i] = r.days > 1 ? Math.max(0, r.revenue - r.firstDayRevenue) / (r.days - 1) : 0;
    s.revenue[i] = r.revenue;
  });
  return s;
}

function fitTransactions(cfg: ClvConfig, s: Summary, progress: FitContext['progress']): TransactionModel & { params: unknown; logLikelihood: number } {
  const opts = { seed: cfg.seed, progress: (p: { phase: string; done: number; total: number; detail?: string }) => progress({ ...p, phase: `${cfg.model}: ${p.phase}` }) };
  return cfg.model === 'paretonbd' ? fitParetoNbd({ x: s.x, tx: s.tx, T: s.T }, opts) : fitBgNbd({ x: s.x, tx: s.tx, T: s.T }, opts);
}

function fitSpend(cfg: ClvConfig, s: Summary): GammaGammaModel | null {
  const idx: number[] = [];
  for (let i = 0; i < s.x.length; i++) if ((s.x[i] as number) >= 1 && (s.m[i] as number) > 0) idx.push(i);
  if (idx.length < 10) return null; // too few repeat customers with order values to estimate spend
  return fitGammaGamma({ x: Float64Array.from(idx, (i) => s.x[i] as number), m: Float64Array.from(idx, (i) => s.m[i] as number) }, { seed: cfg.seed });
}

export async function fitClv(ctx: FitContext): Promise<FitOutput> {
  const cfg = ctx.config as ClvConfig;
  const horizon = cfg.horizonDays / 7;
  let holdout: Record<string, unknown> | undefined;
  if (cfg.holdoutDays > 0) {
    ctx.progress({ phase: 'holdout', done: 0, total: 2, detail: `fit ending ${cfg.holdoutDays} days before as-of` });
    const calEnd = ctx.asOf - cfg.holdoutDays * DAY;
    const rows = await ctx.store.purchaseSummary(ctx.ws, { event: cfg.purchaseEvent, calibrationEnd: calEnd, asOf: ctx.asOf });
    const cal = summarise(rows, calEnd);
    if (rows.length < 20) throw new InputError('ml.data', `clv: only ${rows.length} customers bought '${cfg.purchaseEvent}' before the holdout starts; a fit needs at least 20`);
    const model = fitTransactions(cfg, cal, ctx.progress);
    const cond = conditionalExpectations(model, { x: cal.x, tx: cal.tx, T: cal.T, holdoutX: Float64Array.from(rows, (r) => r.holdoutDays), holdoutLength: cfg.holdoutDays / 7 });
    const actual = cond.totalActual;
    const predicted = cond.totalPredicted;
    holdout = {
      calibrationEnd: new Date(calEnd).toISOString(), customers: rows.length, holdoutWeeks: cfg.holdoutDays / 7,
      actualRepeatPurchases: actual, predictedRepeatPurchases: Math.round(predicted * 10) / 10,
      percentError: actual > 0 ? Math.round((10000 * (predicted - actual)) / actual) / 100 : null,
      byFrequency: cond.buckets, mae: cond.mae, rmse: cond.rmse,
    };
  }
  ctx.progress({ phase: 'summary', done: 0, total: 0 });
  const rows = await ctx.store.purchaseSummary(ctx.ws, { event: cfg.purchaseEvent, calibrationEnd: ctx.asOf, asOf: ctx.asOf });
  if (rows.length < 20) throw new InputError('ml.data', `clv: only ${rows.length} customers bought '${cfg.purchaseEvent}'; a fit needs at least 20`);
  const s = summarise(rows, ctx.asOf);
  const model = fitTransactions(cfg, s, ctx.progress);
  const spend = fitSpend(cfg, s);
  const scores = scoreCustomers(model, { x: s.x, tx: s.tx, T: s.T, m: s.m, revenue: s.revenue }, spend, {
    horizon, unitDays: 7, annualDiscountRate: cfg.annualDiscountRate, progress: (p) => ctx.progress({ ...p, phase: 'score' }),
  });
  const clv = scores.clv ?? new Float64Array(rows.length).fill(Number.NaN);
  const pct = percentiles(clv);
  const r2 = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
  const traits = rows.map((_, i) => {
    const t: Record<string, string | number> = {
      [`${ctx.name}_p_alive`]: r2(scores.pAlive[i] as number, 4), [`${ctx.name}_churn_probability`]: r2(scores.churn[i] as number, 4),
      [`${ctx.name}_expected_purchases`]: r2(scores.expectedPurchases[i] as number, 3), [`${ctx.name}_historic_clv`]: r2(s.revenue[i] as number),
    };
    const next = scores.expectedNextOrder[i] as number;
    if (Number.isFinite(next)) t[`${ctx.name}_next_order_date`] = new Date(ctx.asOf + next * WEEK).toISOString().slice(0, 10);
    if (scores.expectedOrderValue) t[`${ctx.name}_aov`] = r2(scores.expectedOrderValue[i] as number);
    if (Number.isFinite(clv[i] as number)) {
      t[`${ctx.name}_predicted_clv`] = r2(clv[i] as number);
      t[`${ctx.name}_clv_percentile`] = r2(pct[i] as number, 1);
    }
    return t;
  });
  let alive = 0;
  let expected = 0;
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    alive += scores.pAlive[i] as number;
    expected += scores.expectedPurchases[i] as number;
    total += Number.isFinite(clv[i] as number) ? (clv[i] as number) : 0;
  }
  return {
    training: { asOf: new Date(ctx.asOf).toISOString(), customers: rows.length, repeatCustomers: s.x.filter((x) => x > 0).length, unit: 'weeks', purchaseEvent: cfg.purchaseEvent },
    artifact: { model: cfg.model, params: model.params, spend: spend?.params ?? null },
    metrics: {
      summary: (model.boundary ? `${model.boundary.message}\n` : '') + `${rows.length} customers: on average ${(100 * alive / rows.length).toFixed(1)} % likely still active; ${expected.toFixed(0)} purchases expected over the next ${cfg.horizonDays} days` +
        (spend ? `, worth ${total.toFixed(0)} discounted.` : ' (too few repeat customers with order values for a spend model: no CLV).'),
      params: model.params, logLikelihood: model.logLikelihood, spendParams: spend?.params ?? null, spendLogLikelihood: spend?.logLikelihood ?? null,
      // On a boundary of the parameter space (e.g. everyone equally likely to lapse: a + b → ∞) the fit says so.
      ...(model.boundary ? { boundary: model.boundary } : {}), ...(spend?.boundary ? { spendBoundary: spend.boundary } : {}),
      ...(holdout ? { holdout } : {}),
    },
    profileIds: rows.map((r) => r.profileId),
    traits,
    score: clv,
  };
}
