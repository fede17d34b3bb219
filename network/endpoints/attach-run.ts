// The machinery every endpoint attach shares: named steps over an undo stack, cancellation
// checked before each step, fds that are closed on failure but handed to the caller on success,
// and a detach that runs the same inverses later with a netlink client of its own.
import { asError, StepError, UnsupportedError } from '../../core/errors.js';
import { defaultStepFailure, StepRunner } from '../../core/steps.js';
import * as native from '../../native/index.js';
import type { HostNic } from '../host-nic.js';
import type { NetlinkClient } from '../netlink/index.js';
import { openNetlink } from '../netlink/index.js';
import type { MacvtapOpenDeps } from '../macvtap-device.js';
import { isNetnsNotFound } from '../netns/not-found.js';
import { resolveNetns } from '../netns/paths.js';
import type { AttachContext, AttachedEndpoint } from './attach-types.js';
import type { NicRate, NicRateChange } from './rate-limit.js';
import { validateNicId, linkName, type LinkRole } from './names.js';
import { netnsIdentity, pinNetns, type NetnsIdentity, type PinnedNetns } from './netns-pin.js';
import { checkRateChange, RateControl, type ShapedLinks } from './rate-limit.js';
import type { Endpoint } from './types.js';

/** The side effects attach uses besides netlink; every one is injectable for tests. */
export interface EndpointDeps {
  tapOpen: typeof native.tapOpen;
  vhostNetOpen: (count: number) => number[];
  openNetlink: (netns?: string) => NetlinkClient;
  macvtap: MacvtapOpenDeps;
}

/** The real primitives. */
export const realDeps: EndpointDeps = {
  tapOpen: native.tapOpen,
  vhostNetOpen: native.vhostNetOpen,
  openNetlink,
  macvtap: {},
};

// Errors that mean "already gone": the inverse of creating it has nothing left to do.
export function isGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENODEV' || code === 'ENOENT' || code === 'EADDRNOTAVAIL' || code === 'ESRCH';
}

