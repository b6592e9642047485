/**
 * Buy-till-you-die benchmark (issue 5): 1M customers simulated from BG/NBD with Gamma-Gamma spends
 * (seeded; CDNOW-like parameters; ages spread over a year, times on a day grid as real transaction
 * dates give), then timed: the BG/NBD + Gamma-Gamma fit (target ≤ 5 s), the Pareto/NBD fit on the same
 * data (reported, no target), and the scoring of every customer (P(alive), expected purchases over 52
 * weeks, next order, CLV with monthly discounting). Recovered parameters are reported beside the true
 * ones.
 *
 *   npm run bench -- btyd [--customers N] [--seed S] [--continuous]
 */
import { fitBgNbd, type BgNbdParams } from '../src/domain/ml/bgnbd.js';
import { scoreCustomers } from '../src/domain/ml/btyd-score.js';
import { simulateBgNbd, simulateGammaGamma } from '../src/domain/ml/btyd-simulate.js';
import { fitGammaGamma, type GammaGammaParams } from '../src/domain/ml/gamma-gamma.js';
import { fitParetoNbd } from '../src/domain/ml/pareto-nbd.js';
import { stream } from '../src/domain/random.js';

export interface BtydBenchOptions {
  customers?: number;
  seed?: number;
  /** Also fit Pareto/NBD (default true). */
  pareto?: boolean;
  /** Continuous times instead of a day grid (the worst case: every customer a distinct row). */
  continuous?: boolean;
}

const TRUE_BG: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const TRUE_GG: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

function round(v: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

export async function runBtydBench(opts: BtydBenchOptions = {}) {
  const n = opts.customers ?? 1_000_000;
  const seed = opts.seed ?? 42;
  const t0 = performance.now();
  // Ages: first purchases spread uniformly over the 365 days before the end of calibration (weeks).
  const ageRng = stream(seed, 'ages');
  const T = new Float64Array(n);
  for (let i = 0; i < n; i++) T[i] = Math.ceil(ageRng() * 365) / 7;
  if (opts.continuous) for (let i = 0; i < n; i++) T[i] = ageRng() * 52;
  const sim = simulateBgNbd(TRUE_BG, { seed, T, grid: opts.continuous ? 0 : 1 / 7 });
  const m = simulateGammaGamma(TRUE_GG, sim.x, seed);
  const simMs = performance.now() - t0;
  console.error(`simulated ${n} customers in ${(simMs / 1000).toFixed(1)} s`);

  const t1 = performance.now();
  const bg = fitBgNbd(sim, { seed });
  const t2 = performance.now();
  const gg = fitGammaGamma({ x: sim.x, m }, { seed });
  const t3 = performance.now();
  const fitMs = t3 - t1;
  console.error(`BG/NBD fit ${(t2 - t1).toFixed(0)} ms (${bg.convergence.iterations} iterations, ${bg.convergence.evaluations} evaluations), Gamma-Gamma fit ${(t3 - t2).toFixed(0)} ms`);

  let paretoMs: number | null = null;
  let pareto: Record<string, number> | null = null;
  let paretoConv: string | null = null;
  if (opts.pareto !== false) {
    const t4 = performance.now();
    const pn = fitParetoNbd(sim, { seed });
    paretoMs = performance.now() - t4;
    pareto = { r: round(pn.params.r), alpha: round(pn.params.alpha), s: round(pn.params.s), beta: round(pn.params.beta), logLikelihood: round(pn.logLikelihood, 2) };
    paretoConv = `${pn.convergence.message} (${pn.convergence.evaluations} evaluations)`;
    console.error(`Pareto/NBD fit ${(paretoMs / 1000).toFixed(2)} s`);
  }

  const t5 = performance.now();
  const scores = scoreCustomers(bg, { x: sim.x, tx: sim.tx, T: sim.T, m }, gg, { horizon: 52, unitDays: 7, annualDiscountRate: 0.1 });
  const scoreMs = performance.now() - t5;
  let clvSum = 0;
  let aliveSum = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    clvSum += scores.clv?.[i] as number;
    const pa = scores.pAlive[i] as number;
    aliveSum += pa;
    brier += (pa - (sim.aliveAtT[i] as number)) ** 2;
  }
  let trulyAlive = 0;
  for (let i = 0; i < n; i++) trulyAlive += sim.aliveAtT[i] as number;
  console.error(`scored ${n} customers in ${(scoreMs / 1000).toFixed(2)} s`);
  const p = bg.params;
  const se = bg.standardErrors;
  return {
    customers: n, seed, times: opts.continuous ? 'continuous' : 'day grid',
    simulateMs: Math.round(simMs),
    fitMs: { bgnbd: Math.round(t2 - t1), gammaGamma: Math.round(t3 - t2), total: Math.round(fitMs) }, target: { fitMs: 5000, met: fitMs <= 5000 },
    bgnbd: {
      true: TRUE_BG,
      fitted: { r: round(p.r), alpha: round(p.alpha), a: round(p.a), b: round(p.b) },
      standardErrors: se ? { r: round(se.r, 5), alpha: round(se.alpha, 5), a: round(se.a, 5), b: round(se.b, 5) } : null,
      iterations: bg.convergence.iterations, evaluations: bg.convergence.evaluations, converged: bg.convergence.converged,
    },
    gammaGamma: {
      true: TRUE_GG,
      fitted: { p: round(gg.params.p), q: round(gg.params.q), gamma: round(gg.params.gamma) },
      standardErrors: gg.standardErrors ? { p: round(gg.standardErrors.p, 5), q: round(gg.standardErrors.q, 5), gamma: round(gg.standardErrors.gamma, 5) } : null,
      customers: gg.customers, iterations: gg.convergence.iterations, evaluations: gg.convergence.evaluations,
    },
    paretoNbd: pareto ? { fitMs: Math.round(paretoMs ?? 0), fitted: pareto, convergence: paretoConv } : null,
    scoring: {
      ms: Math.round(scoreMs), horizonWeeks: 52,
      meanPAlive: round(aliveSum / n), trulyAliveShare: round(trulyAlive / n), pAliveBrier: round(brier / n),
      meanClv: round(clvSum / n, 2),
    },
    command: `npm run bench -- btyd${opts.customers ? ` --customers ${n}` : ''}${opts.seed !== undefined ? ` --seed ${seed}` : ''}${opts.continuous ? ' --continuous' : ''}`,
  };
}
