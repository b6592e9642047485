/** The demo shop's fixed world: products, brands, places, user agents, names. Data only. */
import { hash32, mulberry32 } from './random.js';

export interface Product {
  product_id: string;
  sku: string;
  name: string;
  category: string;
  brand: string;
  price: number;
}

export const CATEGORIES = ['Shoes', 'Apparel', 'Outdoor', 'Electronics', 'Home', 'Beauty', 'Books', 'Toys'] as const;

const BRANDS: Record<(typeof CATEGORIES)[number], string[]> = {
  Shoes: ['Alpina', 'Strida', 'Ferro', 'Nordwalk'],
  Apparel: ['Linea', 'Cotonia', 'Vestra', 'Urbana'],
  Outdoor: ['Gipfel', 'Trailmark', 'Sentiero'],
  Electronics: ['Voltix', 'Nimbus', 'Quanta', 'Sonora'],
  Home: ['Casa Viva', 'Hyggelig', 'Domus'],
  Beauty: ['Florale', 'Purely'],
  Books: ['Atlas Press', 'Kestrel Books'],
  Toys: ['Bricko', 'Wunderkind', 'Playfair'],
};

const PRICE_RANGE: Record<(typeof CATEGORIES)[number], [number, number]> = {
  Shoes: [49, 189], Apparel: [19, 129], Outdoor: [29, 349], Electronics: [29, 899],
  Home: [12, 249], Beauty: [8, 79], Books: [9, 45], Toys: [12, 119],
};

const NOUNS: Record<(typeof CATEGORIES)[number], string[]> = {
  Shoes: ['Runner', 'Trail Shoe', 'Sneaker', 'Boot', 'Loafer'],
  Apparel: ['Hoodie', 'T-Shirt', 'Jacket', 'Chinos', 'Dress'],
  Outdoor: ['Backpack', 'Tent', 'Headlamp', 'Trekking Poles'],
  Electronics: ['Headphones', 'Speaker', 'Smartwatch', 'Tablet', 'Charger'],
  Home: ['Lamp', 'Throw', 'Mug Set', 'Vase', 'Cushion'],
  Beauty: ['Face Cream', 'Shampoo', 'Perfume', 'Lip Balm'],
  Books: ['Cookbook', 'Novel', 'Travel Guide', 'Field Guide'],
  Toys: ['Puzzle', 'Building Set', 'Plush Bear', 'Board Game'],
};

/** 200 products, the same for every seed (the shop does not change between demo runs). */
export const PRODUCTS: readonly Product[] = (() => {
  const rng = mulberry32(hash32('catalog'));
  const out: Product[] = [];
  for (let i = 0; i < 200; i++) {
    const category = CATEGORIES[i % CATEGORIES.length] ?? 'Home';
    const brands = BRANDS[category];
    const brand = brands[Math.floor(rng() * brands.length)] ?? 'Domus';
    const nouns = NOUNS[category];
    const noun = nouns[Math.floor(rng() * nouns.length)] ?? 'Item';
    const [lo, hi] = PRICE_RANGE[category];
    const price = Math.round((lo + rng() ** 1.6 * (hi - lo)) * 100) / 100 - 0.01;
    const id = String(1000 + i);
    out.push({ product_id: `p-${id}`, sku: `SKU-${id}`, name: `${brand} ${noun} ${i % 7 === 0 ? 'Pro' : i % 5 === 0 ? 'Lite' : 'Classic'}`, category, brand, price: Math.max(price, 4.99) });
  }
  return out;
})();

export const PRODUCTS_BY_CATEGORY: Readonly<Record<string, Product[]>> = (() => {
  const m: Record<string, Product[]> = {};
  for (const p of PRODUCTS) (m[p.category] ??= []).push(p);
  // Cheapest first: personas pick along this order by their price taste.
  for (const list of Object.values(m)) list.sort((a, b) => a.price - b.price || a.product_id.localeCompare(b.product_id));
  return m;
})();

export interface Place {
  country: string;
  region: string;
  city: string;
  timezone: string;
  locale: string;
  currency: string;
  /** Value-added / sales tax rate applied to orders. */
  tax: number;
  /** Country calling code and mobile prefix, for phone traits. */
  phonePrefix: string;
  weight: number;
}

/** Shop prices are set in EUR and shown in the visitor's currency at these rates (rounded to .x0 / .x5 / .x9 endings). */
export const FX_FROM_EUR: Readonly<Record<string, number>> = { EUR: 1, CHF: 0.95, GBP: 0.85, USD: 1.08 };

export function localPrice(eur: number, currency: string): number {
  const rate = FX_FROM_EUR[currency] ?? 1;
  if (rate === 1) return eur;
  return Math.max(0.99, Math.round(eur * rate) - 0.01);
}

