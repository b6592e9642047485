/**
 * Minimisers for smooth functions of a few parameters: BFGS with a strong-Wolfe line search (analytic
 * or finite-difference gradients), Nelder–Mead with restarts, and `minimize`, which runs BFGS and falls
 * back to Nelder–Mead restarts plus a BFGS polish when BFGS stalls.
 *
 * Written here (not a package) because the pure core takes no numeric dependency, and the BTYD fits
 * need something small and predictable: a handful of parameters (on a log scale so they stay
 * positive), an objective that costs one pass over up to a million rows, so the number of evaluations
 * matters more than anything else. BFGS with analytic gradients converges in a few dozen evaluations.
 *
 * Nothing here returns NaN silently: a non-finite objective value during a search is treated as +∞
 * (the step is shortened); a non-finite value at the start, or no progress at all, gives a result
 * with `converged: false` and a message saying why.
 */
import { stream } from '../random.js';

/**
 * The function to minimise. When `grad` is given, write the gradient into it (length = x.length) and
 * return the value; when it is null, return the value only.
 */
export type Objective = (x: Float64Array, grad: Float64Array | null) => number;

export interface MinimizeOptions {
  /** 'analytic': the objective fills the gradient; 'central' / 'forward': finite differences. Default 'analytic'. */
  gradient?: 'analytic' | 'central' | 'forward';
  /** Stop when the largest absolute gradient component is below this (default 1e-8). */
  gradTolerance?: number;
  /** Stop when successive values differ by less than this × (1 + |f|) (default 1e-14). */
  fTolerance?: number;
  /** Iteration budget of each BFGS run (default 200). */
  maxIterations?: number;
  /** Largest change of any coordinate in one line search (default 4: a factor e^4 on a log scale). */
  maxStep?: number;
  /** Nelder–Mead restarts when BFGS does not converge (default 3). */
  restarts?: number;
  /** Seed of the restarts' random simplex orientation and of the start perturbations. */
  seed?: number;
  /** Called once per iteration. */
  onIteration?: (iteration: number, f: number, gradNorm: number) => void;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  /** Largest absolute gradient component at x (NaN only when no finite value was ever found). */
  gradNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  method: 'bfgs' | 'nelder-mead' | 'nelder-mead+bfgs';
  message: string;
}

/** Central (or forward) difference gradient of a value-only function. Returns f(x). */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, out: Float64Array, scheme: 'central' | 'forward' = 'central'): number {
  const fx = f(x);
  const xt = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    // Step ~ eps^(1/3) for central (balances truncation against rounding), eps^(1/2) for forward.
    const h = (scheme === 'central' ? 6e-6 : 1.5e-8) * Math.max(1, Math.abs(xi));
    xt[i] = xi + h;
    const fp = f(xt);
    if (scheme === 'central') {
      xt[i] = xi - h;
      const fm = f(xt);
      out[i] = (fp - fm) / (2 * h);
    } else {
      out[i] = (fp - fx) / h;
    }
    xt[i] = xi;
  }
  return fx;
}

function normInf(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] as number));
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Wraps the objective so every call is counted and a non-finite value becomes +∞. */
class Counted {
  evaluations = 0;
  private readonly valueOnly: (x: Float64Array) => number;
  constructor(private readonly f: Objective, private readonly scheme: 'analytic' | 'central' | 'forward') {
    this.valueOnly = (x) => {
      this.evaluations++;
      const v = this.f(x, null);
      return Number.isFinite(v) ? v : Infinity;
    };
  }
  value(x: Float64Array): number {
    return this.valueOnly(x);
  }
  /** Value and gradient; the gradient is left all-NaN-free only when the value is finite. */
  valueGrad(x: Float64Array, g: Float64Array): number {
    if (this.scheme === 'analytic') {
      this.evaluations++;
      const v = this.f(x, g);
      if (!Number.isFinite(v)) return Infinity;
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i] as number)) return Infinity;
      return v;
    }
    const v = numericGradient(this.valueOnly, x, g, this.scheme);
    if (!Number.isFinite(v)) return Infinity;
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i] as number)) return Infinity;
    return v;
  }
}

interface LinePoint { alpha: number; f: number; d: number; x: Float64Array; g: Float64Array }

/**
 * Strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6) with safeguarded cubic
 * interpolation. Returns the accepted point, or null when no step gives sufficient decrease.
 */
