/**
 * User-facing problems with input. Internal bugs throw plain Errors; anything a caller did wrong is a
 * `InputError` carrying a stable code and a message that says what is wrong and where.
 */
export class InputError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  constructor(code: string, message: string, path?: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'InputError';
    this.code = code;
    this.path = path;
  }
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
