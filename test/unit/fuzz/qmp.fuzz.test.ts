import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { QmpClient } from '../../../launcher/qmp/client.js';
import { QmpProtocolError } from '../../../launcher/qmp/errors.js';
import { LineSplitter } from '../../../launcher/qmp/framing.js';
import { toErrorBody, toEvent } from '../../../launcher/qmp/types.js';
import type { FakeQmp } from '../../helpers/fake-qmp.js';
import { connectedToFake, openFdCount, settle } from '../launcher/qmp/connected.js';
import { fuzzParams, hostileJson, mutated, valueOrTyped } from './fuzz-params.js';

// Cuts `bytes` at the given points (taken modulo its length) into chunks.
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
    (a, b) => a - b,
  );
  const out: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    out.push(bytes.subarray(start, point));
    start = point;
  }
  out.push(bytes.subarray(start));
  return out;
}

const lineText = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .map((s) => s.replace(/[\r\n]/g, ''));

describe('QMP framing (fuzz)', () => {
  it('yields exactly the non-empty lines, however the bytes are cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(lineText, fc.constantFrom('\n', '\r\n')), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map(([text, end]) => text + end).join(''), 'utf8');
          const splitter = new LineSplitter();
          const seen = chunked(bytes, cuts).flatMap((chunk) => splitter.push(chunk));
          expect(seen).toEqual(lines.map(([text]) => text).filter((text) => text.length > 0));
        },
      ),
      fuzzParams(300),
    );
  });

  it('gives lines or QmpProtocolError on random bytes, never another exception', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const splitter = new LineSplitter(32);
        for (const chunk of chunks) {
          try {
            for (const line of splitter.push(Buffer.from(chunk))) {
              expect(line.length).toBeGreaterThan(0);
              expect(line).not.toContain('\n');
            }
          } catch (error) {
            expect(error).toBeInstanceOf(QmpProtocolError);
          }
        }
      }),
      fuzzParams(300),
    );
  });
});

describe('QMP message handling (fuzz)', () => {
  const reply = { return: { status: 'running' }, id: 1 };
  const error = { error: { class: 'GenericError', desc: 'no' }, id: 1 };
  const event = {
    event: 'DEVICE_DELETED',
    data: { device: 'nic0' },
    timestamp: { seconds: 1, microseconds: 2 },
  };

  it('reads any event or error body into the documented shape, without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(event), hostileJson), (message) => {
        if (message === null || typeof message !== 'object' || Array.isArray(message)) return;
        const read = toEvent(message as Record<string, unknown>);
        expect(typeof read.event).toBe('string');
        expect(typeof read.data).toBe('object');
        expect(
          Number.isNaN(read.timestamp.seconds) || typeof read.timestamp.seconds === 'number',
        ).toBe(true);
        const body = toErrorBody((message as Record<string, unknown>).error);
        expect(typeof body.class).toBe('string');
        expect(typeof body.desc).toBe('string');
      }),
      fuzzParams(500),
    );
  });

  let pair: { fake: FakeQmp; qmp: QmpClient } | undefined;
  afterEach(() => {
    pair?.qmp.close();
    pair?.fake.close();
    pair = undefined;
  });

  it('survives any line a peer sends: the connection stays usable, nothing is thrown or leaked', async () => {
    const fdsBefore = openFdCount();
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              mutated(reply).map((m) => JSON.stringify(m)),
              mutated(error).map((m) => JSON.stringify(m)),
              mutated(event).map((m) => JSON.stringify(m)),
              hostileJson.map((m) => JSON.stringify(m) ?? 'null'),
              fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
            ),
            { minLength: 1, maxLength: 6 },
          ),
          async (lines) => {
            const connected = await connectedToFake();
            pair = connected;
            const { qmp, fake } = connected;
            const events = qmp.events();
            for (const line of lines) fake.sendRaw(`${line}\r\n`);
            const status = qmp.queryStatus();
            const command = await fake.nextCommand();
            fake.reply(command, { running: true, status: 'running' });
            await expect(status).resolves.toMatchObject({ running: true });
            await events.return?.();
            qmp.close();
            fake.close();
            pair = undefined;
          },
        ),
        fuzzParams(40),
      );
      await settle();
      expect(uncaught).toEqual([]);
      expect(openFdCount()).toBe(fdsBefore);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

// The typed-or-value contract itself must reject untyped exceptions, or every suite above is moot.
describe('valueOrTyped', () => {
  it('rethrows an untyped exception', () => {
    expect(() =>
      valueOrTyped(() => {
        throw new TypeError('x');
      }),
    ).toThrow(TypeError);
  });
});
