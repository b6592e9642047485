/**
 * Benchmark server: opens segmenta on a data folder, creates a workspace, serves on a free loopback
 * port, and prints one JSON line {port, writeKey, pid} on stdout. Stops on SIGTERM.
 */
import { Segmenta } from '../src/app/segmenta.js';
import { startServer } from '../src/http/server.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: serve.ts <data dir> [maxQueuedMessages]');
const maxQueued = Number(process.argv[3] ?? '200000');
const sg = await Segmenta.open({ dataDir, ingest: { maxQueuedMessages: maxQueued } });
const ws = await sg.workspaces.create('bench');
const server = await startServer(sg, 0);
process.stdout.write(`${JSON.stringify({ port: server.port, writeKey: ws.writeKey, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => sg.close()).then(() => process.exit(0));
});
