import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import { parseEndpoint } from '../../../network/endpoints/parse.js';
import { encodeEntry, parseEntry, type NetnsEntry } from '../../../network/journal/entry.js';
import { readJournal } from '../../../network/journal/store.js';
import { parseNetnsRecord, serializeNetnsRecord } from '../../../network/persistence.js';
import { openFdCount } from '../launcher/qmp/connected.js';
import {
  everyEndpointKind as endpoints,
  sampleLinkEntry as linkEntry,
  sampleOwner as owner,
} from '../../helpers/record-samples.js';
import { fuzzParams, hostileJson, mutated, mutatedText, valueOrTyped } from './fuzz-params.js';

const record = { version: 1, path: '/run/netns/vml-x', createdByUs: true, endpoints };
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
