/**
 * Example segments that `segmenta demo` defines over the demo shop, in the text form (docs/segments.md).
 * Each names the planted structure it is meant to find (docs/demo-shop.md), so a user sees the segment
 * engine work on data whose truth is known.
 */
export interface DemoSegment {
  key: string;
  name: string;
  description: string;
  text: string;
}

export const DEMO_SEGMENTS: readonly DemoSegment[] = [
  { key: 'frequent_buyers', name: 'Frequent buyers', description: 'eight or more orders: mostly the planted champions', text: 'performed "Order Completed" at least 8 times' },
  { key: 'big_spenders', name: 'Big spenders', description: 'lifetime revenue of 1,000 or more', text: 'sum of properties.revenue for "Order Completed" >= 1000' },
  { key: 'lapsed_buyers', name: 'Lapsed repeat buyers', description: 'bought twice or more, nothing for 200 days: the planted lapsed customers, and holiday shoppers between seasons', text: 'performed "Order Completed" at least 2 times and last performed "Order Completed" more than 200 days ago' },
  { key: 'coupon_lovers', name: 'Coupon lovers', description: 'three or more coupons applied: the planted bargain hunters', text: 'performed "Coupon Applied" at least 3 times' },
  { key: 'new_customers', name: 'New customers', description: 'first order within the last 90 days', text: 'first performed "Order Completed" within last 90 days' },
  { key: 'email_ok', name: 'E-mail consent', description: 'the latest decision allows e-mail', text: 'consent Email' },
  { key: 'campaign_clickers', name: 'Campaign clickers', description: 'clicked a link in the autumn e-mail', text: 'performed "Email Link Clicked"' },
  { key: 'win_back', name: 'Win-back targets', description: 'lapsed or big spenders gone quiet, who can be e-mailed', text: '(in segment lapsed_buyers or (in segment big_spenders and last performed "Order Completed" more than 120 days ago)) and in segment email_ok' },
  { key: 'holdout', name: 'Holdout (10 %)', description: 'a fixed random 10 % kept out of campaigns', text: 'bucket "demo-holdout" from 0 to 10' },
];
