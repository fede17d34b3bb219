import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import {
  parsePrefix,
  validateIfName,
  validateMac,
  validateMtu,
  validateNetnsName,
} from '../../../network/validate.js';

describe('validateIfName', () => {
  it.each(['eth0', 'vml-a', 'a'.repeat(15), 'tap_1.2'])('accepts %j', (name) => {
    expect(validateIfName(name)).toBe(name);
  });

  it.each(['', 'a'.repeat(16), 'a/b', 'a:b', 'a b', 'a\tb', '.', '..', 'é', 'a\nb', 'tap%d'])(
    'rejects %j with a ValidationError naming the field',
    (name) => {
      expect(() => validateIfName(name, 'endpoints[0].name')).toThrow(ValidationError);
      expect(() => validateIfName(name, 'endpoints[0].name')).toThrow(/endpoints\[0\]\.name/);
    },
  );

  it('rejects a non-string', () => {
    expect(() => validateIfName(7)).toThrow(ValidationError);
  });
});

describe('validateMac', () => {
  it('accepts a unicast MAC and lower-cases it', () => {
    expect(validateMac('52:54:00:AB:CD:EF')).toBe('52:54:00:ab:cd:ef');
  });

  it.each([
    '01:00:5e:00:00:01',
    'ff:ff:ff:ff:ff:ff',
    '00:00:00:00:00:00',
    '52:54:00:ab:cd',
    'zz:54:00:ab:cd:ef',
    '52-54-00-ab-cd-ef',
  ])('rejects %j', (mac) => {
    expect(() => validateMac(mac)).toThrow(ValidationError);
  });
});

describe('validateMtu', () => {
  it('accepts the range 68..65535', () => {
    expect(validateMtu(68)).toBe(68);
    expect(validateMtu(9000)).toBe(9000);
  });

  it.each([67, 65536, 1500.5, -1, NaN, '1500'])('rejects %j', (mtu) => {
    expect(() => validateMtu(mtu)).toThrow(ValidationError);
  });
});

describe('validateNetnsName', () => {
  it('accepts vml-test_1', () => {
    expect(validateNetnsName('vml-test_1')).toBe('vml-test_1');
  });

  it.each(['', '.', '..', 'a/b', '-x', 'a b'])('rejects %j', (name) => {
    expect(() => validateNetnsName(name)).toThrow(ValidationError);
  });
});

describe('parsePrefix', () => {
  it('parses IPv4 and IPv6 prefixes', () => {
    expect(parsePrefix('10.0.0.1/24')).toEqual({ address: '10.0.0.1', prefixLen: 24, family: 4 });
    expect(parsePrefix('fd00::1/64')).toEqual({ address: 'fd00::1', prefixLen: 64, family: 6 });
    expect(parsePrefix('10.0.0.1')).toEqual({ address: '10.0.0.1', prefixLen: 32, family: 4 });
  });

  it.each([
    '10.0.0.1/33',
    'fd00::1/129',
    'nope/8',
    '10.0.0.1/x',
    '10.0.0.1/8/8',
    'fe80::1%eth0/64',
  ])('rejects %j', (v) => {
    expect(() => parsePrefix(v)).toThrow(ValidationError);
  });
});
