// The guest side of runInVm: a POSIX sh script (for the default guest's busybox) that runs one
// argv with its boundaries intact and sends its stdout and stderr back apart, each as framed
// base64 lines on the one serial console; and the host-side decoder of those frames.
import { VmlaunchError } from '../core/index.js';
import { quoteShellArg } from './shell-quote.js';

/** Which of the command's streams a chunk came from. */
export type OutputStream = 'stdout' | 'stderr';

/** What the guest runs and how. */
export interface RunScriptOptions {
  /** The command and its arguments, passed to exec as they are (no shell in between). */
  command: readonly string[];
  /** Working directory in the guest (default: the console shell's, /). */
  cwd?: string;
  /** Environment variables set for the command. */
  env?: Readonly<Record<string, string>>;
  /** Frame tag: a short [A-Za-z0-9] id that tells our frames from other console lines. */
  tag: string;
}

/** Status the script exits with when it cannot set the command up (fifo, cwd). */
export const RUN_SETUP_FAILED = 125;

/** Bytes per frame: one read from the command's pipe, 4 KiB of base64 on the console. */
const FRAME_BYTES = 3072;

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Checks the command and env before anything boots.
/** @throws VmlaunchError (code RUN_INVALID) for an empty command or a bad env name. */
export function validateRunScript(options: Omit<RunScriptOptions, 'tag'>): void {
  if (options.command.length === 0 || options.command[0] === '')
    throw new VmlaunchError('runInVm needs a command (argv[0] is empty)', 'RUN_INVALID');
  for (const name of Object.keys(options.env ?? {})) {
    if (!ENV_NAME_RE.test(name))
      throw new VmlaunchError(`invalid environment variable name "${name}"`, 'RUN_INVALID');
  }
}

// The script: two frame loops read fifos the command writes to; each read (up to FRAME_BYTES,
// whatever is there, so output streams) becomes one line `<tag>O <base64>` or `<tag>E <base64>`.
// It runs in a subshell so nothing it does (cd, exit) touches the console shell, and syncs
// before it ends so a drive's writes reach the host before the VM is stopped.
export function buildRunScript(options: RunScriptOptions): string {
  validateRunScript(options);
  const { tag } = options;
  const dir = `/tmp/vml-run-${tag}`;
  const exports = Object.entries(options.env ?? {})
    .map(([k, v]) => `export ${k}=${quoteShellArg(v)}; `)
    .join('');
  const cd =
    options.cwd !== undefined
      ? `cd -- ${quoteShellArg(options.cwd)} || exit ${RUN_SETUP_FAILED}; `
      : '';
  const argv = options.command.map(quoteShellArg).join(' ');
  return [
    '(',
    `d=${dir}`,
    `mkdir "$d" && mkfifo "$d/o" "$d/e" || exit ${RUN_SETUP_FAILED}`,
    `vml_frame() { while :; do c=$(dd bs=${FRAME_BYTES} count=1 2>/dev/null | base64 -w 0); [ -n "$c" ] || break; echo "${tag}$1 $c"; done; }`,
    'vml_frame O <"$d/o" &',
    'vml_frame E <"$d/e" &',
    `( ${cd}${exports}exec ${argv} ) >"$d/o" 2>"$d/e" </dev/null`,
    's=$?',
    'wait',
    'rm -rf "$d"',
    'sync',
    'exit $s',
    ')',
  ].join('\n');
}

/** Turns console text (already cut to the command's span) back into the command's output. */
export class FrameDecoder {
  private partial = '';
  private readonly frame: RegExp;

  constructor(
    tag: string,
    private readonly onChunk: (chunk: Buffer, stream: OutputStream) => void,
    private readonly onOther: (line: string) => void = () => undefined,
  ) {
    this.frame = new RegExp(`^${tag}([OE]) ([A-Za-z0-9+/=]*)$`);
  }

  // Feeds text; every complete line is decoded (a frame) or handed to onOther (anything else).
  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  // Decodes what is left (a last line without its newline).
  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    const found = this.frame.exec(line);
    if (!found) {
      if (line !== '') this.onOther(line);
      return;
    }
    const chunk = Buffer.from(found[2]!, 'base64');
    if (chunk.length > 0) this.onChunk(chunk, found[1] === 'O' ? 'stdout' : 'stderr');
  }
}
