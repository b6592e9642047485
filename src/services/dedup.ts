/**
 * Message ids seen within a time window, per workspace. A Map keeps insertion order, and ids arrive in
 * receive order, so expiry pops from the front. Ids outside the window are checked against storage
 * for imports (see IngestService), which is where old ids come back.
 */
const SEP = '\u0001';

export class MessageDedup {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}

  clear(): void {
    this.seen.clear();
  }

  get size(): number {
    return this.seen.size;
  }

  has(workspaceId: string, messageId: string): boolean {
    return this.seen.has(workspaceId + SEP + messageId);
  }

  add(workspaceId: string, messageId: string, at: number): void {
    this.seen.set(workspaceId + SEP + messageId, at);
    this.expire(at);
  }

  delete(workspaceId: string, messageId: string): void {
    this.seen.delete(workspaceId + SEP + messageId);
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [key, at] of this.seen) {
      if (at >= cutoff) break;
      this.seen.delete(key);
    }
  }
}
