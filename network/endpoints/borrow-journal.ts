// The attach side of the crash journal (docs/faults.md T23): before a model changes a link it
// does not own (a CNI veth), the link as it is and the names of the links the model will make
// are written durably, so that if this process is SIGKILLed the GC can put the link back (the
// undo stack dies with us). The entry goes once detach or rollback has undone everything.
import type { Link } from '../netlink/index.js';
import type { CreatedKind, CreatedLink } from '../journal/entry.js';
import { journalNetns } from '../journal/netns-identity.js';
import { selfOwner } from '../journal/owner.js';
import { snapshotLink, type SnapshotParts } from '../journal/snapshot.js';
import { defaultJournalDir, removeEntry, writeEntry } from '../journal/store.js';
import type { AttachRun } from './attach-run.js';
import type { LinkRole } from './names.js';

const KIND_OF_ROLE: Readonly<Record<LinkRole, CreatedKind>> = {
  t: 'tun',
  m: 'macvtap',
  b: 'bridge',
};

// Called first thing by the macvtap, bridged and tcfilter models; a no-op with journal: false.
/**
 * Step 'journal <link>': snapshots `link` (with `parts`) and writes the entry, naming the links
 * of `roles` the run will create; the entry is removed when the run is undone without failures.
 * @throws {StepError} 'journal <link>' (JOURNAL_EXISTS, UNSAFE_JOURNAL_DIR, JOURNAL_WRITE...).
 */
export async function journalBorrowedLink(
  run: AttachRun,
  link: Link,
  parts: SnapshotParts,
  roles: LinkRole[],
): Promise<void> {
  const dir = run.ctx.journal ?? defaultJournalDir();
  if (dir === false) return;
  await run.step(`journal ${link.name}`, async (nl) => {
    const creates: CreatedLink[] = roles.map((r) => ({
      name: run.linkName(r),
      kind: KIND_OF_ROLE[r],
    }));
    const file = writeEntry(dir, {
      version: 1,
      kind: 'borrowed-link',
      owner: selfOwner(),
      at: Date.now(),
      nicId: run.ctx.nicId,
      ...(run.ctx.owner === undefined ? {} : { vm: run.ctx.owner }),
      netns: journalNetns(run.ctx.netns),
      link: await snapshotLink(nl, link, parts),
      creates,
    });
    run.whenUndone(() => removeEntry(file));
  });
}
