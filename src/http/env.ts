import type { Principal } from '../services/workspaces.js';

/** Hono environment shared by every route: the authenticated principal of management calls. */
export type AppEnv = { Variables: { principal: Principal } };
