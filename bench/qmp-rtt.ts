// Benchmark: 1,000 query-status round trips through our QMP client against a minimal python3
// stdlib socket client, both on the same paused QEMU (ours over a socketpair at fd 3, python's
// over a second QMP monitor on a unix socket in a private temp dir). Last line:
// `qmp-rtt-ratio: <ours / python>`; the target is <= 1.0.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { connectQmp } from '../launcher/qmp/index.js';
import { closeFd, socketpair } from '../native/index.js';

/** Result of one benchmark run: microseconds per round trip. */
export interface QmpRttResult {
  iterations: number;
  oursUs: number;
  /** CPU time our process spent per round trip (user + system), the client's own share. */
  oursCpuUs: number;
  pythonUs: number;
  ratio: number;
}

const PYTHON_CLIENT = String.raw`
import json, socket, sys, time
path, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile('rb')
f.readline()
def call(name, i):
    s.sendall((json.dumps({"execute": name, "id": i}) + "\n").encode())
    while True:
        reply = json.loads(f.readline())
        if reply.get("id") == i:
            return reply
call("qmp_capabilities", 0)
for i in range(50):
    call("query-status", i + 1)
best = []
for r in range(rounds):
    t = time.perf_counter_ns()
    for i in range(n):
        call("query-status", i + 100)
    best.append((time.perf_counter_ns() - t) / n / 1000)
print(json.dumps(best))
`;

// Median of a few rounds: one number per method that a noisy neighbour does not swing much.
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

// Measures both clients on one QEMU so the only difference is the client.
export async function runQmpRttBench(iterations = 1000, rounds = 7): Promise<QmpRttResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vml-bench-qmp-'));
  const path = join(dir, 'qmp.sock');
  const [ours, theirs] = socketpair();
  const argv = ['-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-no-user-config'];
  argv.push('-chardev', 'socket,id=qmp,fd=3', '-mon', 'chardev=qmp,mode=control');
  argv.push('-chardev', `socket,id=qmp2,path=${path},server=on,wait=off`);
  argv.push('-mon', 'chardev=qmp2,mode=control');
  let child;
  try {
    child = spawn('qemu-system-x86_64', argv, { stdio: ['ignore', 'ignore', 'inherit', theirs] });
  } finally {
    closeFd(theirs);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const qmp = await connectQmp({ fd: ours }, { connectTimeout: 10_000 });
    for (let i = 0; i < 50; i++) await qmp.queryStatus();
    // Rounds alternate between the two clients so that drift on a shared host hits both alike.
    const oursRounds: number[] = [];
    const pythonRounds: number[] = [];
    let cpuUs = 0;
    for (let r = 0; r < rounds; r++) {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) await qmp.queryStatus();
      const used = process.cpuUsage(cpu);
      cpuUs += (used.user + used.system) / iterations / rounds;
      oursRounds.push(Number(process.hrtime.bigint() - start) / iterations / 1000);
      const args = ['-c', PYTHON_CLIENT, path, String(iterations), '1'];
      const { stdout } = await promisify(execFile)('python3', args, { timeout: 120_000 });
      pythonRounds.push(...(JSON.parse(stdout) as number[]));
    }
    await qmp.quit();
    const oursUs = median(oursRounds);
    const pythonUs = median(pythonRounds);
    return { iterations, oursUs, oursCpuUs: cpuUs, pythonUs, ratio: oursUs / pythonUs };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runQmpRttBench();
  const n = result.iterations;
  console.log(
    `qmp-rtt vmlaunch (launcher/qmp, socketpair): ${n} query-status, ${result.oursUs.toFixed(1)} us/op (median of 7 alternating rounds; our CPU ${result.oursCpuUs.toFixed(1)} us/op)`,
  );
  console.log(
    `qmp-rtt python3 (stdlib socket, unix path): ${n} query-status, ${result.pythonUs.toFixed(1)} us/op (median of 7 alternating rounds)`,
  );
  console.log(`qmp-rtt-ratio: ${result.ratio.toFixed(3)}`);
}
