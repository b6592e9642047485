/**
 * Reading a tracking request's body the way Segment's API does: gzip or plain, `application/json` or
 * `text/plain` (the browser library), strict UTF-8, size limits checked on the decoded bytes, so a
 * gzip bomb cannot inflate past the limit.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { InputError } from '../domain/errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeBody(raw: Uint8Array, contentEncoding: string | undefined, limit: number): string {
  let bytes = raw;
  const enc = (contentEncoding ?? '').trim().toLowerCase();
  if (enc === 'gzip' || enc === 'deflate') {
    try {
      bytes = enc === 'gzip' ? gunzipSync(raw, { maxOutputLength: limit + 1 }) : inflateSync(raw, { maxOutputLength: limit + 1 });
    } catch (err) {
      if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new InputError('too_large', `the decompressed body is larger than ${limit} bytes`);
      }
      throw new InputError('bad_encoding', `the body is not valid ${enc} data`);
    }
  } else if (enc !== '' && enc !== 'identity') {
    throw new InputError('bad_encoding', `Content-Encoding '${enc}' is not supported (use gzip or none)`);
  }
  if (bytes.byteLength > limit) throw new InputError('too_large', `the body is ${bytes.byteLength} bytes; the limit here is ${limit} bytes`);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new InputError('bad_utf8', 'the body is not valid UTF-8');
  }
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new InputError('empty_body', 'the body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'syntax error';
    throw new InputError('bad_json', `the body is not valid JSON (${detail.slice(0, 120)})`);
  }
}
