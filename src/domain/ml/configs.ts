/**
 * What a user asks for when fitting a statistical model (docs/models.md): one zod schema per kind, with
 * the defaults a demanding user would pick, and the trait keys each kind writes (prefixed by the
 * model's name, so two churn models can live side by side). Pure.
 */
import { z } from 'zod';
import { SEGMENT_KEY } from '../segments/ast.js';
import { FeatureSpecSchema } from './feature-sets.js';

export const ML_KINDS = ['kmeans', 'clv', 'propensity', 'churn', 'lookalike', 'uplift'] as const;
export type MlKind = (typeof ML_KINDS)[number];

/** A model's name: it prefixes its trait keys, so it follows the trait-key rule and stays short. */
export const MODEL_NAME = /^[a-z][a-z0-9_]{0,39}$/;

const seed = z.number().int().min(0).max(2 ** 31 - 1).default(1);
const learner = z.enum(['gbt', 'logistic']).default('gbt');
const segmentKey = z.string().regex(SEGMENT_KEY, 'a segment key (lower-case letters, digits and _)');
const features = FeatureSpecSchema.default(FeatureSpecSchema.parse({}));
/** A model marked so refuses protected traits among its features (docs/models.md, fairness). */
const noProtected = z.boolean().default(false);

export const KMeansConfig = z.strictObject({
  seed, features, noProtected,
  /** A fixed k, or 'auto': the best silhouette between kMin and kMax (the elbow is reported too). */
  k: z.union([z.number().int().min(2).max(50), z.literal('auto')]).default('auto'),
  kMin: z.number().int().min(2).max(50).default(2),
  kMax: z.number().int().min(2).max(50).default(8),
  nInit: z.number().int().min(1).max(50).default(4),
  algorithm: z.enum(['auto', 'lloyd', 'elkan']).default('auto'),
  maxIter: z.number().int().min(1).max(1000).default(300),
}).refine((c) => c.kMin <= c.kMax, { message: 'kMin must not exceed kMax', path: ['kMin'] });

export const ClvConfig = z.strictObject({
  seed,
  /** BG/NBD (default: robust, fast) or Pareto/NBD. */
  model: z.enum(['bgnbd', 'paretonbd']).default('bgnbd'),
  purchaseEvent: z.string().min(1).max(200).default('Order Completed'),
  /** Expected purchases and predicted CLV over the next N days. */
  horizonDays: z.number().int().min(1).max(3650).default(365),
  /** Annual discount rate of future revenue (0.1 = 10 % a year). */
  annualDiscountRate: z.number().min(0).max(1).default(0.1),
  /** When > 0, the last N days are held out: the fit ends N days ago and its predictions are checked against them. */
  holdoutDays: z.number().int().min(0).max(3650).default(0),
});

const predictive = {
  seed, features, noProtected, learner,
  /** Only profiles in this segment are scored and trained on (default: every active profile). */
  population: segmentKey.optional(),
  minPositives: z.number().int().min(1).default(50),
  minNegatives: z.number().int().min(1).default(50),
};

export const PropensityConfig = z.strictObject({
  ...predictive,
  /** The behaviour predicted: performing this event in the prediction window. */
  target: z.strictObject({ event: z.string().min(1).max(200) }),
  predictionDays: z.number().int().min(1).max(730).default(30),
});

export const ChurnConfig = z.strictObject({
  ...predictive,
  /** Who is a customer (performed it in the feature window) and what they stop doing (none in the prediction window). */
  activeEvent: z.string().min(1).max(200).default('Order Completed'),
  predictionDays: z.number().int().min(1).max(730).default(90),
});

export const LookalikeConfig = z.strictObject({
  seed, features, noProtected, learner,
  /** The seed audience: current members of this segment. */
  seedSegment: segmentKey,
  /** How many profiles (not in the seed) make the lookalike audience. */
  size: z.number().int().min(1).max(10_000_000).default(1000),
});

export const UpliftConfig = z.strictObject({
  seed, features, noProtected, learner,
  /** Contacted profiles and the held-out ones (current members of each segment). */
  treatment: segmentKey,
  control: segmentKey,
  /** When contact started: features as of then, outcome in the days after. */
  start: z.iso.datetime({ offset: true }).or(z.iso.date()),
  outcome: z.strictObject({ event: z.string().min(1).max(200) }),
  outcomeDays: z.number().int().min(1).max(365).default(14),
  method: z.enum(['two_model', 'class_transformation']).default('two_model'),
  /** Share of rows held out to measure the model (Qini, AUUC); the final scores come from a fit on all rows. */
  testShare: z.number().min(0.1).max(0.9).default(0.5),
  /** Segments to measure the effect of contact in (e.g. the RFM groups): which ones does contact move? */
  effectsBy: z.array(segmentKey).max(50).default([]),
});

export const ML_CONFIGS = {
  kmeans: KMeansConfig, clv: ClvConfig, propensity: PropensityConfig, churn: ChurnConfig, lookalike: LookalikeConfig, uplift: UpliftConfig,
} as const;

export type KMeansConfig = z.infer<typeof KMeansConfig>;
export type ClvConfig = z.infer<typeof ClvConfig>;
export type PropensityConfig = z.infer<typeof PropensityConfig>;
export type ChurnConfig = z.infer<typeof ChurnConfig>;
export type LookalikeConfig = z.infer<typeof LookalikeConfig>;
export type UpliftConfig = z.infer<typeof UpliftConfig>;

/** The traits a model of a kind writes, prefixed with its name, with what each means. */
export function mlTraits(kind: MlKind, name: string): Array<{ key: string; description: string }> {
  const t = (suffix: string, description: string) => ({ key: `${name}_${suffix}`, description });
  switch (kind) {
    case 'kmeans':
      return [t('cluster', 'cluster id (stable across refits)'), t('cluster_label', 'the cluster\'s label from its distinguishing features'), t('cluster_distance', 'distance to the cluster centre (standardised features)')];
    case 'clv':
      return [
        t('p_alive', 'probability the customer is still active'), t('churn_probability', '1 − probability alive'),
        t('expected_purchases', 'expected purchases over the horizon'), t('next_order_date', 'expected date of the next order'),
        t('predicted_clv', 'predicted revenue over the horizon, discounted'), t('historic_clv', 'revenue so far'),
        t('aov', 'expected average order value (Gamma-Gamma)'), t('clv_percentile', 'percentile of predicted CLV (100 = top)'),
      ];
    case 'propensity':
    case 'churn':
      return [t('probability', kind === 'churn' ? 'probability of churning in the prediction window' : 'probability of the target behaviour in the prediction window'),
        t('percentile', 'percentile of the probability (100 = most likely)'), t('top_factors', 'the features that raise this profile\'s score most')];
    case 'lookalike':
      return [t('similarity', 'similarity to the seed audience (0–1)'), t('percentile', 'percentile of similarity'), t('member', '1 when in the lookalike audience (top N outside the seed), else 0')];
    case 'uplift':
      return [t('uplift', 'predicted change in the outcome rate from contact'), t('uplift_percentile', 'percentile of predicted uplift (100 = most moved)')];
  }
}
