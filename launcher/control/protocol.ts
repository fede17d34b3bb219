// The control protocol between `vmlaunch run` (the server, which owns QMP and the host
// plumbing) and `vmlaunch attach|detach|list|exec` (clients): one JSON object per line each
// way, every request answered by exactly one response carrying the request's id.
import {
  checkRateChange,
  type NicRate,
  type NicRateChange,
} from '../../network/endpoints/rate-limit.js';
import { ControlError } from './errors.js';

/** Version of the protocol; a response carries it so a client can refuse a stranger. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** Longest line either side accepts (a guest command's output is the largest payload). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Hot-plug an endpoint given as a CLI spec (`veth:eth1@ns`), optionally with a NIC id. */
export interface AttachRequest {
  op: 'attach';
  spec: string;
  nicId?: string;
  timeout?: number;
}

/** Hot-unplug NIC `nicId`; wait up to `timeout` ms for the guest to let go. */
export interface DetachRequest {
  op: 'detach';
  nicId: string;
  timeout?: number;
}

/** What the VM is and which NICs it has. */
export interface StatusRequest {
  op: 'status';
}

/** Run a shell command in the guest (over the console shell). */
export interface ExecRequest {
  op: 'exec';
  command: string;
  timeout?: number;
}

/** Live control of NIC `nicId`: set its link and rate, then (with `stats`) read its counters. */
export interface NicRequest {
  op: 'nic';
  nicId: string;
  link?: 'up' | 'down';
  /** Per direction: a limit { rate, burst? } in bytes, null to remove (NicRateChange). */
  rate?: NicRateChange;
  stats?: boolean;
}

/** Save the VM's state to `path` (absolute; created, never overwritten) and its manifest. */
export interface SnapshotRequest {
  op: 'snapshot';
  path: string;
  then?: 'pause' | 'resume' | 'shutdown';
  timeout?: number;
}

/** Every request, with the id the response echoes. */
export type ControlRequest = (
  AttachRequest | DetachRequest | StatusRequest | ExecRequest | NicRequest | SnapshotRequest
) & {
  id: number;
};

/** The operations, for help texts and validation. */
export const CONTROL_OPS = ['attach', 'detach', 'status', 'exec', 'nic', 'snapshot'] as const;

/** Result of snapshot. */
export interface SnapshotReply {
  path: string;
  manifestPath: string;
  bytes: number;
  saveMs: number;
  /** The RAM image beside the state file, and the bytes it occupies (a shared-memory VM). */
  memoryImage?: { path: string; allocatedBytes: number };
}

/** Result of nic: the link state set, and the counters when asked for (NicStats). */
export interface NicReply {
  nicId: string;
  link?: 'up' | 'down';
  /** The limits in force after a rate change. */
  rate?: NicRate;
  stats?: {
    host?: Record<string, number | string>;
    rxFilter: Record<string, unknown>;
  };
}

/** Result of attach. */
export interface AttachReply {
  nicId: string;
  mac: string;
  bus: string;
  ms: number;
  timings: { host: number; qmp: number; guest?: number };
}

/** Result of detach; `pending` says what state things are in and how it finishes. */
export type DetachReply =
  | { status: 'removed'; nicId: string; ms: number }
  | { status: 'pending'; nicId: string; ms: number; explanation: string };

/** One NIC of a VM, as status lists it. */
export interface NicInfo {
  nicId: string;
  /** 'boot': given with --net at launch; 'hotplug': attached later. */
  origin: 'boot' | 'hotplug';
  kind: string;
  mac?: string;
  bus?: string;
  /** 'unplugging': a detach is still waiting for the guest. */
  state: 'attached' | 'unplugging';
}

/** Result of status. */
export interface StatusReply {
  name: string;
  pid: number;
  qemuPid: number;
  accel: string;
  nics: NicInfo[];
}

/** Result of exec. */
export interface ExecReply {
  output: string;
  status: number;
}

/** A failure as it travels: enough for a typed error on the client and a sentence for a person. */
export interface WireError {
  code: string;
  name: string;
  message: string;
  explanation: string;
}

/** One response line. */
export type ControlResponse =
  | { v: number; id: number | null; ok: true; result: unknown }
  | { v: number; id: number | null; ok: false; error: WireError };

// A plain object, else a protocol error naming what was expected.
function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ControlError('PROTOCOL', `${what}: expected a JSON object`);
  return value as Record<string, unknown>;
}

