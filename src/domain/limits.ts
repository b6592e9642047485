/** Limits of the Segment HTTP tracking contract (REFERENCES.md §Segment contract). */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
export const MAX_BATCH_MESSAGES = 2500;
export const MAX_MESSAGE_ID_LENGTH = 100;
/** Deepest nesting of objects/arrays accepted inside a message: deeper is hostile, not data. */
export const MAX_JSON_DEPTH = 32;
/** Largest magnitude accepted for a number anywhere in a message. */
export const MAX_ABS_NUMBER = 1e15;
/** Property names that could alter object prototypes when merged; refused everywhere. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
