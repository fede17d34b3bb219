import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import { parseEndpoint } from '../../../network/endpoints/parse.js';
import type { Endpoint } from '../../../network/endpoints/types.js';
import {
  encodeEntry,
  parseEntry,
  type BorrowedLinkEntry,
  type NetnsEntry,
} from '../../../network/journal/entry.js';
import { readJournal } from '../../../network/journal/store.js';
import { parseNetnsRecord, serializeNetnsRecord } from '../../../network/persistence.js';
import { openFdCount } from '../launcher/qmp/connected.js';
import { fuzzParams, hostileJson, mutated, mutatedText, valueOrTyped } from './fuzz-params.js';

const endpoints: Endpoint[] = [
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
  { kind: 'tap', name: 'tap0', create: true, queues: 4 },
  { kind: 'macvtap', name: 'mvt0', mac: '52:54:00:00:00:01' },
  { kind: 'vhost-user', socketPath: '/run/vml/vu0.sock', mode: 'client', queues: 2 },
  { kind: 'physical', pciAddress: '0000:01:00.0', driver: 'ixgbe', vendorDevice: '8086:10fb' },
];
const record = { version: 1, path: '/run/netns/vml-x', createdByUs: true, endpoints };

const owner = { pid: 4242, start: 746412, boot: 'e96241cd-f277-417a-a9bc-0967cde5989c' };
const linkEntry: BorrowedLinkEntry = {
  version: 1,
  kind: 'borrowed-link',
  owner,
  at: 1_700_000_000_000,
  nicId: 'net0',
  vm: 'vm-1',
  netns: { ref: 'vml-cni', ino: 4026532999 },
  link: {
    index: 2,
    name: 'eth0',
    kind: 'veth',
    mac: '9a:e6:0f:63:50:b1',
    mtu: 1500,
    txqlen: 1000,
    up: true,
    addresses: [
      {
        family: 4,
        address: '10.9.0.2',
        prefixLen: 24,
        scope: 'global',
        flags: 0x80,
        label: 'eth0',
      },
    ],
    routes: [{ family: 4, dst: 'default', gateway: '10.9.0.1', protocol: 3, scope: 'global' }],
    ingress: { present: true, prefs: [1, 49152] },
  },
  creates: [{ name: 'vmlb820d5d8b', kind: 'bridge' }],
};
const netnsEntry: NetnsEntry = {
  version: 1,
  kind: 'netns',
  owner,
  at: 1,
  name: 'vml-demo-1',
  ino: 4026533001,
};

// A parse result must be a value or a ValidationError (our typed error for bad input).
function expectValueOrValidation<T>(run: () => T): T | undefined {
  const outcome = valueOrTyped(run);
  if (outcome instanceof Error) {
    expect(outcome).toBeInstanceOf(ValidationError);
    return undefined;
  }
  return outcome;
}

describe('endpoint and netns record parsing (fuzz)', () => {
  it('parseEndpoint: any JSON value or mutated endpoint gives an Endpoint or a ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(hostileJson, ...endpoints.map((e) => mutated(e))), (input) => {
        const endpoint = expectValueOrValidation(() => parseEndpoint(input));
        // What it accepts, it accepts again unchanged.
        if (endpoint !== undefined) expect(parseEndpoint(endpoint)).toEqual(endpoint);
      }),
      fuzzParams(500),
    );
  });

  it('parseNetnsRecord: any text gives a record that round-trips, or a ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedText(mutated(record)), fc.string({ maxLength: 60 })), (text) => {
        const parsed = expectValueOrValidation(() => parseNetnsRecord(text));
        if (parsed !== undefined)
          expect(parseNetnsRecord(serializeNetnsRecord(parsed))).toEqual(parsed);
      }),
      fuzzParams(500),
    );
  });
});

describe('journal reader (fuzz)', () => {
  it('parseEntry: any text gives an entry that round-trips, or a ValidationError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedText(mutated(linkEntry)),
          mutatedText(mutated(netnsEntry)),
          fc.string({ maxLength: 60 }),
        ),
        (text) => {
          const entry = expectValueOrValidation(() => parseEntry(text));
          if (entry !== undefined) expect(parseEntry(encodeEntry(entry))).toEqual(entry);
        },
      ),
      fuzzParams(500),
    );
  });

  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vml-fuzz-journal-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('readJournal: a directory of any files never throws; each file is an entry or a problem, and no fd leaks', () => {
    const fdsBefore = openFdCount();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              fc.constant('4242-net0.link.json'),
              fc.constant('4242-vml-demo-1.netns.json'),
              fc.constant('1-x.link.json'),
              fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 }),
            ),
            fc.oneof(
              mutatedText(mutated(linkEntry)),
              mutatedText(mutated(netnsEntry)),
              fc.string({ maxLength: 40 }),
            ),
          ),
          { maxLength: 5 },
        ),
        (files) => {
          const here = mkdtempSync(join(dir, 'r-'));
          const written = new Set<string>();
          for (const [name, text] of files) {
            const safe = name.replace(/[/\0]/g, '_');
            if (safe === '.' || safe === '..' || safe === '') continue;
            writeFileSync(join(here, safe), text);
            written.add(safe);
          }
          const read = readJournal(here);
          expect(
            read.entries.length + read.problems.length + read.staleTemps.length,
          ).toBeLessThanOrEqual(written.size);
          rmSync(here, { recursive: true, force: true });
        },
      ),
      fuzzParams(100),
    );
    expect(openFdCount()).toBe(fdsBefore);
  });
});
