/** The behavioural segmentation library: every built-in model, by id (docs/behavioural.md). */
import type { BehaviouralModel } from './model.js';
import { lifecycleModel } from './lifecycle.js';
import { rfmModel } from './rfm.js';
import { usageModel } from './usage.js';
import { loyaltyModel } from './loyalty.js';
import { buyingModel } from './buying.js';
import { enrichmentModel } from './enrichment.js';
import { microModel } from './micro.js';
import { funnelModel } from './funnel.js';
import { occasionModel } from './occasion.js';
import { benefitModel } from './benefit.js';

export const BEHAVIOURAL_MODELS: ReadonlyArray<BehaviouralModel> = [rfmModel as BehaviouralModel, lifecycleModel as BehaviouralModel, usageModel as BehaviouralModel, loyaltyModel as BehaviouralModel, buyingModel as BehaviouralModel, enrichmentModel as BehaviouralModel, microModel as BehaviouralModel, funnelModel as BehaviouralModel, occasionModel as BehaviouralModel, benefitModel as BehaviouralModel];

export function behaviouralModel(id: string): BehaviouralModel | undefined {
  return BEHAVIOURAL_MODELS.find((m) => m.id === id);
}

export { groupSegmentKey, readySegments, transitions, NONE, type BehaviouralModel, type Classification, type Features, type ReadySegment } from './model.js';

/** Every trait key a model writes (its outputs and its previous-group trait) → the model's id. */
export function modelTraitKeys(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of BEHAVIOURAL_MODELS) {
    for (const t of m.traits) out.set(t.key, m.id);
    out.set(m.previousTrait, m.id);
  }
  return out;
}
