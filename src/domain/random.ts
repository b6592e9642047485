/**
 * Seeded randomness for everything that must replay (the demo generator, model fits, sampling):
 * mulberry32, seeded per stream with a 32-bit FNV-1a hash of its name, so customer 17 of seed 42 is the
 * same whatever the number of customers generated, and a fit with seed 7 is the same on every machine.
 */
export type Rng = () => number;

export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function stream(seed: number, name: string): Rng {
  return mulberry32(hash32(`${seed}:${name}`));
}

/** Standard normal draw (Box–Muller; one of the pair is dropped to keep the stream stateless). */
export function normal(rng: Rng): number {
  let u = rng();
  while (u <= Number.EPSILON) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