function lineSearch(obj: Counted, x: Float64Array, f0: number, g0: Float64Array, p: Float64Array, alpha0: number, alphaMax: number): LinePoint | null {
  const c1 = 1e-4;
  const c2 = 0.9;
  const d0 = dot(g0, p);
  const n = x.length;
  const at = (alpha: number): LinePoint => {
    const xn = new Float64Array(n);
    for (let i = 0; i < n; i++) xn[i] = (x[i] as number) + alpha * (p[i] as number);
    const g = new Float64Array(n);
    const f = obj.valueGrad(xn, g);
    return { alpha, f, d: Number.isFinite(f) ? dot(g, p) : NaN, x: xn, g };
  };
  const zoom = (lo: LinePoint, hi: LinePoint): LinePoint | null => {
    for (let k = 0; k < 30; k++) {
      let alpha: number;
      const width = hi.alpha - lo.alpha;
      if (Number.isFinite(hi.f) && Number.isFinite(hi.d)) {
        // Cubic interpolation through (lo.f, lo.d) and (hi.f, hi.d).
        const d1 = lo.d + hi.d - (3 * (lo.f - hi.f)) / (lo.alpha - hi.alpha);
        const disc = d1 * d1 - lo.d * hi.d;
        if (disc >= 0) {
          const d2 = Math.sign(hi.alpha - lo.alpha) * Math.sqrt(disc);
          alpha = hi.alpha - (hi.alpha - lo.alpha) * ((hi.d + d2 - d1) / (hi.d - lo.d + 2 * d2));
        } else alpha = lo.alpha + width / 2;
      } else alpha = lo.alpha + width / 2;
      const a = Math.min(lo.alpha, hi.alpha);
      const b = Math.max(lo.alpha, hi.alpha);
      if (!Number.isFinite(alpha) || alpha < a + 0.1 * (b - a) || alpha > b - 0.1 * (b - a)) alpha = (a + b) / 2;
      const pt = at(alpha);
      if (!Number.isFinite(pt.f) || pt.f > f0 + c1 * alpha * d0 || pt.f >= lo.f) {
        hi = pt;
      } else {
        if (Math.abs(pt.d) <= -c2 * d0) return pt;
        if (pt.d * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = pt;
      }
      if (Math.abs(hi.alpha - lo.alpha) < 1e-16 * Math.max(1, lo.alpha)) break;
    }
    return lo.alpha > 0 ? lo : null;
  };
  const start: LinePoint = { alpha: 0, f: f0, d: d0, x, g: g0 };
  let prev = start;
  let alpha = Math.min(alpha0, alphaMax);
  for (let i = 0; i < 30; i++) {
    const pt = at(alpha);
    if (!Number.isFinite(pt.f) || pt.f > f0 + c1 * alpha * d0 || (i > 0 && pt.f >= prev.f)) return zoom(prev, pt);
    if (Math.abs(pt.d) <= -c2 * d0) return pt;
    if (pt.d >= 0) return zoom(pt, prev);
    prev = pt;
    if (alpha >= alphaMax) return pt;
    alpha = Math.min(2 * alpha, alphaMax);
  }
  return prev.alpha > 0 ? prev : null;
}

/** BFGS on the inverse Hessian, from x0. */
export function bfgs(f: Objective, x0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const obj = new Counted(f, opts.gradient ?? 'analytic');
  const r = bfgsRun(obj, Float64Array.from(x0), opts);
  return { ...r, evaluations: obj.evaluations };
}

function bfgsRun(obj: Counted, x0: Float64Array, opts: MinimizeOptions): Omit<MinimizeResult, 'evaluations'> {
  const n = x0.length;
  const gtol = opts.gradTolerance ?? 1e-8;
  const ftol = opts.fTolerance ?? 1e-14;
  const maxIter = opts.maxIterations ?? 200;
  const maxStep = opts.maxStep ?? 4;
  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(n);
  let fx = obj.valueGrad(x, g);
  if (!Number.isFinite(fx)) {
    return { x, f: NaN, gradNorm: NaN, iterations: 0, converged: false, method: 'bfgs', message: 'the objective (or its gradient) is not finite at the starting point' };
  }
  const H = new Float64Array(n * n);
  const resetH = (scale: number) => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
  };
  resetH(1);
  let firstStep = true;
  let smallChanges = 0;
  const p = new Float64Array(n);
  for (let iter = 1; iter <= maxIter; iter++) {
    const gn = normInf(g);
    opts.onIteration?.(iter, fx, gn);
    if (gn <= gtol) return { x, f: fx, gradNorm: gn, iterations: iter - 1, converged: true, method: 'bfgs', message: `gradient norm ${gn.toExponential(2)} ≤ ${gtol}` };
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s -= (H[i * n + j] as number) * (g[j] as number);
      p[i] = s;
    }
    let slope = dot(p, g);
    // Predicted decrease of the quadratic model, ½ gᵀHg: once it is below the rounding of f, no line
    // search can show progress any more (typical at 1e-8 gradients on a million-row mean).
    if (!firstStep && slope < 0 && -0.5 * slope <= 1e-14 * (1 + Math.abs(fx)) && gn <= 1e-4) {
      return { x, f: fx, gradNorm: gn, iterations: iter - 1, converged: true, method: 'bfgs', message: `predicted decrease ${(-0.5 * slope).toExponential(2)} below the rounding of f (gradient norm ${gn.toExponential(2)})` };
    }
    if (!(slope < 0)) {
      // Not a descent direction (H lost positive definiteness to rounding): steepest descent.
      resetH(1);
      for (let i = 0; i < n; i++) p[i] = -(g[i] as number);
      slope = dot(p, g);
    }
    const pn = normInf(p);
    const alphaMax = (2.5 * maxStep) / pn;
    const alpha0 = firstStep ? Math.min(1, 1 / pn) : 1;
    const pt = lineSearch(obj, x, fx, g, p, Math.min(alpha0, maxStep / pn), alphaMax);
    if (!pt) {
      if (firstStep || gn <= 1e-5) return { x, f: fx, gradNorm: gn, iterations: iter, converged: gn <= 1e3 * gtol, method: 'bfgs', message: `line search found no decrease (gradient norm ${gn.toExponential(2)})` };
      // Retry once from a fresh Hessian approximation before giving up.
      resetH(1);
      firstStep = true;
      continue;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (pt.x[i] as number) - (x[i] as number);
      y[i] = (pt.g[i] as number) - (g[i] as number);
    }
    const change = fx - pt.f;
    x = pt.x;
    g = pt.g;
    const fPrev = fx;
    fx = pt.f;
    const sy = dot(s, y);
    if (sy > 1e-300) {
      if (firstStep) resetH(sy / dot(y, y));
      // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
      const rho = 1 / sy;
      const Hy = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let t = 0;
        for (let j = 0; j < n; j++) t += (H[i * n + j] as number) * (y[j] as number);
        Hy[i] = t;
      }
      const yHy = dot(y, Hy);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] = (H[i * n + j] as number) - rho * ((Hy[i] as number) * (s[j] as number) + (s[i] as number) * (Hy[j] as number)) + (rho * rho * yHy + rho) * (s[i] as number) * (s[j] as number);
        }
      }
    }
    firstStep = false;
    if (Math.abs(change) <= ftol * (1 + Math.abs(fPrev))) {
      smallChanges++;
      if (smallChanges >= 3) {
        const gn2 = normInf(g);
        return { x, f: fx, gradNorm: gn2, iterations: iter, converged: gn2 <= 1e3 * gtol, method: 'bfgs', message: `no further decrease (gradient norm ${gn2.toExponential(2)})` };
      }
    } else smallChanges = 0;
  }
  const gn = normInf(g);
  return { x, f: fx, gradNorm: gn, iterations: maxIter, converged: gn <= gtol, method: 'bfgs', message: `iteration budget (${maxIter}) reached, gradient norm ${gn.toExponential(2)}` };
}

