import { describe, expect, it } from 'vitest';
import {
  AbortError,
  RolledBackError,
  StepError,
  TimeoutError,
  UnsupportedError,
  ValidationError,
  VmlaunchError,
} from '../../../core/index.js';
import { LaunchError } from '../../../launcher/errors.js';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import { DriverBindError } from '../../../network/endpoints/vfio-sysfs.js';

describe('core errors', () => {
  it('every class is a VmlaunchError with its own name and a stable code', () => {
    const cases: Array<[VmlaunchError, string, string]> = [
      [new ValidationError('endpoints[0].mac', 'zz', 'not a MAC'), 'ValidationError', 'VALIDATION'],
      [new UnsupportedError('no vhost-net'), 'UnsupportedError', 'UNSUPPORTED'],
      [new TimeoutError('no greeting'), 'TimeoutError', 'TIMEOUT'],
      [new AbortError(), 'AbortError', 'ABORTED'],
      [new StepError('open tap', new Error('x')), 'StepError', 'STEP_FAILED'],
    ];
    for (const [error, name, code] of cases) {
      expect(error).toBeInstanceOf(VmlaunchError);
      expect(error).toBeInstanceOf(Error);
      expect({ name: error.name, code: error.code }).toEqual({ name, code });
    }
  });

  it('keeps the cause it is given', () => {
    const reason = new Error('caller left');
    expect(new AbortError('stopped', { cause: reason }).cause).toBe(reason);
    expect(new UnsupportedError('no', { cause: reason }).cause).toBe(reason);
    expect(new TimeoutError('late', { cause: reason }).cause).toBe(reason);
  });

  it('a ValidationError names the field and shows the value, shortened', () => {
    const error = new ValidationError('cmdline', 'x'.repeat(200), 'too long');
    expect(error.path).toBe('cmdline');
    expect(error.message).toMatch(/^cmdline: too long \(got "x+\.\.\.\)$/);
    expect(error.message.length).toBeLessThan(120);
    expect(new ValidationError('a', 1, 'r', 'FILE').code).toBe('FILE');
  });

  it('a StepError takes its code from a VmlaunchError cause, and lists rollback failures', () => {
    const cause = new UnsupportedError('vhost-net is absent');
    const leftover = new VmlaunchError('undo delete tap: EBUSY', 'ROLLBACK_FAILED');
    const error = new StepError('open vhost-net', cause, [leftover]);
    expect(error).toMatchObject({ code: 'UNSUPPORTED', step: 'open vhost-net' });
    expect(error.cause).toBe(cause);
    expect(error.rollbackErrors).toEqual([leftover]);
    expect(error.message).toBe(
      'open vhost-net: vhost-net is absent; rollback also failed: undo delete tap: EBUSY',
    );
  });

  it('launch, hot-plug and endpoint step errors share one step-with-rollback base', () => {
    const launch = new LaunchError('launch failed at spawn: ENOENT', {
      argv: ['q'],
      step: 'spawn',
    });
    const hotplug = new HotplugError('net1', 'device_add', new Error('no slot'), [
      new Error('undo getfd: gone'),
    ]);
    const step = new StepError('read veth', new Error('ENODEV'));
    for (const error of [launch, hotplug, step]) expect(error).toBeInstanceOf(RolledBackError);
    expect(launch).toMatchObject({ step: 'spawn', code: 'LAUNCH', rollbackErrors: [] });
    expect(hotplug).toMatchObject({ step: 'device_add', code: 'HOTPLUG_FAILED', nicId: 'net1' });
    expect(hotplug.message).toBe(
      'hot-plug of net1 failed at device_add: no slot; rollback also failed: undo getfd: gone',
    );
  });

  it('a driver that did not bind is a coded VmlaunchError', () => {
    const error = new DriverBindError('0000:00:05.0', 'vfio-pci', undefined);
    expect(error).toBeInstanceOf(VmlaunchError);
    expect(error).toMatchObject({ name: 'DriverBindError', code: 'DRIVER_BIND' });
  });
});
