/** The behavioural segmentation library: every built-in model, by id (docs/behavioural.md). */
import type { BehaviouralModel } from './model.js';
import { lifecycleModel } from './lifecycle.js';
import { rfmModel } from './rfm.js';

export const BEHAVIOURAL_MODELS: ReadonlyArray<BehaviouralModel> = [rfmModel as BehaviouralModel, lifecycleModel as BehaviouralModel];

export function behaviouralModel(id: string): BehaviouralModel | undefined {
  return BEHAVIOURAL_MODELS.find((m) => m.id === id);
}

export { groupSegmentKey, readySegments, transitions, NONE, type BehaviouralModel, type Classification, type Features, type ReadySegment } from './model.js';
