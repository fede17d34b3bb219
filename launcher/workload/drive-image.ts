// What `qemu-img info --output=json` says about an image: its format, size and backing file.
// vmlaunch reads the format here and tells QEMU; QEMU never probes it.
import { execFile } from 'node:child_process';
import { VmlaunchError } from '../../core/index.js';

/** The fields of qemu-img info we use. */
export interface ImageInfo {
  format: string;
  virtualSize: number;
  /** A qcow2 image's backing file name from its header, if any. */
  backingFile: string | undefined;
}

/** qemu-img could not read the image (its stderr is the message). */
export class ImageInfoError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'IMAGE_INFO', options);
  }
}

/** The qemu-img binary: QEMU_IMG overrides (tests, odd installs). */
export function qemuImgBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.QEMU_IMG ?? 'qemu-img';
}

// Runs qemu-img with a deadline; resolves with stdout, rejects with its stderr.
export function runQemuImg(args: string[], timeout = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(qemuImgBinary(), args, { timeout, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const why = stderr.trim() || error.message;
        reject(new ImageInfoError(`qemu-img ${args[0] ?? ''}: ${why}`, { cause: error }));
      } else resolve(stdout);
    });
  });
}

// Reads format, size and backing file of the image at `path`.
/**
 * Asks qemu-img what the image is.
 * @throws ImageInfoError when qemu-img is missing or cannot read the image.
 */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  const out = await runQemuImg(['info', '--output=json', path]);
  const raw = JSON.parse(out) as {
    format?: unknown;
    'virtual-size'?: unknown;
    'backing-filename'?: unknown;
  };
  if (typeof raw.format !== 'string' || typeof raw['virtual-size'] !== 'number') {
    throw new ImageInfoError(`qemu-img info gave no format/size for ${path}`);
  }
  return {
    format: raw.format,
    virtualSize: raw['virtual-size'],
    backingFile: typeof raw['backing-filename'] === 'string' ? raw['backing-filename'] : undefined,
  };
}
