import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closeFd, pidfdExited, pidfdOpen, pidfdSignal } from '../../../native/index.js';

describe('pidfd', () => {
  it('signals a live process, then reports its exit and sends nothing once it is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pidfd = pidfdOpen(child.pid!);
    try {
      expect(pidfdExited(pidfd)).toBe(false);
      expect(pidfdSignal(pidfd, 0)).toBe(true);
      expect(pidfdSignal(pidfd, 'SIGKILL')).toBe(true);
      await exited;
      expect(existsSync(`/proc/${child.pid}`)).toBe(false);
      expect(pidfdExited(pidfd)).toBe(true);
      // Reaped: whatever now holds that pid number, the pidfd still names the dead process.
      expect(pidfdSignal(pidfd, 'SIGKILL')).toBe(false);
    } finally {
      closeFd(pidfd);
    }
  });

  it('refuses a pid that does not exist, and a closed pidfd', () => {
    expect(() => pidfdOpen(4_194_305)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    const pidfd = pidfdOpen(process.pid);
    closeFd(pidfd);
    expect(() => pidfdExited(pidfd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => pidfdSignal(pidfd, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
