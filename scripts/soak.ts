// `npm run soak`: docs/faults.md T28 at full size, with its report. (1) 1000 NIC hot-plug/unplug
// cycles on one q35 VM (rate-limited NICs: their tbf qdiscs are in the leak snapshot); (2) 100 create/destroy cycles, every one booting the guest to its shell
// and powering it off (the CI test boots every 10th); (3) 5 rounds of 20 VMs launched at once.
// Every set of the leak snapshot is checked after every cycle (round); each part prints p50/p95
// of its operations and its leak verdict, and stops at the first leak, printing what grew.
// (4) 1000 drive hot-plug/unplug cycles on one q35 VM, QEMU's fds, fdsets and block nodes
// compared every 100 cycles. (5) The property (fuzz) suites of test/unit/fuzz at 100x their CI
// run count (--fuzz-scale), seed --fuzz-seed; needs no QEMU.
// Options: --only hotplug,churn,parallel,drives,fuzz  --hotplug-cycles N  --churn-cycles N
//          --churn-boot-every N  --vms N  --rounds N  --drive-cycles N  --fuzz-scale N
//          --fuzz-seed N
// Exit status 1 when a part failed. Ctrl-C stops between cycles and cleans up.
import { parseArgs } from 'node:util';
import { churnReportLines, runChurn } from '../test/helpers/soak-churn.js';
import { hotplugReportLines, runHotplugSoak } from '../test/helpers/soak-hotplug.js';
import { parallelReportLines, runParallel } from '../test/helpers/soak-parallel.js';
import { qemuMissing } from '../test/helpers/guest.js';
import { rootNetnsMissing } from '../test/helpers/prereq.js';
import { driveSoakReportLines, runDriveSoakOnNewVm } from '../test/helpers/soak-drives.js';
import { runFuzzSoak } from '../test/helpers/soak-fuzz.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'hotplug,churn,parallel,drives,fuzz' },
    'fuzz-scale': { type: 'string', default: '100' },
    'fuzz-seed': { type: 'string', default: String((Date.now() % 1_000_000) + 1) },
    'drive-cycles': { type: 'string', default: '1000' },
    'hotplug-cycles': { type: 'string', default: '1000' },
    'churn-cycles': { type: 'string', default: '100' },
    'churn-boot-every': { type: 'string', default: '1' },
    vms: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
  },
});

// A positive integer option, or an error naming it.
function count(name: keyof typeof values): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const parts = {
  hotplug: async (signal: AbortSignal) =>
    hotplugReportLines(
      await runHotplugSoak({ cycles: count('hotplug-cycles'), oracleEvery: 100, log, signal }),
    ),
  churn: async (signal: AbortSignal) =>
    churnReportLines(
      await runChurn({
        cycles: count('churn-cycles'),
        bootEvery: count('churn-boot-every'),
        oracleEvery: 10,
        log,
        signal,
      }),
    ),
  parallel: async (signal: AbortSignal) =>
    parallelReportLines(
      await runParallel({ vms: count('vms'), rounds: count('rounds'), log, signal }),
    ),
  drives: async (signal: AbortSignal) =>
    driveSoakReportLines(
      await runDriveSoakOnNewVm({ cycles: count('drive-cycles'), checkEvery: 100, log, signal }),
    ),
  fuzz: (signal: AbortSignal) =>
    runFuzzSoak({ scale: count('fuzz-scale'), seed: count('fuzz-seed'), log, signal }),
};

/** Parts that boot QEMU (and need root's netns); fuzz needs neither. */
const needsQemu = new Set(['hotplug', 'churn', 'parallel', 'drives']);

function log(line: string): void {
  console.log(line);
}

// Runs the chosen parts one after another; a failed part is reported and the next one runs.
async function main(): Promise<number> {
  const chosen = values.only.split(',').map((p) => p.trim());
  for (const p of chosen) {
    if (!(p in parts))
      throw new Error(`--only: unknown part '${p}' (hotplug, churn, parallel, drives, fuzz)`);
  }
  const missing = chosen.some((p) => needsQemu.has(p))
    ? (qemuMissing() ?? rootNetnsMissing())
    : undefined;
  if (missing !== undefined) {
    console.error(`soak: prerequisite missing: ${missing}`);
    return 1;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.log('soak: interrupted, stopping after the current cycle and cleaning up');
    controller.abort(new Error('interrupted'));
  });
  const verdicts: string[] = [];
  for (const name of chosen as (keyof typeof parts)[]) {
    console.log(`soak: ${name}`);
    const started = performance.now();
    try {
      const lines = await parts[name](controller.signal);
      for (const line of lines) console.log(line);
      verdicts.push(`${name}: OK (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    } catch (error) {
      console.log(`soak: ${name} FAILED: ${(error as Error).message}`);
      verdicts.push(`${name}: FAILED`);
    }
    if (controller.signal.aborted) break;
  }
  console.log(`soak: ${verdicts.join('; ')}`);
  return verdicts.every((v) => v.includes(': OK')) && !controller.signal.aborted ? 0 : 1;
}

process.exitCode = await main();