export interface NelderMeadOptions {
  /** Initial simplex edge (default 0.5: on a log scale, a factor of ~1.6). */
  step?: number;
  /** Stop when the spread of the simplex values is below this × (1 + |f|) and its diameter below xTolerance. */
  fTolerance?: number;
  xTolerance?: number;
  maxEvaluations?: number;
  restarts?: number;
  seed?: number;
}

/**
 * Nelder–Mead with the dimension-adaptive coefficients of Gao & Han (2012), restarted from the best
 * point with a freshly oriented simplex (seeded) to escape the premature collapse plain Nelder–Mead
 * is known for. Derivative-free: used as the fallback when BFGS stalls.
 */
export function nelderMead(f: (x: Float64Array) => number, x0: ArrayLike<number>, opts: NelderMeadOptions = {}): MinimizeResult {
  const n = x0.length;
  const step = opts.step ?? 0.5;
  const ftol = opts.fTolerance ?? 1e-12;
  const xtol = opts.xTolerance ?? 1e-9;
  const maxEval = opts.maxEvaluations ?? 2000 * n;
  const restarts = opts.restarts ?? 3;
  const rng = stream(opts.seed ?? 0, 'nelder-mead');
  let evaluations = 0;
  const F = (x: Float64Array): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  let best = Float64Array.from(x0);
  let bestF = F(best);
  let iterations = 0;
  for (let run = 0; run <= restarts; run++) {
    // Simplex: best point plus n points along randomly signed, randomly scaled axes (seeded).
    const pts: Float64Array[] = [Float64Array.from(best)];
    const vals: number[] = [bestF];
    for (let i = 0; i < n; i++) {
      const pt = Float64Array.from(best);
      const sign = run === 0 ? 1 : rng() < 0.5 ? -1 : 1;
      const scale = run === 0 ? 1 : 0.5 + rng();
      pt[i] = (pt[i] as number) + sign * scale * step;
      pts.push(pt);
      vals.push(F(pt));
    }
    const order = pts.map((_, i) => i);
    while (evaluations < maxEval) {
      iterations++;
      order.sort((a, b) => (vals[a] as number) - (vals[b] as number));
      const lo = order[0] as number;
      const hiIdx = order[n] as number;
      const second = order[n - 1] as number;
      const fLo = vals[lo] as number;
      const fHi = vals[hiIdx] as number;
      let diam = 0;
      for (let k = 1; k <= n; k++) {
        const q = pts[order[k] as number] as Float64Array;
        for (let j = 0; j < n; j++) diam = Math.max(diam, Math.abs((q[j] as number) - ((pts[lo] as Float64Array)[j] as number)));
      }
      if (Math.abs(fHi - fLo) <= ftol * (1 + Math.abs(fLo)) && diam <= xtol) break;
      const c = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const q = pts[order[k] as number] as Float64Array;
        for (let j = 0; j < n; j++) c[j] = (c[j] as number) + (q[j] as number) / n;
      }
      const worst = pts[hiIdx] as Float64Array;
      const along = (t: number): Float64Array => {
        const out = new Float64Array(n);
        for (let j = 0; j < n; j++) out[j] = (c[j] as number) + t * ((c[j] as number) - (worst[j] as number));
        return out;
      };
      const xr = along(alpha);
      const fr = F(xr);
      if (fr < fLo) {
        const xe = along(alpha * beta);
        const fe = F(xe);
        if (fe < fr) { pts[hiIdx] = xe; vals[hiIdx] = fe; } else { pts[hiIdx] = xr; vals[hiIdx] = fr; }
      } else if (fr < (vals[second] as number)) {
        pts[hiIdx] = xr; vals[hiIdx] = fr;
      } else {
        const outside = fr < fHi;
        const xc = along(outside ? alpha * gamma : -gamma);
        const fc = F(xc);
        if (fc < (outside ? fr : fHi)) {
          pts[hiIdx] = xc; vals[hiIdx] = fc;
        } else {
          const xl = pts[lo] as Float64Array;
          for (let k = 1; k <= n; k++) {
            const idx = order[k] as number;
            const q = pts[idx] as Float64Array;
            for (let j = 0; j < n; j++) q[j] = (xl[j] as number) + delta * ((q[j] as number) - (xl[j] as number));
            vals[idx] = F(q);
          }
        }
      }
    }
    let bi = 0;
    for (let k = 1; k <= n; k++) if ((vals[k] as number) < (vals[bi] as number)) bi = k;
    if ((vals[bi] as number) < bestF) {
      bestF = vals[bi] as number;
      best = Float64Array.from(pts[bi] as Float64Array);
    }
    if (evaluations >= maxEval) break;
  }
  const ok = Number.isFinite(bestF);
  return {
    x: best, f: ok ? bestF : NaN, gradNorm: NaN, iterations, evaluations, converged: ok && evaluations < maxEval, method: 'nelder-mead',
    message: ok ? (evaluations < maxEval ? 'simplex collapsed below the tolerances' : `evaluation budget (${maxEval}) reached`) : 'no finite value found',
  };
}

