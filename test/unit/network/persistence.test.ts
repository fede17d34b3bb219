import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import type { Endpoint } from '../../../network/endpoints/types.js';
import {
  parseNetnsRecord,
  serializeNetnsRecord,
  type NetnsRecord,
} from '../../../network/persistence.js';

const everyKind: Endpoint[] = [
  {
    kind: 'veth',
    name: 'eth0',
    interworking: 'tcfilter',
    mac: '52:54:00:12:34:56',
    mtu: 1450,
    queues: 2,
    addresses: ['10.1.0.2/24', 'fd00::2/64'],
    routes: [
      { dst: 'default', gateway: '10.1.0.1' },
      { dst: '10.2.0.0/16', mtu: 1400 },
    ],
  },
  { kind: 'veth', name: 'eth1', interworking: 'macvtap' },
  { kind: 'veth', name: 'eth2', interworking: 'bridged' },
  { kind: 'veth', name: 'eth3', interworking: 'none' },
  { kind: 'tap', name: 'tap0', create: true, queues: 4 },
  { kind: 'macvtap', name: 'mvt0', mac: '52:54:00:00:00:01' },
  { kind: 'vhost-user', socketPath: '/run/vml/vu0.sock', mode: 'client', queues: 2 },
  { kind: 'physical', pciAddress: '0000:01:00.0', driver: 'ixgbe', vendorDevice: '8086:10fb' },
];

const record: NetnsRecord = {
  version: 1,
  path: '/run/netns/vml-x',
  createdByUs: true,
  endpoints: everyKind,
};

describe('netns records', () => {
  it('round-trip through JSON for every endpoint kind', () => {
    expect(parseNetnsRecord(serializeNetnsRecord(record))).toEqual(record);
  });

  it('never persist a file descriptor smuggled into an endpoint', () => {
    const withFd = { ...record, endpoints: [{ kind: 'tap', name: 'tap0', fds: [7] }] };
    expect(() => serializeNetnsRecord(withFd as unknown as NetnsRecord)).toThrow(
      /record\.endpoints\[0\]\.fds/,
    );
  });

  it.each([
    ['{', 'record', 'JSON'],
    ['[]', 'record', 'TYPE'],
    ['{"path":"/run/netns/x","createdByUs":true,"endpoints":[]}', 'record.version', 'REQUIRED'],
    [
      '{"version":2,"path":"/run/netns/x","createdByUs":true,"endpoints":[]}',
      'record.version',
      'VERSION',
    ],
    ['{"version":1,"createdByUs":true,"endpoints":[]}', 'record.path', 'REQUIRED'],
    ['{"version":1,"path":"/x","endpoints":[]}', 'record.createdByUs', 'REQUIRED'],
    ['{"version":1,"path":"/x","createdByUs":false}', 'record.endpoints', 'REQUIRED'],
    [
      '{"version":1,"path":"/x","createdByUs":false,"endpoints":[{"kind":"wifi"}]}',
      'record.endpoints[0].kind',
      'KIND',
    ],
    [
      '{"version":1,"path":"/x","createdByUs":false,"endpoints":[{"kind":"tap"}]}',
      'record.endpoints[0].name',
      'VALIDATION',
    ],
    [
      '{"version":1,"path":"/x","createdByUs":false,"endpoints":[{"kind":"veth","name":"e","interworking":"nat"}]}',
      'record.endpoints[0].interworking',
      'INTERWORKING',
    ],
    [
      '{"version":1,"path":"/x","createdByUs":false,"extra":1,"endpoints":[]}',
      'record.extra',
      'UNKNOWN_FIELD',
    ],
  ])('reject %s naming %s', (text, path, code) => {
    const error = (() => {
      try {
        parseNetnsRecord(text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path, code });
  });
});
