// Benchmark `npm run bench:launch`, in one run:
// (a) launch to QMP ready (paused q35, TCG) through vmlaunch's launch() against the same argv
//     spawned by a minimal python3 script that does only the QMP handshake — the baseline;
//     line `launch-overhead-ratio: <ours / baseline>` (target <= 1.10);
// (b) the jail's cost: launch to QMP ready jailed (the default) against `confine: false`, same
//     options, alternating; line `jail-overhead-ratio: <jailed / unjailed>` (target <= 1.05);
// (c) 1,000 query-status round trips through our QMP client against a minimal python3 client on
//     the same QEMU — `qmp-rtt-ratio: <ours / python>` (target <= 1.0), from bench/qmp-rtt.ts.
// Rounds alternate between the two sides and the median is reported: these machines are noisy.
import { spawnSync } from 'node:child_process';
import { buildCommand } from '../launcher/command.js';
import { locateGuestImage } from '../launcher/guest-image.js';
import { launch } from '../launcher/launch.js';
import { runQmpRttBench } from './qmp-rtt.js';
import { BenchReport } from './report.js';

const report = new BenchReport('launch', {
  what: 'launch() of a paused q35 VM (TCG) to QMP ready; 1,000 query-status round trips through our QMP client',
  baseline:
    'the same argv spawned by a minimal python3 script that only does the QMP handshake; a minimal python3 stdlib QMP client on the same QEMU',
});

// Spawns argv with two socketpairs at fds 3 (QMP) and 4 (console), greets, negotiates, prints
// the elapsed ms, then quits QEMU and reaps it.
const PYTHON_BASELINE = String.raw`
import json, os, socket, subprocess, sys, time
argv = json.loads(sys.stdin.read())
t0 = time.perf_counter()
qmp_ours, qmp_theirs = socket.socketpair()
con_ours, con_theirs = socket.socketpair()
def child():
    os.dup2(qmp_theirs.fileno(), 3)
    os.dup2(con_theirs.fileno(), 4)
p = subprocess.Popen(argv, pass_fds=(3, 4), preexec_fn=child, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
qmp_theirs.close(); con_theirs.close()
f = qmp_ours.makefile('rb')
f.readline()
qmp_ours.sendall(b'{"execute":"qmp_capabilities"}\n')
while 'return' not in json.loads(f.readline()):
    pass
elapsed = (time.perf_counter() - t0) * 1000
qmp_ours.sendall(b'{"execute":"quit"}\n')
p.wait()
print(elapsed)
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function launchOverhead(rounds: number): Promise<{ ours: number; baseline: number }> {
  const guest = await locateGuestImage();
  const options = {
    kernel: guest.kernel,
    initrd: guest.initrd,
    accel: 'tcg' as const,
    paused: true,
  };
  const argv = buildCommand({
    machine: { template: 'q35' },
    accel: 'tcg',
    cpus: 1,
    memory: { sizeMiB: 512, shared: false },
    boot: { kernel: guest.kernel, initrd: guest.initrd },
    qmp: { fd: 3 },
    console: { kind: 'fd', fd: 4 },
    paused: true,
  }).argv;
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < rounds + 1; i++) {
    const started = performance.now();
    const vm = await launch(options);
    const ms = performance.now() - started;
    report.accel(vm.accel.accel);
    await vm.shutdown({ timeout: 0 });
    const python = spawnSync('python3', ['-c', PYTHON_BASELINE], {
      input: JSON.stringify(argv),
      encoding: 'utf8',
    });
    if (python.status !== 0) throw new Error(`baseline failed: ${python.stderr}`);
    if (i === 0) continue; // warm-up round: page cache, JIT
    ours.push(ms);
    baseline.push(Number(python.stdout.trim()));
  }
  report.samples('launch() to QMP ready', ours);
  report.samples('python3 minimal spawner to QMP ready (baseline)', baseline);
  return { ours: median(ours), baseline: median(baseline) };
}

// Launch to QMP ready with the jail (default) and without, rounds alternating.
async function jailOverhead(rounds: number): Promise<{ jailed: number; unjailed: number }> {
  const guest = await locateGuestImage();
  const base = { kernel: guest.kernel, initrd: guest.initrd, accel: 'tcg' as const, paused: true };
  const jailed: number[] = [];
  const unjailed: number[] = [];
  for (let i = 0; i < rounds + 1; i++) {
    for (const confine of i % 2 === 0 ? [true, false] : [false, true]) {
      const started = performance.now();
      const vm = await launch({ ...base, confine });
      const ms = performance.now() - started;
      await vm.shutdown({ timeout: 0 });
      if (i > 0) (confine ? jailed : unjailed).push(ms);
    }
  }
  return { jailed: median(jailed), unjailed: median(unjailed) };
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const launchResult = await launchOverhead(rounds);
console.log(
  `launch-to-qmp-ready vmlaunch launch(): ${launchResult.ours.toFixed(1)} ms (median of ${rounds}, paused q35, TCG)`,
);
console.log(
  `launch-to-qmp-ready python3 minimal spawner (baseline): ${launchResult.baseline.toFixed(1)} ms (same argv)`,
);
const jail = await jailOverhead(rounds);
console.log(
  `launch-to-qmp-ready jailed: ${jail.jailed.toFixed(1)} ms; confine: false: ${jail.unjailed.toFixed(1)} ms (median of ${rounds})`,
);
const rtt = await runQmpRttBench();
console.log(
  `qmp-rtt vmlaunch: ${rtt.oursUs.toFixed(1)} us/op; python3 stdlib client: ${rtt.pythonUs.toFixed(1)} us/op`,
);
report.value('qmp round trip, vmlaunch', rtt.oursUs, 'us/op');
report.value('qmp round trip, python3 stdlib client', rtt.pythonUs, 'us/op');
report.ratio(
  'launch-overhead-ratio',
  launchResult.ours / launchResult.baseline,
  'median launch() to QMP ready / median python3 spawner (target <= 1.10)',
);
report.ratio(
  'qmp-rtt-ratio',
  rtt.ratio,
  'our QMP round trip / python3 stdlib client (target <= 1.0)',
);
report.ratio(
  'jail-overhead-ratio',
  jail.jailed / jail.unjailed,
  'median launch() to QMP ready, jailed / confine: false (target <= 1.05)',
);
report.write();
