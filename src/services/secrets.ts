/**
 * Secrets (write keys, API tokens) are random, shown once, and stored only as a SHA-256 hash: they carry
 * 192 bits of entropy, so a fast hash is enough (no password stretching needed) and lookup stays O(1).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}
