/** Human-readable rendering of a profile for `segmenta profile show`. */
import type { ProfileView } from '../services/profiles.js';

function iso(time: string): string {
  return time.replace('.000Z', 'Z');
}

function short(v: unknown, max = 60): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function printProfile(p: ProfileView): void {
  const out: string[] = [];
  out.push(`Profile ${p.profileId}${p.requested !== p.profileId ? `  (looked up by '${p.requested}')` : ''}`);
  out.push('', `Identities (${p.identities.length})`);
  for (const i of p.identities) out.push(`  ${i.type.padEnd(14)} ${i.value.padEnd(40)} first seen ${iso(i.firstSeen)} via ${i.source}`);
  out.push('', `Traits (${p.traits.length})`);
  for (const t of p.traits) out.push(`  ${t.key.padEnd(20)} ${short(t.value).padEnd(40)} ${t.source} @ ${iso(t.updatedAt)}`);
  out.push('', `Events (${p.totalEvents})`);
  for (const c of p.eventCounts) out.push(`  ${String(c.count).padStart(6)}  ${(c.event ?? c.type).padEnd(30)} ${iso(c.first)} … ${iso(c.last)}`);
  out.push('', `Recent events (${p.recentEvents.length})`);
  for (const e of p.recentEvents) {
    out.push(`  ${iso(e.timestamp)}  ${e.type.padEnd(8)} ${(e.event ?? e.name ?? '').padEnd(28)} ${e.revenue !== null ? `revenue ${e.revenue}` : ''}`);
  }
  out.push('', `Merge history (${p.merges.length})`);
  for (const m of p.merges) out.push(`  ${iso(m.at)}  ${m.from} → ${m.to}: ${m.reason}`);
  out.push('', `Computed traits (${p.computedTraits.length})`);
  for (const c of p.computedTraits) out.push(`  ${c.key.padEnd(20)} ${short(c.value).padEnd(40)} computed ${iso(c.computedAt)}`);
  out.push('', `Segments (${p.segments.length})`);
  for (const x of p.segments) out.push(`  ${x.key.padEnd(28)} since ${iso(x.enteredAt)}`);
  out.push('', `Segment history (${p.segmentHistory.length})`);
  for (const h of p.segmentHistory) out.push(`  ${iso(h.at)}  ${h.change.padEnd(7)} ${h.segment} (v${h.version})`);
  console.log(out.join('\n'));
}
