import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAddress } from '../../../network/netlink/addresses.js';
import { decodeAttrs, encodeAttr } from '../../../network/netlink/attributes.js';
import { decodeLink } from '../../../network/netlink/link-parse.js';
import {
  decodeDone,
  decodeError,
  decodeMessages,
  encodeMessage,
  type NetlinkMessage,
} from '../../../network/netlink/message.js';
import { decodeRoute } from '../../../network/netlink/routes.js';
import { decodeQdisc, decodeRedirectFilter } from '../../../network/netlink/tc-requests.js';
import { fuzzParams, valueOrTyped } from './fuzz-params.js';

// Attribute trees as the kernel nests them (IFLA_LINKINFO > IFLA_INFO_DATA, TCA_OPTIONS > ...),
// with small type numbers so that random trees hit the attributes the decoders read.
const attrTree: fc.Arbitrary<Buffer> = fc.letrec<{ attr: Buffer }>((tie) => ({
  attr: fc.oneof(
    { depthSize: 'small' },
    fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.uint8Array({ maxLength: 20 }))
      .map(([type, bytes]) => encodeAttr(type, Buffer.from(bytes))),
    fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.array(tie('attr'), { maxLength: 3 }))
      .map(([type, children]) => encodeAttr(type, Buffer.concat(children))),
  ),
})).attr;

// A payload: a family header of random bytes and length, then attributes, maybe cut short.
const payload = fc
  .tuple(fc.uint8Array({ maxLength: 24 }), fc.array(attrTree, { maxLength: 6 }), fc.nat())
  .map(([header, attrs, cut]) => {
    const whole = Buffer.concat([Buffer.from(header), ...attrs]);
    return cut % 4 === 0 ? whole.subarray(0, cut % (whole.length + 1)) : whole;
  });

const message = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), payload)
  .map(([type, flags, p]): NetlinkMessage => ({
    type,
    flags,
    seq: 1,
    pid: 0,
    payload: Buffer.from(p),
  }));

const decoders: Array<[string, (m: NetlinkMessage) => unknown]> = [
  ['decodeError', decodeError],
  ['decodeDone', decodeDone],
  ['decodeLink', decodeLink],
  ['decodeAddress', decodeAddress],
  ['decodeRoute', decodeRoute],
  ['decodeQdisc', decodeQdisc],
  ['decodeRedirectFilter', decodeRedirectFilter],
];

describe('netlink decoding (fuzz)', () => {
  it('splits any datagram into messages that lie inside it, never throwing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.array(message, { maxLength: 4 }),
        (noise, msgs) => {
          const framed = Buffer.concat(
            msgs.map((m) => encodeMessage(m.type, m.flags, m.seq, [m.payload])),
          );
          for (const buf of [
            Buffer.from(noise),
            framed,
            Buffer.concat([framed, Buffer.from(noise)]),
          ]) {
            for (const m of decodeMessages(buf))
              expect(m.payload.length).toBeLessThanOrEqual(buf.length);
          }
          // What we frame decodes back to itself.
          const back = decodeMessages(framed);
          expect(back.map((m) => [m.type, m.flags, m.seq])).toEqual(
            msgs.map((m) => [m.type, m.flags, m.seq]),
          );
          back.forEach((m, i) =>
            expect(m.payload.subarray(0, msgs[i]!.payload.length)).toEqual(msgs[i]!.payload),
          );
        },
      ),
      fuzzParams(300),
    );
  });

  it('walks any attribute bytes without reading past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        const buf = Buffer.from(bytes);
        for (const attr of decodeAttrs(buf))
          expect(attr.data.length).toBeLessThanOrEqual(buf.length);
      }),
      fuzzParams(300),
    );
  });

  for (const [name, decode] of decoders) {
    it(`${name}: any message gives a value or a typed error`, () => {
      fc.assert(
        fc.property(message, (m) => {
          valueOrTyped(() => decode(m));
        }),
        fuzzParams(300),
      );
    });
  }
});
