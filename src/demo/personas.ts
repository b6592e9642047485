/**
 * The demo shop's planted ground truth: behavioural personas (share, rhythm, taste) and the randomised
 * e-mail campaign with its true effect per persona. Data only; docs/demo-shop.md explains each rule.
 */

export const PERSONA_NAMES = ['champion', 'loyal_regular', 'bargain_hunter', 'weekend_browser', 'holiday_shopper', 'lapsed', 'new_customer', 'one_time_buyer'] as const;
export type PersonaName = (typeof PERSONA_NAMES)[number];

/** Hours of the day at which sessions start, with weights (UTC; the shop's customers are mostly in Europe). */
export type HourProfile = ReadonlyArray<readonly [number, number]>;

const EVENINGS: HourProfile = [[7, 1], [12, 2], [13, 2], [17, 2], [19, 4], [20, 5], [21, 4], [22, 2]];
const OFFICE: HourProfile = [[8, 2], [10, 2], [12, 4], [13, 3], [15, 2], [19, 3], [20, 3], [21, 2]];
const LATE: HourProfile = [[12, 1], [20, 2], [21, 4], [22, 5], [23, 3]];
const AFTERNOONS: HourProfile = [[10, 2], [11, 3], [14, 4], [15, 4], [16, 3], [17, 2], [20, 2]];

export interface PersonaSpec {
  /** Share of customers (the shares sum to 1; change them here to reshape the shop). */
  share: number;
  description: string;
  /** Mean days between organic orders while active (0: orders follow the persona's own rule). */
  orderEvery: number;
  /** Mean days between browsing-only sessions. */
  browseEvery: number;
  couponRate: number;
  /** Skews product choice: > 1 prefers expensive products, < 1 cheap ones. */
  priceTaste: number;
  itemsMax: number;
  /** Sessions only on Saturdays and Sundays. */
  weekendOnly: boolean;
  /** Probability of a birthday-week order (with the BIRTHDAY15 coupon offered) in each year while active. */
  birthdayOrder: number;
  mobileShare: number;
  hours: HourProfile;
  /** Probability of an order within the campaign window without the e-mail, and the true added effect. */
  campaignBase: number;
  campaignEffect: number;
  satisfaction: readonly [number, number];
}

export const PERSONAS: Readonly<Record<PersonaName, PersonaSpec>> = {
  champion: {
    share: 0.07, description: 'Buys often (every ~80 days), spends the most per order, active to the end of history; an extra order between 24 November and 22 December each year and often one in the birthday week.',
    orderEvery: 80, browseEvery: 150, couponRate: 0.06, priceTaste: 1.6, itemsMax: 4, weekendOnly: false, birthdayOrder: 0.5, mobileShare: 0.35, hours: OFFICE,
    campaignBase: 0.3, campaignEffect: 0.01, satisfaction: [4, 5],
  },
  loyal_regular: {
    share: 0.18, description: 'Steady repeat buyer (every ~180 days), average basket, active to the end; sometimes a birthday-week order.',
    orderEvery: 180, browseEvery: 360, couponRate: 0.15, priceTaste: 1, itemsMax: 3, weekendOnly: false, birthdayOrder: 0.25, mobileShare: 0.4, hours: EVENINGS,
    campaignBase: 0.1, campaignEffect: 0.03, satisfaction: [3, 5],
  },
  bargain_hunter: {
    share: 0.14, description: 'Uses a coupon on ~85 % of orders, prefers cheap products, orders every ~150 days, late in the evening.',
    orderEvery: 150, browseEvery: 240, couponRate: 0.85, priceTaste: 0.5, itemsMax: 3, weekendOnly: false, birthdayOrder: 0.4, mobileShare: 0.5, hours: LATE,
    campaignBase: 0.08, campaignEffect: 0.08, satisfaction: [2, 4],
  },
  weekend_browser: {
    share: 0.14, description: 'Many mobile sessions, only on Saturdays and Sundays (afternoons), many product and list views, rarely buys (about once a year).',
    orderEvery: 365, browseEvery: 120, couponRate: 0.2, priceTaste: 0.9, itemsMax: 2, weekendOnly: true, birthdayOrder: 0, mobileShare: 0.85, hours: AFTERNOONS,
    campaignBase: 0.03, campaignEffect: 0.03, satisfaction: [3, 4],
  },
  holiday_shopper: {
    share: 0.08, description: 'Buys only between 15 November and 23 December (1-3 orders a season), browses a little around the year.',
    orderEvery: 0, browseEvery: 240, couponRate: 0.3, priceTaste: 1.2, itemsMax: 4, weekendOnly: false, birthdayOrder: 0, mobileShare: 0.4, hours: EVENINGS,
    campaignBase: 0.02, campaignEffect: 0.02, satisfaction: [3, 5],
  },
  lapsed: {
    share: 0.14, description: 'Was a repeat buyer in the first part of history; no organic activity in the last 200 days (only an order drawn by the campaign experiment can appear later).',
    orderEvery: 120, browseEvery: 240, couponRate: 0.2, priceTaste: 1, itemsMax: 3, weekendOnly: false, birthdayOrder: 0.2, mobileShare: 0.4, hours: EVENINGS,
    campaignBase: 0.02, campaignEffect: 0.04, satisfaction: [1, 3],
  },
  new_customer: {
    share: 0.07, description: 'First visit within the last 45 days, first order within the last 30 days (joined after the campaign: never in it).',
    orderEvery: 0, browseEvery: 10, couponRate: 0.3, priceTaste: 1, itemsMax: 3, weekendOnly: false, birthdayOrder: 0, mobileShare: 0.5, hours: EVENINGS,
    campaignBase: 0.1, campaignEffect: 0.05, satisfaction: [3, 5],
  },
  one_time_buyer: {
    share: 0.18, description: 'Exactly one organic order, more than 120 days before the end, a few sessions around it.',
    orderEvery: 0, browseEvery: 250, couponRate: 0.3, priceTaste: 1, itemsMax: 2, weekendOnly: false, birthdayOrder: 0, mobileShare: 0.5, hours: EVENINGS,
    campaignBase: 0.02, campaignEffect: 0.02, satisfaction: [1, 4],
  },
};

/** The randomised e-mail campaign near the end of history. */
export const CAMPAIGN = {
  id: 'cmp-autumn-offer',
  name: 'Autumn offer',
  subject: 'Your autumn offer: 20 % off',
  /** Days before the end of history when the e-mail is sent (09:00 UTC that day). */
  sentDaysBeforeEnd: 60,
  /** The outcome window: an order within this many days of the send. */
  windowDays: 14,
  treatmentShare: 0.5,
  openRate: 0.35,
  /** Share of openers who click the link. */
  clickRate: 0.3,
} as const;

/** Share of customer slots that additionally produce an anonymous visitor who never identifies. */
export const ANONYMOUS_VISITOR_SHARE = 0.15;
