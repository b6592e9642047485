/** Segment insights (docs/insights.md): features, statistics, analysis and the persona card. */
export * from './features.js';
export * from './stats.js';
export * from './analyze.js';
export * from './persona.js';
