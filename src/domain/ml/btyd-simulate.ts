/**
 * Seeded simulation from the buy-till-you-die models (BG/NBD, Pareto/NBD, Gamma-Gamma spend), for
 * parameter-recovery tests and the benchmark: the data are drawn from each model's own generative
 * story, so a correct fit must find the parameters back within its sampling error.
 *
 * Gamma draws use Marsaglia & Tsang (2000) (with the U^(1/k) boost for shape < 1); written here
 * because the pure core takes no numeric dependency. Every customer draws from its own stream
 * (`stream(seed, name:i)`), so customer i is the same whatever the number of customers simulated.
 */
import { InputError } from '../errors.js';
import { normal, stream, type Rng } from '../random.js';
import type { BgNbdParams } from './bgnbd.js';
import type { GammaGammaParams } from './gamma-gamma.js';
import type { ParetoNbdParams } from './pareto-nbd.js';

/** Gamma(shape, rate) draw. */
export function gammaDraw(rng: Rng, shape: number, rate: number): number {
  if (!(shape > 0) || !(rate > 0)) throw new Error(`gamma draw: shape ${shape} and rate ${rate} must be positive`);
  if (shape < 1) {
    let u = rng();
    while (u <= 0) u = rng();
    return gammaDraw(rng, shape + 1, rate) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(rng);
    const v0 = 1 + c * z;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0;
    let u = rng();
    while (u <= 0) u = rng();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return (d * v) / rate;
  }
}

/** Beta(a, b) draw. */
export function betaDraw(rng: Rng, a: number, b: number): number {
  const x = gammaDraw(rng, a, 1);
  const y = gammaDraw(rng, b, 1);
  return x / (x + y);
}

function expDraw(rng: Rng, rate: number): number {
  let u = rng();
  while (u <= 0) u = rng();
  return -Math.log(u) / rate;
}

export interface SimulatedCustomers {
  n: number;
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Repeat purchases in (T, T + holdout] (zeros when no holdout). */
  holdoutX: Float64Array;
  /** Whether the customer was still alive at T (the truth P(alive) estimates). */
  aliveAtT: Uint8Array;
}

export interface SimulateOptions {
  seed: number;
  /** Ages of the customers at the end of calibration (the number of customers is T.length). */
  T: ArrayLike<number>;
  /** Length of the holdout window after each customer's T (default 0). */
  holdout?: number;
  /**
   * Grid on which times are observed (e.g. 1/7 for days when the unit is weeks). Real dates are
   * floored to days at both ends, so the observed t_x is floor(u + t_x / grid) · grid with u uniform
   * (where in its day the first purchase fell): unbiased, unlike flooring t_x itself. T is taken as
   * given. Default 0: continuous time.
   */
  grid?: number;
}

function checkT(T: ArrayLike<number>): void {
  for (let i = 0; i < T.length; i++) {
    const v = T[i] as number;
    if (!(v >= 0) || !Number.isFinite(v)) throw new InputError('bad_summary', `simulate: T[${i}] = ${v} must be finite and ≥ 0`);
  }
}

function snap(t: number, grid: number, u: number): number {
  return grid > 0 ? Math.floor(t / grid + u) * grid : t;
}

/** Customers drawn from BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b), drop-out after each repeat purchase. */
export function simulateBgNbd(params: BgNbdParams, opts: SimulateOptions): SimulatedCustomers {
  checkT(opts.T);
  const n = opts.T.length;
  const H = opts.holdout ?? 0;
  const grid = opts.grid ?? 0;
  const out: SimulatedCustomers = { n, x: new Float64Array(n), tx: new Float64Array(n), T: Float64Array.from(opts.T), holdoutX: new Float64Array(n), aliveAtT: new Uint8Array(n) };
  for (let i = 0; i < n; i++) {
    const rng = stream(opts.seed, `bgnbd:${i}`);
    const u = rng();
    const lambda = gammaDraw(rng, params.r, params.alpha);
    const p = betaDraw(rng, params.a, params.b);
    const T = out.T[i] as number;
    let t = 0;
    let x = 0;
    let tx = 0;
    let hx = 0;
    let alive = true;
    for (;;) {
      t += expDraw(rng, lambda);
      if (t > T + H) break;
      if (t <= T) {
        x++;
        tx = t;
      } else hx++;
      if (rng() < p) {
        alive = t > T; // died after a holdout purchase: was alive at T
        break;
      }
    }
    out.x[i] = x;
    out.tx[i] = x > 0 ? Math.min(snap(tx, grid, u), T) : 0;
    out.holdoutX[i] = hx;
    out.aliveAtT[i] = alive ? 1 : 0;
  }
  return out;
}

/** Customers drawn from Pareto/NBD: λ ~ Gamma(r, α), lifetime ~ Exp(μ), μ ~ Gamma(s, β). */
export function simulateParetoNbd(params: ParetoNbdParams, opts: SimulateOptions): SimulatedCustomers {
  checkT(opts.T);
  const n = opts.T.length;
  const H = opts.holdout ?? 0;
  const grid = opts.grid ?? 0;
  const out: SimulatedCustomers = { n, x: new Float64Array(n), tx: new Float64Array(n), T: Float64Array.from(opts.T), holdoutX: new Float64Array(n), aliveAtT: new Uint8Array(n) };
  for (let i = 0; i < n; i++) {
    const rng = stream(opts.seed, `pareto-nbd:${i}`);
    const u = rng();
    const lambda = gammaDraw(rng, params.r, params.alpha);
    const mu = gammaDraw(rng, params.s, params.beta);
    const life = expDraw(rng, mu);
    const T = out.T[i] as number;
    const end = Math.min(life, T + H);
    let t = 0;
    let x = 0;
    let tx = 0;
    let hx = 0;
    for (;;) {
      t += expDraw(rng, lambda);
      if (t > end) break;
      if (t <= T) {
        x++;
        tx = t;
      } else hx++;
    }
    out.x[i] = x;
    out.tx[i] = x > 0 ? Math.min(snap(tx, grid, u), T) : 0;
    out.holdoutX[i] = hx;
    out.aliveAtT[i] = life > T ? 1 : 0;
  }
  return out;
}

/**
 * Mean repeat-transaction values drawn from Gamma-Gamma for customers with x repeat transactions:
 * ν ~ Gamma(q, γ), and the mean of x Gamma(p, ν) values is Gamma(p x, x ν). m = 0 where x = 0.
 */
export function simulateGammaGamma(params: GammaGammaParams, x: ArrayLike<number>, seed: number): Float64Array {
  const m = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    if (xi <= 0) continue;
    const rng = stream(seed, `gamma-gamma:${i}`);
    const nu = gammaDraw(rng, params.q, params.gamma);
    m[i] = gammaDraw(rng, params.p * xi, xi * nu);
  }
  return m;
}
