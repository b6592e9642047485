/** The classifiers a predictive model can use, stored and loaded with the model, and per-profile top factors. */
import { gbt, loadGbt } from '../../../domain/ml/gbt.js';
import { loadLogistic, logistic } from '../../../domain/ml/logistic.js';
import type { BinaryClassifier, Learner, Matrix } from '../../../domain/ml/types.js';

export function learnerOf(name: 'gbt' | 'logistic'): Learner {
  return name === 'gbt' ? gbt : logistic;
}

/** A fitted classifier as JSON for the registry (kind + its own JSON). */
export function serializeClassifier(m: BinaryClassifier): { kind: string; json: unknown } {
  return { kind: m.kind, json: m.toJSON() };
}

export function loadClassifier(stored: { kind: string; json: unknown }): BinaryClassifier {
  return stored.kind === 'logistic' ? loadLogistic(stored.json) : loadGbt(stored.json);
}

/**
 * The three features that raise a profile's score most (positive log-odds contributions), as text
 * ("orders +0.82, purchase_recency_days +0.40"), for the profiles most likely to be acted on: the top
 * decile by score, at most `limit` of them. Exact contributions (TreeSHAP for trees) cost a tree walk
 * per feature subset path, too much for every profile of a million.
 */
export function topFactors(model: BinaryClassifier, x: Matrix, names: readonly string[], scores: Float64Array, limit = 20_000): Map<number, string> {
  const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const take = Math.min(limit, Math.ceil(order.length / 10));
  const out = new Map<number, string>();
  for (const row of order.slice(0, take)) {
    const { values } = model.contributions(x, row);
    const top = Array.from(values.keys()).filter((j) => (values[j] as number) > 0).sort((a, b) => (values[b] as number) - (values[a] as number)).slice(0, 3);
    if (top.length) out.set(row, top.map((j) => `${names[j] ?? j} +${(values[j] as number).toFixed(2)}`).join(', '));
  }
  return out;
}
