// An existing link lent to the guest (a tap or a macvtap someone else made): only what must
// change is changed, each change with its inverse, so detach gives the link back as it was.
import type { Link } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';

// Existing taps and macvtaps get their MTU and up state the same way.
/**
 * Step 'set <what> mtu' when `mtu` differs from the link's (undone by 'restore <what> mtu'),
 * then step 'set <what> up' when the link is down (undone by 'set <what> down').
 * @throws {StepError} 'set <what> mtu', 'set <what> up'.
 */
export async function borrowMtuAndUp(
  run: AttachRun,
  what: 'tap' | 'macvtap',
  link: Link,
  mtu: number,
): Promise<void> {
  if (mtu !== link.mtu) {
    await run.step(`set ${what} mtu`, async (nl) => {
      await nl.links.setMtu(link.index, mtu);
      run.undo(`restore ${what} mtu`, (c) =>
        unlessGone(() => c.links.setMtu(link.index, link.mtu)),
      );
    });
  }
  if (!link.up) {
    await run.step(`set ${what} up`, async (nl) => {
      await nl.links.setUp(link.index);
      run.undo(`set ${what} down`, (c) => unlessGone(() => c.links.setDown(link.index)));
    });
  }
}