export const PLACES: readonly Place[] = [
  { country: 'CH', region: 'Zürich', city: 'Zürich', timezone: 'Europe/Zurich', locale: 'de-CH', currency: 'CHF', tax: 0.081, phonePrefix: '+41 79', weight: 9 },
  { country: 'CH', region: 'Genève', city: 'Geneva', timezone: 'Europe/Zurich', locale: 'fr-CH', currency: 'CHF', tax: 0.081, phonePrefix: '+41 79', weight: 4 },
  { country: 'CH', region: 'Bern', city: 'Bern', timezone: 'Europe/Zurich', locale: 'de-CH', currency: 'CHF', tax: 0.081, phonePrefix: '+41 79', weight: 3 },
  { country: 'DE', region: 'Berlin', city: 'Berlin', timezone: 'Europe/Berlin', locale: 'de-DE', currency: 'EUR', tax: 0.19, phonePrefix: '+49 151', weight: 8 },
  { country: 'DE', region: 'Bayern', city: 'Munich', timezone: 'Europe/Berlin', locale: 'de-DE', currency: 'EUR', tax: 0.19, phonePrefix: '+49 151', weight: 6 },
  { country: 'DE', region: 'Hamburg', city: 'Hamburg', timezone: 'Europe/Berlin', locale: 'de-DE', currency: 'EUR', tax: 0.19, phonePrefix: '+49 151', weight: 4 },
  { country: 'AT', region: 'Wien', city: 'Vienna', timezone: 'Europe/Vienna', locale: 'de-AT', currency: 'EUR', tax: 0.2, phonePrefix: '+43 660', weight: 4 },
  { country: 'FR', region: 'Île-de-France', city: 'Paris', timezone: 'Europe/Paris', locale: 'fr-FR', currency: 'EUR', tax: 0.2, phonePrefix: '+33 6', weight: 7 },
  { country: 'FR', region: 'Auvergne-Rhône-Alpes', city: 'Lyon', timezone: 'Europe/Paris', locale: 'fr-FR', currency: 'EUR', tax: 0.2, phonePrefix: '+33 6', weight: 3 },
  { country: 'IT', region: 'Lombardia', city: 'Milan', timezone: 'Europe/Rome', locale: 'it-IT', currency: 'EUR', tax: 0.22, phonePrefix: '+39 347', weight: 4 },
  { country: 'NL', region: 'Noord-Holland', city: 'Amsterdam', timezone: 'Europe/Amsterdam', locale: 'nl-NL', currency: 'EUR', tax: 0.21, phonePrefix: '+31 6', weight: 4 },
  { country: 'GB', region: 'England', city: 'London', timezone: 'Europe/London', locale: 'en-GB', currency: 'GBP', tax: 0.2, phonePrefix: '+44 7700', weight: 7 },
  { country: 'GB', region: 'Scotland', city: 'Edinburgh', timezone: 'Europe/London', locale: 'en-GB', currency: 'GBP', tax: 0.2, phonePrefix: '+44 7700', weight: 2 },
  { country: 'US', region: 'New York', city: 'New York', timezone: 'America/New_York', locale: 'en-US', currency: 'USD', tax: 0.08875, phonePrefix: '+1 917', weight: 5 },
  { country: 'US', region: 'California', city: 'San Francisco', timezone: 'America/Los_Angeles', locale: 'en-US', currency: 'USD', tax: 0.0725, phonePrefix: '+1 415', weight: 4 },
];

export type DeviceKind = 'desktop' | 'mobile' | 'tablet';

/** Real user-agent strings of common browsers, by device kind. */
export const USER_AGENTS: Record<DeviceKind, readonly string[]> = {
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  ],
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  ],
  tablet: [
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36',
  ],
};

export const FIRST_NAMES = ['Ada', 'Lena', 'Noah', 'Mia', 'Luca', 'Emma', 'Elias', 'Sofia', 'Leon', 'Lea', 'Jonas', 'Nina', 'Marco', 'Chloé', 'Hugo', 'Alice', 'Tom', 'Sara', 'Finn', 'Julia', 'Oliver', 'Amelia', 'Liam', 'Olivia'] as const;
export const LAST_NAMES = ['Müller', 'Meier', 'Schmid', 'Keller', 'Weber', 'Huber', 'Martin', 'Bernard', 'Rossi', 'Bianchi', 'Smith', 'Jones', 'Brown', 'de Vries', 'Jansen', 'Dubois', 'Fischer', 'Wagner', 'Moreau', 'Taylor'] as const;

export const CAMPAIGNS = [
  { name: 'spring-sale', source: 'newsletter', medium: 'email' },
  { name: 'brand-search', source: 'google', medium: 'cpc', term: 'outdoor shoes' },
  { name: 'retargeting', source: 'facebook', medium: 'paid_social', content: 'carousel' },
  { name: 'influencer-q3', source: 'instagram', medium: 'social' },
  { name: 'black-friday', source: 'newsletter', medium: 'email' },
] as const;

/** What people type into the shop's search box. */
export const SEARCH_TERMS = ['running shoes', 'rain jacket', 'gift for her', 'gift for him', 'bedside lamp', 'noise cancelling headphones', 'tent 2 person', 'puzzle 1000', 'hoodie', 'face cream', 'cookbook vegetarian', 'smartwatch', 'backpack 30l', 'sneakers white', 'board game family'] as const;

/** Where organic (non-campaign) sessions come from. */
export const REFERRERS = ['', '', '', 'https://www.google.com/', 'https://www.google.com/', 'https://www.bing.com/', 'https://duckduckgo.com/', 'https://www.instagram.com/', 'https://www.pinterest.com/'] as const;

export const BENEFITS = ['price', 'quality', 'convenience', 'comfort', 'style'] as const;
