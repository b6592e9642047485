/**
 * Seeded randomness for the demo generator: the core generator lives in the domain
 * (`src/domain/random.ts`); here are the picking helpers the generator uses.
 */
import type { Rng } from '../domain/random.js';

export { hash32, mulberry32, normal, stream, type Rng } from '../domain/random.js';

export function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** Pick by weight: `[[value, weight], …]`. */
export function weighted<T>(rng: Rng, items: ReadonlyArray<readonly [T, number]>): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng() * total;
  for (const [v, w] of items) {
    r -= w;
    if (r < 0) return v;
  }
  const last = items[items.length - 1];
  if (!last) throw new Error('weighted pick from an empty list');
  return last[0];
}

/** Exponential waiting time with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng()) * mean;
}
