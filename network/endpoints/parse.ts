// Strict parsing of endpoints from untrusted data (JSON files, CLI specs): every field checked,
// unknown fields refused, each error naming the field path and the offending value.
import { ValidationError } from '../../core/index.js';
import { parsePrefix, validateIfName, validateMac, validateMtu } from '../validate.js';
import { isReservedLinkName } from './names.js';
import { ENDPOINT_KINDS, INTERWORKING_MODELS, type Endpoint, type EndpointRoute } from './types.js';

/** Largest queue count for a tap (MAX_TAP_QUEUES in drivers/net/tun.c). */
export const MAX_QUEUES = 256;
/** sun_path is 108 bytes including the NUL (include/uapi/linux/un.h). */
export const SOCKET_PATH_MAX = 107;
const PCI_ADDRESS_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

type Fields = Record<string, unknown>;

// A plain object at `path`.
function object(value: unknown, path: string): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(path, value, 'expected an object', 'TYPE');
  }
  return value as Fields;
}

// Refuses fields this kind does not have.
function onlyKeys(value: Fields, keys: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new ValidationError(
        `${path}.${key}`,
        value[key],
        `unknown field; expected one of ${keys.join(', ')}`,
        'UNKNOWN_FIELD',
      );
    }
  }
}

// A required string field.
function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(
      path,
      value,
      'expected a non-empty string',
      value === undefined ? 'REQUIRED' : 'TYPE',
    );
  }
  return value;
}

// Queue count 1..MAX_QUEUES.
export function validateQueues(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_QUEUES) {
    throw new ValidationError(
      path,
      value,
      `queues must be an integer from 1 to ${MAX_QUEUES}`,
      'QUEUES',
    );
  }
  return value;
}

// An absolute unix socket path that fits sun_path.
export function validateSocketPath(value: unknown, path: string): string {
  const socketPath = text(value, path);
  if (!socketPath.startsWith('/')) {
    throw new ValidationError(
      path,
      value,
      'a vhost-user socket path must be absolute',
      'SOCKET_PATH',
    );
  }
  if (Buffer.byteLength(socketPath) > SOCKET_PATH_MAX) {
    throw new ValidationError(
      path,
      value,
      `a unix socket path is at most ${SOCKET_PATH_MAX} bytes`,
      'SOCKET_PATH',
    );
  }
  if (socketPath.includes('\0'))
    throw new ValidationError(path, value, 'NUL in a socket path', 'SOCKET_PATH');
  return socketPath;
}

// A full PCI address like 0000:01:00.0 (lower-case hex).
export function validatePciAddress(value: unknown, path: string): string {
  if (typeof value !== 'string' || !PCI_ADDRESS_RE.test(value)) {
    throw new ValidationError(path, value, 'a PCI address looks like 0000:01:00.0', 'PCI_ADDRESS');
  }
  return value;
}

// The optional mac/mtu/queues fields shared by NIC kinds.
function nicFields(value: Fields, path: string): void {
  if (value.mac !== undefined) value.mac = validateMac(value.mac, `${path}.mac`);
  if (value.mtu !== undefined) validateMtu(value.mtu, `${path}.mtu`);
  if (value.queues !== undefined) validateQueues(value.queues, `${path}.queues`);
}

// A route captured by scan.
function route(value: unknown, path: string): EndpointRoute {
  const fields = object(value, path);
  onlyKeys(fields, ['dst', 'gateway', 'mtu'], path);
  if (fields.dst !== 'default') parsePrefix(fields.dst, `${path}.dst`);
  if (fields.gateway !== undefined) parsePrefix(fields.gateway, `${path}.gateway`);
  if (fields.mtu !== undefined) validateMtu(fields.mtu, `${path}.mtu`);
  return fields as unknown as EndpointRoute;
}

// The addresses and routes scan captured for a link that keeps them (veth, macvlan, ipvlan).
function capturedConfig(value: Fields, path: string): void {
  if (value.addresses !== undefined) {
    if (!Array.isArray(value.addresses))
      throw new ValidationError(`${path}.addresses`, value.addresses, 'expected an array', 'TYPE');
    value.addresses.forEach((a, i) => parsePrefix(a, `${path}.addresses[${i}]`));
  }
  if (value.routes !== undefined) {
    if (!Array.isArray(value.routes))
      throw new ValidationError(`${path}.routes`, value.routes, 'expected an array', 'TYPE');
    value.routes = value.routes.map((r, i) => route(r, `${path}.routes[${i}]`));
  }
}

/**
 * Parses one endpoint; returns a new object (MACs lower-cased).
 * @throws ValidationError naming the field, e.g. 'endpoints[1].mac'.
 */
