/** Peak resident memory of a process, for the benchmarks (Linux: /proc). */
import { readFileSync, writeFileSync } from 'node:fs';

/** The peak resident set (VmHWM) of a process in MB; NaN where /proc cannot tell. */
export function peakRssMb(pid: number = process.pid): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return m && m[1] ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Restarts this process's peak (Linux ≥ 4.0: "5" to clear_refs); false where it cannot. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
