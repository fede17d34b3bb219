import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import {
  checkArgText,
  escapeOptValue,
  formatOpts,
  formatPositional,
  validateQemuId,
} from '../../../launcher/opts.js';

// An independent reading of QEMU's option syntax (util/qemu-option.c get_opt_value): elements
// end at a single ',', ',,' is a literal comma; the first element may be an implied key.
function parseQemuOpts(text: string): { positional?: string; pairs: [string, string][] } {
  const elements: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        current += ',';
        i++;
        continue;
      }
      elements.push(current);
      current = '';
      continue;
    }
    current += text[i];
  }
  elements.push(current);
  const pairs: [string, string][] = [];
  let positional: string | undefined;
  elements.forEach((element, index) => {
    const eq = element.indexOf('=');
    if (eq < 0 && index === 0) positional = element;
    else if (eq < 0) pairs.push([element, '<flag>']);
    else pairs.push([element.slice(0, eq), element.slice(eq + 1)]);
  });
  return { positional, pairs };
}

describe('formatOpts', () => {
  it('renders the golden form: positional, on/off, numbers, undefined dropped', () => {
    expect(
      formatOpts(
        { id: 'n0', fds: '3:4', vhost: false, queues: 2, script: undefined, mq: true },
        { positional: 'tap' },
      ),
    ).toBe('tap,id=n0,fds=3:4,vhost=off,queues=2,mq=on');
  });

  it('keeps an empty string as an empty value (romfile=)', () => {
    expect(formatOpts({ romfile: '' })).toBe('romfile=');
  });

  it('returns an empty string for no options', () => {
    expect(formatOpts({ a: undefined })).toBe('');
  });

  it('doubles commas inside values', () => {
    expect(formatOpts({ path: '/tmp/a,b.sock' })).toBe('path=/tmp/a,,b.sock');
    expect(formatOpts({ path: ',,' })).toBe('path=,,,,');
  });

  it.each([
    ['a comma injection', '/x,server=off'],
    ['a doubled comma', 'a,,b'],
    ['a trailing comma', 'x,'],
    ['an equals sign', 'k=v'],
    ['an equals after a comma', 'x,=y'],
    ['quotes', `"a'b"`],
    ['spaces and shell characters', 'a b;$(rm -rf /)`x`'],
    ['only commas', ',,,'],
  ])('never gains an extra key from %s', (_name, value) => {
    const text = formatOpts({ id: 'c0', path: value, server: true }, { positional: 'socket' });
    const parsed = parseQemuOpts(text);
    expect(parsed.positional).toBe('socket');
    expect(parsed.pairs).toEqual([
      ['id', 'c0'],
      ['path', value],
      ['server', 'on'],
    ]);
  });

  it.each(['a\nb', 'a\rb', 'a\0b'])('rejects %j with a typed error naming the key', (value) => {
    const run = () => formatOpts({ path: value }, { path: 'nics[0]' });
    expect(run).toThrow(ValidationError);
    try {
      run();
    } catch (error) {
      expect((error as ValidationError).code).toBe('QEMU_ARG_CONTROL_CHAR');
      expect((error as ValidationError).path).toBe('nics[0].path');
    }
  });

  it.each(['', '1abc', 'a,b', 'a=b', 'a b', 'é'])('rejects the key %j', (key) => {
    expect(() => formatOpts({ [key]: 'x' })).toThrow(/a QEMU option key/);
  });

  it('rejects non-finite numbers and other types', () => {
    expect(() => formatOpts({ size: Number.NaN })).toThrow(ValidationError);
    expect(() => formatOpts({ size: Infinity })).toThrow(/finite/);
    expect(() => formatOpts({ x: {} as unknown as string })).toThrow(/string, number or boolean/);
  });
});

describe('formatPositional', () => {
  it('escapes commas and refuses = (it would become a key)', () => {
    expect(formatPositional('512M')).toBe('512M');
    expect(formatPositional('a,b')).toBe('a,,b');
    expect(() => formatPositional('type=tap')).toThrow(/without '='/);
    expect(() => formatPositional('')).toThrow(ValidationError);
  });

  it('is used by formatOpts for the leading element', () => {
    expect(() => formatOpts({ id: 'x' }, { positional: 'a=b', path: 'netdev' })).toThrow(
      expect.objectContaining({ path: 'netdev', code: 'QEMU_OPT_POSITIONAL' }) as Error,
    );
  });
});

describe('escapeOptValue / checkArgText', () => {
  it('escape only commas, reject NUL and line breaks', () => {
    expect(escapeOptValue('a,b=c "d"')).toBe('a,,b=c "d"');
    expect(checkArgText('console=ttyS0 quiet', 'boot')).toBe('console=ttyS0 quiet');
    expect(() => checkArgText('a\nb', 'boot.cmdline')).toThrow(/boot\.cmdline/);
  });
});

describe('validateQemuId', () => {
  it.each(['n0', 'nic-a.b_c', 'pcie.0'])('accepts %j', (id) => {
    expect(validateQemuId(id, 'id')).toBe(id);
  });
  it.each(['', '0a', 'a,b', 'a b', '-a', 'a/b', 'x'.repeat(128)])('rejects %j', (id) => {
    expect(() => validateQemuId(id, 'nics[2].id')).toThrow(
      expect.objectContaining({ code: 'QEMU_ID', path: 'nics[2].id' }) as Error,
    );
  });
});
