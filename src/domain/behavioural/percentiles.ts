/**
 * Percentile ranks for the behavioural models that cut by shares rather than by fixed scores (usage
 * tiers, buying-behaviour axes): the share of the other scored values a value beats, in the same
 * tie-consistent reading as the rank scores of scores.ts ("beats at least 90 % of the active
 * profiles"), so two customers with equal values always land on the same side of a cut.
 */
import { countBelow } from './scores.js';

/** For each value, the share of all values strictly below it: 0 ≤ p < 1; NaN values are not allowed. */
export function shareBelow(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  return Float64Array.from(countBelow(values), (below) => below / n);
}

/** The lowest value whose share below reached `cut` (null when none did): a cut read in units. */
export function lowestReaching(values: ArrayLike<number>, shares: ArrayLike<number>, cut: number): number | null {
  let best: number | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if ((shares[i] as number) >= cut && (best === null || v < best)) best = v;
  }
  return best;
}
