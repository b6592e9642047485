/**
 * Progress for long work: a live bar on a terminal (cli-progress), periodic plain lines when stderr is
 * not a terminal (CI logs, pipes), nothing with --json except the final JSON on stdout.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, extra?: string): void;
  setTotal(total: number): void;
  stop(final?: string): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  unit: string;
  quiet?: boolean;
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return { update: () => undefined, setTotal: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${opts.label} [{bar}] {percentage}% | {value}/{total} ${opts.unit} | {extra} | eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(opts.total, 0, { extra: '' });
    return {
      update: (done, extra) => bar.update(done, { extra: extra ?? '' }),
      setTotal: (t) => bar.setTotal(t),
      stop: (final) => {
        bar.stop();
        if (final) process.stderr.write(`${final}\n`);
      },
    };
  }
  let total = opts.total;
  let lastAt = 0;
  let lastPct = -1;
  const start = Date.now();
  return {
    update: (done, extra) => {
      const now = Date.now();
      const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
      if (now - lastAt < 2000 && pct < lastPct + 10) return;
      lastAt = now;
      lastPct = pct;
      const secs = ((now - start) / 1000).toFixed(1);
      process.stderr.write(`${opts.label}: ${done}/${total} ${opts.unit} (${pct}%) ${extra ?? ''} ${secs}s\n`);
    },
    setTotal: (t) => {
      total = t;
    },
    stop: (final) => {
      if (final) process.stderr.write(`${final}\n`);
    },
  };
}
