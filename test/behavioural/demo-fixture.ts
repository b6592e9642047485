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

export interface Share { share: number; n: number }

/**
 * Of the identified customers of a persona (optionally only those `among` holds for), the share whose
 * group is in `wanted` ("(none)" stands for no group).
 */
export function recall(fx: DemoFixture, groups: Map<string, string>, persona: PersonaName, wanted: string[], among: (pid: string) => boolean = () => true): Share {
  let n = 0, hit = 0;
  for (const [pid, p] of fx.persona) {
    if (p !== persona || !among(pid)) continue;
    n++;
    if (wanted.includes(groups.get(pid) ?? '(none)')) hit++;
  }
  return { share: hit / Math.max(n, 1), n };
}

/** Of the identified customers in `group`, the share that are of one of the personas. */
export function precision(fx: DemoFixture, groups: Map<string, string>, group: string, personas: PersonaName[]): Share {
  let n = 0, hit = 0;
  for (const [pid, p] of fx.persona) {
    if (groups.get(pid) !== group) continue;
    n++;
    if (personas.includes(p)) hit++;
  }
  return { share: hit / Math.max(n, 1), n };
}
