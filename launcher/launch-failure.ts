// What a failed launch turns into: the LaunchError callers know, naming the step, once
// everything the launch made is undone (the StepFailure of launch-run.ts's steps).
import { UnsupportedError } from '../core/index.js';
import { LaunchError } from './errors.js';
import type { LaunchRun } from './launch-run.js';
import { isValidation } from './launch-steps.js';
import { explainDriveFailure } from './workload/drive-errors.js';
import { ShareError } from './workload/virtiofsd.js';

// What a failed launch throws, once everything it made is undone: a LaunchError naming the
// step with QEMU's exit, argv and stderr tail; config errors found before anything existed
// (and what this host cannot do, found as early) keep their own types.
/** The StepFailure of a launch. */
export async function launchFailure(
  run: LaunchRun,
  step: string,
  error: unknown,
  rollbackErrors: Error[],
): Promise<Error> {
  const { qemu, options } = run;
  if (qemu?.running) qemu.kill('SIGKILL');
  const exit = qemu ? await qemu.exited : undefined;
  if (error instanceof LaunchError) {
    const explained = run.drives
      ? explainDriveFailure(error, run.drives.drives, run.checkedDrives)
      : error;
    explained.rollbackErrors.push(...rollbackErrors);
    return explained;
  }
  const early = step === 'validate' || step === 'sandbox';
  const typed = isValidation(error) || (early && error instanceof UnsupportedError);
  if (typed && rollbackErrors.length === 0) return error as Error;
  const reason = error instanceof Error ? error.message : String(error);
  const launchError = new LaunchError(
    `launch failed at ${step}: ${reason}`,
    {
      argv: run.argv,
      step,
      ...(options.signal?.aborted ? { code: 'ABORTED' } : {}),
      ...(error instanceof ShareError ? { code: error.code } : {}),
      ...(exit ? { exit } : {}),
      ...(qemu ? { stderrTail: qemu.stderrTail() } : {}),
    },
    { cause: error },
  );
  launchError.rollbackErrors.push(...rollbackErrors);
  return launchError;
}