// An optional positive integer (a timeout in ms).
function optionalMs(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 3_600_000)
    throw new ControlError('PROTOCOL', `${field}: expected milliseconds from 1 to 3600000`);
  return value;
}

// A required non-empty string without NUL.
function text(value: unknown, field: string, max = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || value.includes('\0'))
    throw new ControlError('PROTOCOL', `${field}: expected a non-empty string`);
  return value;
}

// Protects the server from a peer that sends something else than our requests.
/**
 * Parses one request line.
 * @throws ControlError (PROTOCOL) naming the field that is wrong.
 */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new ControlError('PROTOCOL', 'request is not valid JSON', { cause });
  }
  const o = record(value, 'request');
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id))
    throw new ControlError('PROTOCOL', 'id: expected an integer');
  const id = o.id;
  const timeout = optionalMs(o.timeout, 'timeout');
  const withTimeout = timeout === undefined ? {} : { timeout };
  switch (o.op) {
    case 'attach': {
      const nicId = o.nicId === undefined ? undefined : text(o.nicId, 'nicId', 64);
      return {
        id,
        op: 'attach',
        spec: text(o.spec, 'spec'),
        ...(nicId ? { nicId } : {}),
        ...withTimeout,
      };
    }
    case 'detach':
      return { id, op: 'detach', nicId: text(o.nicId, 'nicId', 64), ...withTimeout };
    case 'status':
      return { id, op: 'status' };
    case 'exec':
      return { id, op: 'exec', command: text(o.command, 'command', 65536), ...withTimeout };
    case 'nic': {
      if (o.link !== undefined && o.link !== 'up' && o.link !== 'down')
        throw new ControlError('PROTOCOL', 'link: expected "up" or "down"');
      if (o.stats !== undefined && typeof o.stats !== 'boolean')
        throw new ControlError('PROTOCOL', 'stats: expected a boolean');
      let rate: NicRateChange | undefined;
      try {
        rate = o.rate === undefined ? undefined : checkRateChange(o.rate, 'rate');
      } catch (cause) {
        throw new ControlError('PROTOCOL', `rate: ${(cause as Error).message}`, { cause });
      }
      return {
        id,
        op: 'nic',
        nicId: text(o.nicId, 'nicId', 64),
        ...(o.link !== undefined ? { link: o.link } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(o.stats !== undefined ? { stats: o.stats } : {}),
      };
    }
    case 'snapshot': {
      const path = text(o.path, 'path');
      if (!path.startsWith('/'))
        throw new ControlError('PROTOCOL', 'path: expected an absolute path');
      if (o.then !== undefined && !['pause', 'resume', 'shutdown'].includes(o.then as string))
        throw new ControlError('PROTOCOL', 'then: expected "pause", "resume" or "shutdown"');
      return {
        id,
        op: 'snapshot',
        path,
        ...(o.then !== undefined ? { then: o.then as SnapshotRequest['then'] & string } : {}),
        ...withTimeout,
      };
    }
    default:
      throw new ControlError(
        'PROTOCOL',
        `op: unknown operation ${JSON.stringify(o.op)}; expected ${CONTROL_OPS.join(', ')}`,
      );
  }
}

// The client's side of the same check: a line that is not one of our responses is an error.
/**
 * Parses one response line.
 * @throws ControlError (PROTOCOL) when the line is not a response of this protocol version.
 */
export function parseResponse(line: string): ControlResponse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new ControlError('PROTOCOL', 'response is not valid JSON', { cause });
  }
  const o = record(value, 'response');
  if (o.v !== CONTROL_PROTOCOL_VERSION)
    throw new ControlError(
      'PROTOCOL',
      `response of protocol version ${String(o.v)}; expected ${CONTROL_PROTOCOL_VERSION}`,
    );
  if (o.id !== null && typeof o.id !== 'number')
    throw new ControlError('PROTOCOL', 'response id: expected a number');
  if (o.ok === true) return { v: o.v, id: o.id, ok: true, result: o.result };
  if (o.ok !== false) throw new ControlError('PROTOCOL', 'response ok: expected true or false');
  const e = record(o.error, 'response error');
  const field = (k: string): string => (typeof e[k] === 'string' ? e[k] : '');
  return {
    v: o.v,
    id: o.id,
    ok: false,
    error: {
      code: field('code') || 'UNKNOWN',
      name: field('name') || 'Error',
      message: field('message'),
      explanation: field('explanation') || field('message'),
    },
  };
}

// One line on the wire; JSON.stringify never emits a raw newline, so framing stays intact.
export function encodeLine(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}
