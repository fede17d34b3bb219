import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import {
  parseNetnsRecord,
  serializeNetnsRecord,
  type NetnsRecord,
} from '../../../network/persistence.js';
import { everyEndpointKind as everyKind } from '../../helpers/record-samples.js';

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
