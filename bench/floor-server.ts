/**
 * The floor of durable HTTP ingestion in Node on this machine, as a baseline for the ingest benchmark:
 * a bare `node:http` server that reads a `/v1/batch` body, `JSON.parse`s it, checks each message's
 * `type` and `messageId` (a Set for dedup), appends the raw body to a file and answers 200 only after
 * the group `fdatasync` that covers it. No validation, normalisation, identity or database: whatever
 * segmenta does costs on top of this. Prints its port on stdout; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { closeSync, fdatasync, openSync, writev } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: floor-server.ts <log file>');
const fd = openSync(file, 'w');
let pending: Array<{ buf: Buffer; done: () => void }> = [];
let syncing = false;

function flush(): void {
  if (syncing || pending.length === 0) return;
  syncing = true;
  const group = pending;
  pending = [];
  writev(fd, group.map((g) => g.buf), (werr) => {
    if (werr) throw werr;
    fdatasync(fd, (serr) => {
      if (serr) throw serr;
      syncing = false;
      for (const g of group) g.done();
      flush();
    });
  });
}

const seen = new Set<string>();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const buf = Buffer.concat(chunks);
    const body = JSON.parse(buf.toString('utf8')) as { batch: Array<{ type?: unknown; messageId?: unknown }> };
    for (const m of body.batch) {
      if (typeof m.type !== 'string' || typeof m.messageId !== 'string') {
        res.writeHead(400).end();
        return;
      }
      seen.add(m.messageId);
    }
    pending.push({ buf, done: () => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'); } });
    flush();
  });
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0, pid: process.pid })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  closeSync(fd);
  process.exit(0);
});
