// Reading libvirtd's debug log (CRLF lines, as libvirt 9 writes QMP traffic) into a summary.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainTrace } from '../../../bench/libvirt-trace.js';

const dir = mkdtempSync(join(tmpdir(), 'vml-trace-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (t: string, func: string, msg: string): string =>
  `2026-12-05 11:12:${t}+0000: 24921: info : ${func}:861 : ${msg}\r\n`;

describe('explainTrace', () => {
  it('counts the QMP commands, the time QEMU took to answer, the commands run and the gaps', () => {
    const file = join(dir, 'trace.log');
    writeFileSync(
      file,
      line('50.000', 'virCommandRunAsync', 'About to run LC_ALL=C tc qdisc add dev vmllv0 root') +
        line(
          '50.100',
          'virCommandRunAsync',
          'About to run LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=x',
        ) +
        line(
          '50.200',
          'qemuMonitorSend',
          'QEMU_MONITOR_SEND_MSG: mon=0x1 msg={"execute":"qom-get","id":"libvirt-1"}',
        ) +
        line(
          '50.210',
          'qemuMonitorJSONIOProcessLine',
          'QEMU_MONITOR_RECV_REPLY: mon=0x1 reply={"return": 1}',
        ) +
        line(
          '50.220',
          'qemuMonitorSend',
          'QEMU_MONITOR_SEND_MSG: mon=0x1 msg={"execute":"qom-get","id":"libvirt-2"}',
        ) +
        line(
          '50.250',
          'qemuMonitorJSONIOProcessLine',
          'QEMU_MONITOR_RECV_REPLY: mon=0x1 reply={"return": 2}',
        ) +
        line(
          '50.900',
          'qemuMonitorSend',
          'QEMU_MONITOR_SEND_MSG: mon=0x1 msg={"execute":"cont","id":"libvirt-3"}',
        ) +
        line(
          '50.905',
          'qemuMonitorJSONIOProcessLine',
          'QEMU_MONITOR_RECV_REPLY: mon=0x1 reply={"return": {}}',
        ),
    );
    const [first, qmp, ran, gaps] = explainTrace(file, 'create');
    expect(first).toContain(
      '905 ms from its first to its last log line; QEMU exec at 100 ms, first QMP command at 200 ms, last at 900 ms',
    );
    expect(qmp).toBe(
      'create: 3 QMP commands, QEMU answering them in 45 ms all told: qom-get x2, cont.',
    );
    expect(ran).toBe(
      'create: commands libvirtd ran: tc qdisc add; qemu-system-x86_64 -name guest=x.',
    );
    expect(gaps).toMatch(
      /^create: largest gaps between log lines: 650 ms after qemuMonitorJSONIOProcessLine \(before qemuMonitorSend\)/,
    );
  });

  it('says so when the log has no lines', () => {
    const file = join(dir, 'empty.log');
    writeFileSync(file, '');
    expect(explainTrace(file, 'x')).toEqual([`x: the debug log ${file} had no lines`]);
  });
});
