/** Serving the HTTP app on a port with Node's HTTP server; closes cleanly, draining the ingest queue. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Segmenta } from '../app/segmenta.js';
import { createHttpApp } from './app.js';

export interface RunningServer {
  /** Where this process reaches the server (an IP address). */
  url: string;
  /** What to tell a person: `localhost` for the loopback address. */
  publicUrl: string;
  port: number;
  close(): Promise<void>;
}

export function startServer(sg: Segmenta, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const app = createHttpApp(sg);
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined;
    const onError = (err: Error) => reject(err.message.includes('EADDRINUSE')
      ? new Error(`port ${port} on ${host} is already in use; choose another with --port`) : err);
    server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      server?.off('error', onError);
      const local = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === 'localhost';
      resolve({
        url: `http://${host === '0.0.0.0' || host === '::' || host === 'localhost' ? '127.0.0.1' : host}:${info.port}`,
        publicUrl: `http://${local ? 'localhost' : host}:${info.port}`,
        port: info.port,
        close: () => new Promise<void>((res) => {
          server?.close(() => res());
          (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
        }),
      });
    });
    server.once('error', onError);
  });
}