/**
 * BFGS from x0; if the start is not finite, seeded perturbations of it are tried first; if BFGS does
 * not converge, Nelder–Mead restarts from its best point followed by a BFGS polish. The best finite
 * point found is returned, with `converged` saying whether the gradient test passed.
 */
export function minimize(f: Objective, x0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const scheme = opts.gradient ?? 'analytic';
  const obj = new Counted(f, scheme);
  let start = Float64Array.from(x0);
  const rng = stream(opts.seed ?? 0, 'minimize-start');
  // An infeasible start: seeded perturbations of growing radius (up to ±20 per coordinate).
  for (let k = 0; k < 20 && !Number.isFinite(obj.value(start)); k++) {
    start = Float64Array.from(x0, (v) => v + (rng() - 0.5) * 2 * (k + 1));
  }
  const first = bfgsRun(obj, start, opts);
  if (first.converged) return { ...first, evaluations: obj.evaluations };
  // A bounded fallback: on a million rows each evaluation is a full pass, so at most 300 per parameter.
  const nm = nelderMead((x) => obj.value(x), Number.isFinite(first.f) ? first.x : start, { restarts: opts.restarts ?? 3, seed: opts.seed ?? 0, maxEvaluations: 300 * x0.length });
  if (!Number.isFinite(nm.f)) {
    return { ...first, evaluations: obj.evaluations, converged: false, message: `${first.message}; Nelder–Mead found no finite value either` };
  }
  const polish = bfgsRun(obj, nm.x, opts);
  const better = Number.isFinite(polish.f) && (!Number.isFinite(first.f) || polish.f <= first.f) ? polish : first;
  return {
    ...better, evaluations: obj.evaluations, iterations: first.iterations + nm.iterations + polish.iterations,
    method: 'nelder-mead+bfgs', message: `BFGS: ${first.message}; after Nelder–Mead: ${better.message}`,
  };
}
