/** The HTTP application: tracking API, management API, health. Testable in-process with `app.request()`. */
import { Hono } from 'hono';
import { InputError } from '../domain/errors.js';
import { DefinitionError } from '../domain/segments/check.js';
import type { Segmenta } from '../app/segmenta.js';
import { mountAdmin } from './admin-routes.js';
import { mountModels } from './model-routes.js';
import { mountMl } from './ml-routes.js';
import { mountSegments } from './segment-routes.js';
import type { AppEnv } from './env.js';
import { errorBody } from './errors.js';
import { prometheusText } from './metrics.js';
import { mountTracking } from './tracking-routes.js';

export function createHttpApp(sg: Segmenta): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    try {
      return c.json({ status: 'ready', schemaVersion: await sg.store.schemaVersion(), engine: sg.store.engine });
    } catch (err) {
      return c.json({ status: 'not_ready', message: err instanceof Error ? err.message : String(err) }, 503);
    }
  });
  app.get('/metrics', (c) => {
    c.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    const l = sg.segments.latency;
    return c.body(prometheusText(sg.ingest.metrics, sg.segments.metrics, sg.store.walHealth(), process.memoryUsage(), process.uptime(), [
      { name: 'segmenta_ingest_commit_seconds', help: 'Group commits: identities resolved, rows written, committed (recent window).', window: sg.ingest.commitLatency },
      { name: 'segmenta_segment_instant_delay_seconds', help: 'Commit to instant entry / exit written (recent window).', window: l.instantDelay },
      { name: 'segmenta_segment_instant_lock_wait_seconds', help: 'Instant writes waiting for the write lock (a running apply).', window: l.instantLockWait },
      { name: 'segmenta_segment_fast_run_seconds', help: 'Fast-lane runs, plan and apply.', window: l.fastRun },
      { name: 'segmenta_segment_fast_apply_seconds', help: 'Fast-lane applies holding the write lock.', window: l.fastApply },
    ]));
  });
  mountTracking(app, sg);
  mountAdmin(app, sg);
  mountSegments(app, sg);
  mountModels(app, sg);
  mountMl(app, sg);
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    // A user error thrown by a route (a bad body, an unknown id) is the client's to fix.
    if (err instanceof InputError) {
      const diagnostics = err instanceof DefinitionError ? err.diagnostics : undefined;
      return c.json({ ...errorBody(err.code, err.message), ...(diagnostics ? { diagnostics } : {}) }, err.code === 'not_found' ? 404 : 400);
    }
    // Anything else reaching here is our bug or a storage failure, never the client's input.
    console.error('segmenta http error:', err);
    return c.json(errorBody('internal', 'the server failed to handle this request; it was not stored'), 503);
  });
  return app;
}
