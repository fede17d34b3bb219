import { describe, expect, it } from 'vitest';
import { parseDriveSpec, parseShareSpec } from '../../../../launcher/cli/workload-spec.js';
import { UsageError } from '../../../../launcher/cli/usage.js';

describe('parseDriveSpec', () => {
  it('takes a bare path, made absolute against cwd', () => {
    expect(parseDriveSpec('disk.img', '/work')).toEqual({ path: '/work/disk.img' });
    expect(parseDriveSpec('/abs/disk.img', '/work')).toEqual({ path: '/abs/disk.img' });
  });

  it('reads every option', () => {
    expect(
      parseDriveSpec('/d.qcow2,format=qcow2,ro,ephemeral,serial=data-1,mount=/mnt/data'),
    ).toEqual({
      path: '/d.qcow2',
      format: 'qcow2',
      readOnly: true,
      ephemeral: true,
      serial: 'data-1',
      mount: '/mnt/data',
    });
    expect(parseDriveSpec('/d,format=raw')).toEqual({ path: '/d', format: 'raw' });
  });

  it('keeps a doubled comma in the path as one comma', () => {
    expect(parseDriveSpec('/images/a,,b.img,ro')).toEqual({
      path: '/images/a,b.img',
      readOnly: true,
    });
  });

  it.each([
    ['', /no image path/],
    [',ro', /no image path/],
    ['/d,format=vmdk', /raw or qcow2/],
    ['/d,format', /raw or qcow2/],
    ['/d,serial=has space', /serial/],
    ['/d,serial=', /serial/],
    ['/d,serial=123456789012345678901', /serial/],
    ['/d,mount=relative', /guest path/],
    ['/d,mount=/a b', /guest path/],
    ['/d,ro=yes', /takes no value/],
    ['/d,cache=none', /unknown option "cache=none"/],
    ['/d,', /unknown option ""/],
  ])('refuses %j with a usage error', (spec, message) => {
    expect(() => parseDriveSpec(spec)).toThrow(UsageError);
    expect(() => parseDriveSpec(spec)).toThrow(message);
  });
});

describe('parseShareSpec', () => {
  it('reads HOSTDIR:GUESTPATH and ro', () => {
    expect(parseShareSpec('/srv/src:/src')).toEqual({ hostPath: '/srv/src', mount: '/src' });
    expect(parseShareSpec('src:/src,ro', '/home/me')).toEqual({
      hostPath: '/home/me/src',
      mount: '/src',
      readOnly: true,
    });
  });

  it('lets the host directory hold ":" and ","', () => {
    expect(parseShareSpec('/data/a:b,c:/mnt/x')).toEqual({
      hostPath: '/data/a:b,c',
      mount: '/mnt/x',
    });
  });

  it.each([
    ['/srv/src', /HOSTDIR:GUESTPATH/],
    [':/src', /HOSTDIR:GUESTPATH/],
    ['/srv:', /not a guest path/],
    ['/srv:src', /not a guest path/],
    ['/srv:/my src', /not a guest path/],
    ['/srv:/src,rw', /unknown option "rw"/],
  ])('refuses %j with a usage error', (spec, message) => {
    expect(() => parseShareSpec(spec)).toThrow(UsageError);
    expect(() => parseShareSpec(spec)).toThrow(message);
  });
});
