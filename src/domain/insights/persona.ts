/**
 * The persona card: a few deterministic sentences from a segment's most distinguishing features,
 * with the numbers ("mostly mobile (72 % of activity on phone or tablet vs 45 %)", "3.1× the coupon
 * use of the base"). Same analysis → same text: no clock, no locale, no randomness.
 *
 * It never says more than the intervals support: only distinguishing features appear (their interval
 * excludes no difference); "mostly" needs the members' interval above 50 % and a base at 60 % or
 * less (where the base is mostly so too, "mostly" would not tell them apart); "N×" needs the ratio's lower limit at 1.5 or more,
 * "N % below the base" its upper limit at 2/3 or less; otherwise only the direction is stated, with
 * both values. One phrase per theme, most distinguishing first, at most `maxTraits`; within a
 * categorical theme a value the members have more often wins over one they have less often (a
 * persona is what they are: "mostly active in the afternoon" says more than "rarely in the evening").
 */
import type { Analysis, FeatureInsight } from './analyze.js';
import { byScore } from './analyze.js';
import { fill, type Format } from './features.js';

export interface PersonaCard {
  /** Name, size, share of the base and of revenue. */
  headline: string;
  /** One phrase per distinguishing theme, most distinguishing first. */
  traits: string[];
  /** The headline and the traits as one paragraph. */
  text: string;
}

export const DEFAULT_MAX_TRAITS = 5;

/** The multiple from which "N× the … of the base" is said (at the interval's lower limit). */
const MULTIPLE_FROM = 1.5;
/** "Mostly" is said only where the base is not already mostly so. */
const MOSTLY_BASE_AT_MOST = 0.6;

export function personaCard(name: string, a: Analysis, maxTraits = DEFAULT_MAX_TRAITS): PersonaCard {
  const size = `${a.size.members} ${a.size.members === 1 ? 'profile' : 'profiles'} (${percent(a.size.share)} of the base)`;
  const revenue = a.revenue.share !== null && a.revenue.base > 0 ? `, ${percent(a.revenue.share)} of revenue` : '';
  const headline = `${name}: ${size}${revenue}.`;
  if (a.size.members === 0) return card(headline, [], 'The segment has no members.');
  if (a.size.members === a.size.base) return card(headline, [], 'The segment holds the whole base: there is nothing to compare it with.');
  const byKey = new Map(a.features.map((f) => [f.key, f]));
  const ranked = a.distinguishing.map((k) => byKey.get(k)).filter((f): f is FeatureInsight => f !== undefined).sort(byScore);
  // per theme, the first in rank order, but a categorical value that is over-represented first
  const chosen = new Map<string, FeatureInsight>();
  for (const f of ranked) {
    const cur = chosen.get(f.theme);
    if (!cur || (cur.value !== null && !isUp(cur) && f.value !== null && isUp(f))) chosen.set(f.theme, f);
  }
  const themeOrder = [...chosen.values()].sort((x, y) => ranked.indexOf(x) - ranked.indexOf(y));
  const traits = themeOrder.slice(0, maxTraits).map(phrase);
  if (traits.length === 0) return card(headline, [], 'Nothing distinguishes it from the base with confidence.');
  return card(headline, traits, `Compared with the base: ${traits.join('; ')}.`);
}

function card(headline: string, traits: string[], body: string): PersonaCard {
  return { headline, traits, text: `${headline} ${body}` };
}

function isUp(f: FeatureInsight): boolean {
  return (f.effect.value ?? 0) > 0;
}

/** One feature as a phrase with its numbers (members vs base). */
export function phrase(f: FeatureInsight): string {
  const w = f.words;
  const v = f.value;
  const up = isUp(f);
  const m = show(f.members.value, f.format);
  const b = show(f.base.value, f.format);
  const of = w.of ? ` ${fill(w.of, v)}` : '';
  const unit = w.unit ? ` ${w.unit}` : '';
  const numbers = `(${m}${of} vs ${b}${unit})`;
  const r = f.ratio;
  // multiples and "N % below" read well for amounts and shares, not for days since something
  const relative = f.format !== 'days';
  const times = relative && up && r.value !== null && r.low !== null && r.low >= MULTIPLE_FROM;
  if (up && w.mostly && f.format === 'share' && f.members.low !== null && f.members.low > 0.5 && f.base.value <= MOSTLY_BASE_AT_MOST) {
    return `${fill(w.mostly, v)}${times ? `, ${multiple(r.value as number)} the base` : ''} ${numbers}`;
  }
  if (times) return `${multiple(r.value as number)} the ${fill(w.noun, v)} of the base ${numbers}`;
  if (!up && (f.format === 'count' || f.format === 'money') && r.value !== null && r.high !== null && r.high <= 1 / MULTIPLE_FROM) {
    return `${fill(w.less, v)}, ${Math.round((1 - r.value) * 100)} % below the base ${numbers}`;
  }
  return `${fill(up ? w.more : w.less, v)} ${numbers}`;
}

/** A value for the card: shares as percentages, money with cents below 100, counts and days short. */
export function show(x: number, format: Format): string {
  switch (format) {
    case 'share': return percent(x);
    case 'money': return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2);
    case 'days': return Math.abs(x) >= 10 ? x.toFixed(0) : x.toFixed(1);
    case 'count': return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toFixed(2);
  }
}

/** 0.723 → "72 %"; below 1 % one decimal ("0.4 %", "-0.4 %"); never "-0 %". */
export function percent(x: number): string {
  const p = x * 100;
  const a = Math.abs(p);
  const text = a > 0 && a < 1 ? p.toFixed(1) : p.toFixed(0);
  return `${text === '-0' || text === '-0.0' ? '0' : text} %`;
}

/** 3.14 → "3.1×", 12.6 → "13×". */
export function multiple(x: number): string {
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`;
}