export function parseEndpoint(input: unknown, path = 'endpoint'): Endpoint {
  const value = { ...object(input, path) };
  const kind = value.kind;
  if (typeof kind !== 'string' || !ENDPOINT_KINDS.includes(kind as Endpoint['kind'])) {
    throw new ValidationError(
      `${path}.kind`,
      kind,
      `unknown endpoint kind; expected one of ${ENDPOINT_KINDS.join(', ')}`,
      'KIND',
    );
  }
  switch (kind as Endpoint['kind']) {
    case 'veth': {
      onlyKeys(
        value,
        ['kind', 'name', 'interworking', 'mac', 'mtu', 'queues', 'addresses', 'routes'],
        path,
      );
      validateIfName(value.name, `${path}.name`);
      if (!INTERWORKING_MODELS.includes(value.interworking as never)) {
        throw new ValidationError(
          `${path}.interworking`,
          value.interworking,
          `expected one of ${INTERWORKING_MODELS.join(', ')}`,
          'INTERWORKING',
        );
      }
      nicFields(value, path);
      capturedConfig(value, path);
      break;
    }
    case 'macvlan':
    case 'ipvlan':
      onlyKeys(value, ['kind', 'name', 'mac', 'mtu', 'queues', 'addresses', 'routes'], path);
      validateIfName(value.name, `${path}.name`);
      nicFields(value, path);
      capturedConfig(value, path);
      break;
    case 'tap':
      onlyKeys(value, ['kind', 'name', 'create', 'mac', 'mtu', 'queues'], path);
      validateIfName(value.name, `${path}.name`);
      if (value.create !== undefined && typeof value.create !== 'boolean') {
        throw new ValidationError(`${path}.create`, value.create, 'expected a boolean', 'TYPE');
      }
      // docs/faults.md T18: a tap we create under a name of our own links' shape could clash
      // with one of them.
      if (value.create === true && isReservedLinkName(value.name as string)) {
        throw new ValidationError(
          `${path}.name`,
          value.name,
          'names of the form vml<t|m|b><8 hex digits> are reserved for the links vmlaunch names itself',
        );
      }
      nicFields(value, path);
      break;
    case 'macvtap':
      onlyKeys(value, ['kind', 'name', 'mac', 'mtu', 'queues'], path);
      validateIfName(value.name, `${path}.name`);
      nicFields(value, path);
      break;
    case 'vhost-user':
      onlyKeys(value, ['kind', 'socketPath', 'mode', 'mac', 'mtu', 'queues'], path);
      validateSocketPath(value.socketPath, `${path}.socketPath`);
      if (value.mode !== 'client' && value.mode !== 'server') {
        throw new ValidationError(
          `${path}.mode`,
          value.mode,
          "expected 'client' or 'server'",
          'TYPE',
        );
      }
      nicFields(value, path);
      break;
    case 'physical':
      onlyKeys(value, ['kind', 'pciAddress', 'driver', 'vendorDevice'], path);
      validatePciAddress(value.pciAddress, `${path}.pciAddress`);
      if (value.driver !== undefined) text(value.driver, `${path}.driver`);
      if (
        value.vendorDevice !== undefined &&
        (typeof value.vendorDevice !== 'string' ||
          !/^[0-9a-f]{4}:[0-9a-f]{4}$/.test(value.vendorDevice))
      ) {
        throw new ValidationError(
          `${path}.vendorDevice`,
          value.vendorDevice,
          'expected vendor:device in hex, e.g. 8086:10fb',
          'TYPE',
        );
      }
      break;
  }
  return value as unknown as Endpoint;
}

// Parses a list of endpoints and refuses duplicates (same kind and name/socket/PCI address).
export function parseEndpoints(input: unknown, path = 'endpoints'): Endpoint[] {
  if (!Array.isArray(input)) throw new ValidationError(path, input, 'expected an array', 'TYPE');
  const seen = new Map<string, number>();
  return input.map((item, i) => {
    const endpoint = parseEndpoint(item, `${path}[${i}]`);
    const key = endpointKey(endpoint);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ValidationError(
        `${path}[${i}]`,
        key,
        `duplicates ${path}[${earlier}]`,
        'DUPLICATE',
      );
    }
    seen.set(key, i);
    return endpoint;
  });
}

// What makes two endpoints the same host object.
export function endpointKey(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'veth':
    case 'macvlan':
    case 'ipvlan':
    case 'tap':
    case 'macvtap':
      return `link:${endpoint.name}`;
    case 'vhost-user':
      return `socket:${endpoint.socketPath}`;
    case 'physical':
      return `pci:${endpoint.pciAddress}`;
  }
}
