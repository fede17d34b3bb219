// The bottom layer: the error classes and the named steps with undo that every layer builds on.
// It imports nothing of ours (checked by npm run check:layers; see docs/design.md, "Layers").
export {
  AbortError,
  RolledBackError,
  StepError,
  TimeoutError,
  UnsupportedError,
  ValidationError,
  VmlaunchError,
} from './errors.js';
export { UndoStack, type Undo } from './undo.js';
export { StepRunner, type Step, type StepFailure, type StepRunnerOptions } from './steps.js';
