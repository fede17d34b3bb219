// T5: QEMU's monitor socket reaches EOF while the VM sits idle. A fake QEMU (a small Python
// program behind the launcher's real spawn, socketpair and QMP client) greets, answers
// query-status, leaves every other command unanswered, and on SIGUSR1 closes its QMP fd while
// the process lives on; it exits with code 1 on SIGUSR2. The leak snapshot checks our fds,
// runtime children and netns before and after.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { QmpDisconnectedError } from '../../../launcher/qmp/errors.js';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const ws = useFakeQemuWorkspace('qmp-eof');

// A Python program cannot run QEMU's seccomp sandbox (on by default), and the jail's uid cannot
// exec a script in the private temp dir: these launches turn both off.
// QMP on the inherited fd 3 (launch passes the socketpair end there), console on fd 4 (ignored).
const FAKE_QEMU = `exec python3 - "$@" <<'PY'
import json, os, signal, socket, sys, time
qmp = socket.socket(fileno=3)
state = {"closed": False}
def close_qmp(*_):
    if not state["closed"]:
        state["closed"] = True
        qmp.shutdown(socket.SHUT_RDWR)
        qmp.close()
def crash(*_):
    os._exit(1)
signal.signal(signal.SIGUSR1, close_qmp)
signal.signal(signal.SIGUSR2, crash)
greeting = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": "fake"}, "capabilities": []}}
qmp.sendall((json.dumps(greeting) + "\\r\\n").encode())
reader = qmp.makefile("rb")
try:
    for line in reader:
        command = json.loads(line)
        if command["execute"] == "qmp_capabilities":
            answer = {"return": {}, "id": command["id"]}
        elif command["execute"] == "query-status":
            answer = {"return": {"running": True, "status": "running"}, "id": command["id"]}
        else:
            continue
        qmp.sendall((json.dumps(answer) + "\\r\\n").encode())
except (OSError, ValueError):
    pass
while True:
    time.sleep(1)
PY`;

// Why this test cannot run here, or undefined.
function pythonMissing(): string | undefined {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs python3 (the fake QEMU of this test)';
  }
}

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

describe.runIf(prerequisite('QMP EOF with a fake QEMU', pythonMissing()))(
  'a QMP socket that closes while QEMU lives on (T5)',
  () => {
    it('T5: a pending call rejects as interrupted, later calls fail at once, and the VM is crashed once the exit is seen', async () => {
      const before = ours();
      const qemu = ws.script('qemu-eof', FAKE_QEMU);
      const vm = await launch({
        kernel: ws.kernel,
        accel: 'tcg',
        sandbox: false,
        confine: false,
        qemu,
        qmpConnectTimeout: 10_000,
      });
      try {
        expect(await vm.qmp.queryStatus()).toMatchObject({ status: 'running' });
        // A call QEMU never answers is pending when the monitor goes away.
        const pending = vm.qmp.execute('human-monitor-command', { 'command-line': 'info cpus' });
        const closed = vm.qmp.whenClosed();
        process.kill(vm.pid, 'SIGUSR1');
        await closed;
        const error = await pending.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(QmpDisconnectedError);
        expect(error).toMatchObject({ interrupted: true, code: 'QMP_DISCONNECTED' });

        // A later call does not hang: it fails at once, without being sent.
        const started = Date.now();
        const later = await vm.qmp.queryStatus({ timeout: 5000 }).catch((e: unknown) => e);
        expect(later).toBeInstanceOf(QmpDisconnectedError);
        expect(later).toMatchObject({ interrupted: false, command: 'query-status' });
        expect(Date.now() - started).toBeLessThan(100);

        // QEMU itself is still alive: not crashed yet, only once its exit is observed.
        expect(vm.process.running).toBe(true);
        expect(vm.state).toBe('running');
        process.kill(vm.pid, 'SIGUSR2');
        const exit = await vm.exited;
        expect(exit).toMatchObject({ code: 1, unexpected: true });
        expect(vm.state).toBe('crashed');
        expect(vm.leftovers).toEqual([]);
      } finally {
        await vm.kill();
      }
      // No half-closed socket, no child left: our fds and children are as before.
      expect(diffSnapshots(before, ours())).toEqual([]);
    });

    it('T5: an idle EOF followed by shutdown() climbs down the ladder without waiting on the dead monitor', async () => {
      const before = ours();
      const qemu = ws.script('qemu-eof-shutdown', FAKE_QEMU);
      const vm = await launch({
        kernel: ws.kernel,
        accel: 'tcg',
        sandbox: false,
        confine: false,
        qemu,
        qmpConnectTimeout: 10_000,
      });
      const closed = vm.qmp.whenClosed();
      process.kill(vm.pid, 'SIGUSR1');
      await closed;
      const started = Date.now();
      const exit = await vm.shutdown({ timeout: 5000, quitTimeout: 5000, termTimeout: 5000 });
      // powerdown and quit fail at once on the closed monitor; SIGTERM ends the process.
      expect(exit).toMatchObject({ rung: 'sigterm', signal: 'SIGTERM', unexpected: false });
      expect(Date.now() - started).toBeLessThan(4000);
      expect(vm.state).toBe('exited');
      expect(diffSnapshots(before, ours())).toEqual([]);
    });
  },
);
