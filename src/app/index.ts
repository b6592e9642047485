/** The library API: `import { Segmenta } from 'segmenta'`. */
export { Segmenta, type SegmentaOptions } from './segmenta.js';
export type { IngestResult, SubmitOptions, IngestConfig } from '../services/ingest.js';
export type { ProfileView } from '../services/profiles.js';
export type { CreatedWorkspace } from '../services/workspaces.js';
export type { StoragePort } from '../ports/storage.js';
export { DEFAULT_IDENTITY_CONFIG, type IdentityConfig } from '../domain/identity.js';
