// A fast way to the default guest for commands that boot one per call (`vmlaunch run`): the
// newest complete guest in the cache that this very build script and init made, found without
// running the script (whose package-version check runs apt-cache every time). It is what the
// script's own VMLAUNCH_GUEST_OFFLINE=1 mode picks; a newer Debian kernel is taken up the next
// time the script itself runs (locateGuestImage, `npm test`).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trustedCacheDir } from './cache-dir.js';
import {
  findGuestBuildScript,
  locateGuestImage,
  type GuestImage,
  type GuestImageOptions,
} from './guest-image.js';

// Size of a file, 0 when it is missing.
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// The cached guest made by the current build.sh + init (their hash as the script computes it:
// sha256 of the two files one after the other), or undefined when there is none.
/** @throws CacheDirError when the cache directory is not private to us. */
export function findCachedGuest(
  script: string = findGuestBuildScript(),
  env: NodeJS.ProcessEnv = process.env,
): GuestImage | undefined {
  const hash = createHash('sha256')
    .update(readFileSync(script))
    .update(readFileSync(join(dirname(script), 'init')))
    .digest('hex');
  const root = join(trustedCacheDir(env), 'guest');
  let best: { image: GuestImage; mtime: number } | undefined;
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return undefined;
  }
  for (const key of entries) {
    const dir = join(root, key);
    const manifest = join(dir, 'manifest.json');
    let text: string;
    try {
      text = readFileSync(manifest, 'utf8');
    } catch {
      continue;
    }
    const complete = sizeOf(join(dir, 'vmlinuz')) > 0 && sizeOf(join(dir, 'initrd.img')) > 0;
    if (!complete || !text.includes(`"script_sha256": "${hash}"`)) continue;
    const mtime = statSync(manifest).mtimeMs;
    if (best && best.mtime >= mtime) continue;
    const image = {
      key,
      dir,
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      manifest,
      cached: true,
    };
    best = { image, mtime };
  }
  return best?.image;
}

// The cached guest when there is one, else the script (which builds it on first use; onLog
// gets its log lines as they come).
/** @throws VmlaunchError GUEST_BUILD (from locateGuestImage) when it has to build and cannot. */
export async function quickGuestImage(
  options: Pick<GuestImageOptions, 'signal' | 'onLog'> = {},
): Promise<GuestImage> {
  return findCachedGuest() ?? (await locateGuestImage(options));
}