// Runs an inverse, treating "it is already gone" as done (the tap vanished with QEMU...).
export async function unlessGone(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

/** One attach in progress: its steps, their inverses, and the fds it may still have to close. */
export class AttachRun {
  readonly ctx: AttachContext;
  readonly deps: EndpointDeps;
  private readonly steps: StepRunner;
  private client: NetlinkClient;
  private handedOver = false;
  /** Inverses that failed so far: a journal entry must outlive a restore that did not finish. */
  private undoFailures = 0;
  private readonly afterUndo: Array<() => void | Promise<void>> = [];
  /** The links the models shape this NIC's directions on (rate limits; rate-limit.ts). */
  readonly shaped: ShapedLinks = {};
  /** The netns this attach works in, by identity (detach checks it before undoing). */
  private readonly netnsId: NetnsIdentity | undefined;

  constructor(ctx: AttachContext, client: NetlinkClient, deps: EndpointDeps) {
    this.ctx = ctx;
    this.client = client;
    this.deps = deps;
    this.steps = new StepRunner({ signal: ctx.signal });
    this.netnsId = ctx.netns === undefined ? undefined : netnsIdentity(ctx.netns);
  }

  // The native primitives (tapOpen...) take the netns as a file.
  /** The file of ctx.netns (/run/netns/NAME or the path given); null for the caller's netns. */
  get netnsFile(): string | null {
    return this.ctx.netns === undefined ? null : resolveNetns(this.ctx.netns);
  }

  /** The name of a link this attach creates: per VM (ctx.owner), NIC and role. */
  linkName(role: LinkRole): string {
    return linkName(this.ctx.nicId, role, this.ctx.owner);
  }

  /** True once attach succeeded: fds are the caller's and the inverses are detach's. */
  get attached(): boolean {
    return this.handedOver;
  }

  /** The netlink client of the current phase (attach, or later detach). */
  get nl(): NetlinkClient {
    return this.client;
  }

  // A core step that hands the action the netlink client of the current phase.
  /**
   * Runs `action` as step `name` (ctx.signal checked first); on failure or abort undoes
   * everything so far.
   * @throws {StepError} naming the step, with the cause and any rollback failures.
   */
  step<T>(name: string, action: (nl: NetlinkClient) => T | Promise<T>): Promise<T> {
    return this.steps.step(name, () => action(this.client));
  }

  // Registers the inverse of what a step just made; it gets the client of whichever phase runs it.
  /** Pushes an inverse, run on failure or at detach (newest first). */
  undo(name: string, inverse: (nl: NetlinkClient) => Promise<void> | void): void {
    this.steps.push(name, async () => {
      try {
        await inverse(this.client);
      } catch (error) {
        this.undoFailures++;
        throw error;
      }
    });
  }

  // The crash journal's entry goes only once everything it describes has been put back.
  /** Registers `action` to run after a rollback or detach in which every inverse succeeded. */
  whenUndone(action: () => void | Promise<void>): void {
    this.afterUndo.push(action);
  }

  // Runs the whenUndone actions (unless an inverse failed); returns their failures.
  private async settle(): Promise<Error[]> {
    const errors: Error[] = [];
    if (this.undoFailures > 0) return errors;
    for (const action of this.afterUndo.splice(0)) {
      try {
        await action();
      } catch (error) {
        errors.push(asError(error));
      }
    }
    return errors;
  }

  // fds are ours until attach succeeds, then the caller's: only a failed attach closes them.
  /** Registers fds to close if attach fails; after success they belong to the caller. */
  ownFds(name: string, fds: number[]): void {
    this.steps.push(name, () => {
      if (!this.handedOver) native.closeAll(fds);
    });
  }

  // Unwinds whatever is still registered (for failures outside a step).
  /** Undoes everything registered; returns the rollback failures. */
  async abandon(): Promise<Error[]> {
    const errors = await this.steps.unwind();
    return [...errors, ...(await this.settle())];
  }

  // Turns the remaining inverses into the detach of the attached endpoint.
  /** Hands the fds over and returns the attached endpoint with its one-shot detach. */
  finish(endpoint: Endpoint, hostNic: HostNic): AttachedEndpoint {
    this.handedOver = true;
    const inverses = this.steps.transfer();
    let detached = false;
    const detach = async (): Promise<void> => {
      if (detached) return;
      detached = true;
      const given = this.ctx.netlink;
      let pinned: PinnedNetns | null | undefined;
      let own: NetlinkClient | null | undefined;
      try {
        pinned = given !== undefined && !given.closed ? undefined : this.pinForDetach();
        own = pinned === undefined ? undefined : pinned && this.openForDetach(pinned.path);
      } catch (error) {
        pinned?.close();
        throw error;
      }
      if (own === null) {
        // The netns is gone, and with it all we made or changed there.
        pinned?.close();
        const errors = await this.settle();
        if (errors.length > 0) throw new StepError('detach', errors[0], errors.slice(1));
        return;
      }
      this.client = own ?? given!;
      const errors = await inverses.unwind();
      if (errors.length === 0) errors.push(...(await this.settle()));
      // Closing our client must not hide the detach's own errors: it joins them instead.
      await own?.close().catch((error: unknown) => void errors.push(asError(error)));
      pinned?.close();
      if (errors.length > 0) throw new StepError('detach', errors[0], errors.slice(1));
    };
    return { endpoint, hostNic, detach };
  }

  // The netns attach worked in, checked by identity; null when it no longer exists; a
  // NetnsChangedError when the name or path leads to another one now (nothing is undone).
  private pinForDetach(): PinnedNetns | null {
    if (this.ctx.netns === undefined || this.netnsId === undefined) {
      return { path: '', close: () => undefined };
    }
    return pinNetns(this.ctx.netns, this.netnsId);
  }

  // A client for detach (in the pinned netns when there is one); null when the netns is gone.
  private openForDetach(pinnedPath: string): NetlinkClient | null {
    try {
      return this.deps.openNetlink(pinnedPath === '' ? this.ctx.netns : pinnedPath);
    } catch (error) {
      if (isNetnsNotFound(error) && this.ctx.netns !== undefined) return null;
      throw error;
    }
  }
}

// Every kind's attach has the same frame: a client, the steps, a clean failure, a detach.
/**
 * Runs `body` as an attach: opens a netlink client in ctx.netns unless one is given (and closes
 * it afterwards); on failure everything done is undone and a StepError names the step.
 * @throws {StepError} naming the failing step.
 * @throws {NetnsNotFoundError} when the netns does not exist (code 'NETNS_NOT_FOUND').
 */
export async function runAttach(
  endpoint: Endpoint,
  ctx: AttachContext,
  deps: Partial<EndpointDeps> | undefined,
  body: (run: AttachRun) => Promise<HostNic>,
): Promise<AttachedEndpoint> {
  validateNicId(ctx.nicId);
  if (ctx.rate !== undefined) checkRateChange(ctx.rate, 'rate');
  const all: EndpointDeps = { ...realDeps, ...deps };
  const own = ctx.netlink === undefined ? all.openNetlink(ctx.netns) : undefined;
  const run = new AttachRun(ctx, ctx.netlink ?? own!, all);
  let result: AttachedEndpoint;
  let rates: RateControl | undefined;
  try {
    const hostNic = await body(run);
    rates = await rateStep(run, hostNic);
    result = run.finish(endpoint, hostNic);
  } catch (error) {
    const rollbackErrors = await run.abandon();
    // The first error stays first; a failing close of our client joins the rollback errors.
    await own?.close().catch((e: unknown) => void rollbackErrors.push(asError(e)));
    throw await defaultStepFailure('attach', error, rollbackErrors);
  }
  await own?.close();
  return rates === undefined ? result : withSetRate(run, result, rates);
}

// A tap-backed NIC's limits: the removal is registered first (it undoes live changes too, and
// runs first at detach), then the limits asked for at attach are set.
async function rateStep(run: AttachRun, nic: HostNic): Promise<RateControl | undefined> {
  const wanted = run.ctx.rate;
  if (nic.kind !== 'tap' || (run.shaped.rx === undefined && run.shaped.tx === undefined)) {
    if (wanted !== undefined && Object.keys(wanted).length > 0) {
      await run.step('set rate limits', () => {
        throw new UnsupportedError(
          `rate limits need a host link vmlaunch shapes; a ${nic.kind} NIC has none (docs/nic-control.md)`,
        );
      });
    }
    return undefined;
  }
  const rates = new RateControl(run.shaped);
  run.undo('remove rate limits', (client) => rates.clear(client));
  if (wanted !== undefined) await run.step('set rate limits', (nl) => rates.apply(nl, wanted));
  return rates;
}

// Live changes, one at a time, each with a netlink client of its own in the NIC's netns.
function withSetRate(
  run: AttachRun,
  attached: AttachedEndpoint,
  rates: RateControl,
): AttachedEndpoint {
  let detached = false;
  let queue: Promise<unknown> = Promise.resolve();
  const setRate = (change: NicRateChange): Promise<NicRate> => {
    const next = queue.then(async () => {
      if (detached) throw new UnsupportedError('the NIC is detached: its rate cannot change');
      const given = run.ctx.netlink;
      const nl = given !== undefined && !given.closed ? given : run.deps.openNetlink(run.ctx.netns);
      try {
        return await rates.apply(nl, change);
      } finally {
        if (nl !== given) await nl.close();
      }
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const detach = async (): Promise<void> => {
    detached = true;
    await queue;
    await attached.detach();
  };
  return { ...attached, detach, setRate };
}
