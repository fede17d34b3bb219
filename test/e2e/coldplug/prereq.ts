// What every cold-plug e2e file needs: root + netns tooling, QEMU, and ping on the host side.
import { hostPingMissing } from '../../helpers/coldplug-net.js';
import { qemuMissing } from '../../helpers/guest.js';
import { rootNetnsMissing } from '../../helpers/prereq.js';

/** Why cold-plug e2e tests cannot run here, or undefined. */
export function coldplugMissing(): string | undefined {
  return rootNetnsMissing() ?? qemuMissing() ?? hostPingMissing();
}
