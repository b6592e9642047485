/** The fit of each model kind (docs/models.md). */
import type { MlKind } from '../../../domain/ml/configs.js';
import type { KindFitter } from '../types.js';
import { fitClv } from './clv.js';
import { fitKMeansModel } from './kmeans.js';
import { fitLookalike } from './lookalike.js';
import { fitChurn, fitPropensity } from './predictive.js';
import { fitUpliftModel } from './uplift.js';

export const KIND_FITTERS: Record<MlKind, KindFitter> = {
  kmeans: fitKMeansModel,
  clv: fitClv,
  propensity: fitPropensity,
  churn: fitChurn,
  uplift: fitUpliftModel,
  lookalike: fitLookalike,
};
