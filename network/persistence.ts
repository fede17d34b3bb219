// A network namespace's record (its path, whether we created it, its endpoints) as versioned
// JSON: file descriptors are never persisted, and malformed input is an error naming the field.
import { ValidationError } from '../core/index.js';
import { parseEndpoints } from './endpoints/parse.js';
import type { Endpoint } from './endpoints/types.js';

/** The record format version this code reads and writes. */
export const RECORD_VERSION = 1;

/** What vmlaunch remembers about one netns. */
export interface NetnsRecord {
  version: typeof RECORD_VERSION;
  /** Path of the netns file, e.g. /run/netns/vml-abc. */
  path: string;
  /** True when vmlaunch created the netns (and so deletes it at cleanup). */
  createdByUs: boolean;
  endpoints: Endpoint[];
}

// Serialises a record; fds cannot sneak in because endpoints are re-parsed field by field.
export function serializeNetnsRecord(record: NetnsRecord): string {
  return JSON.stringify(parseNetnsRecordObject(record), null, 2);
}

/**
 * Reads a record from JSON text.
 * @throws ValidationError naming the field ('record.endpoints[0].name') or the JSON problem.
 */
export function parseNetnsRecord(text: string): NetnsRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(
      'record',
      text.slice(0, 40),
      `not valid JSON: ${(error as Error).message}`,
      'JSON',
    );
  }
  return parseNetnsRecordObject(value);
}

// Checks a record object field by field.
function parseNetnsRecordObject(value: unknown): NetnsRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('record', value, 'expected an object', 'TYPE');
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!['version', 'path', 'createdByUs', 'endpoints'].includes(key)) {
      throw new ValidationError(`record.${key}`, fields[key], 'unknown field', 'UNKNOWN_FIELD');
    }
  }
  if (fields.version !== RECORD_VERSION) {
    throw new ValidationError(
      'record.version',
      fields.version,
      `expected version ${RECORD_VERSION}`,
      fields.version === undefined ? 'REQUIRED' : 'VERSION',
    );
  }
  if (typeof fields.path !== 'string' || !fields.path.startsWith('/')) {
    throw new ValidationError(
      'record.path',
      fields.path,
      'expected an absolute netns path',
      fields.path === undefined ? 'REQUIRED' : 'TYPE',
    );
  }
  if (typeof fields.createdByUs !== 'boolean') {
    throw new ValidationError(
      'record.createdByUs',
      fields.createdByUs,
      'expected a boolean',
      fields.createdByUs === undefined ? 'REQUIRED' : 'TYPE',
    );
  }
  if (fields.endpoints === undefined) {
    throw new ValidationError(
      'record.endpoints',
      undefined,
      'expected an array of endpoints',
      'REQUIRED',
    );
  }
  const endpoints = parseEndpoints(fields.endpoints, 'record.endpoints');
  return { version: RECORD_VERSION, path: fields.path, createdByUs: fields.createdByUs, endpoints };
}
