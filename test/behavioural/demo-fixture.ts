/** A small demo shop loaded in-process, with each identified customer's planted persona by profile id. */
import { Segmenta } from '../../src/app/segmenta.js';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, type DemoGroundTruth, type PersonaName } from '../../src/demo/generator.js';

export interface DemoFixture {
  sg: Segmenta;
  ws: string;
  truth: DemoGroundTruth;
  /** Profile id → planted persona (identified customers only). */
  persona: Map<string, PersonaName>;
  end: number;
}

export async function loadDemo(customers: number, seed = 42): Promise<DemoFixture> {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 2 });
  const { workspace: ws } = await sg.workspaces.create('demo');
  const opts = { ...DEFAULT_DEMO_OPTIONS, customers, seed };
  const gen = generateDemoShop(opts);
  let truth: DemoGroundTruth | undefined;
  for (;;) {
    const r = gen.next();
    if (r.done) { truth = r.value; break; }
    const res = await sg.ingest.submit(ws, r.value, { source: 'demo', mode: 'partial' });
    if (res.rejected.length) throw new Error(`demo batch rejected: ${JSON.stringify(res.rejected[0])}`);
  }
  await sg.segments.idle();
  const persona = new Map<string, PersonaName>();
  for (const c of truth.customers) {
    if (!c.identified) continue;
    const pid = await sg.store.profileByIdentity(ws, 'user_id', c.userId);
    if (pid) persona.set(pid, c.persona);
  }
  return { sg, ws, truth, persona, end: opts.end.getTime() };
}
