// A vmlaunch process to be killed: attaches an endpoint (spec as JSON in argv[2]) and says
// ATTACHED on stdout, or creates a named netns and says CREATED, then waits forever. With
// `pause`, one netlink call of the attach says PAUSED (before or after it ran) and never
// returns, so the test can SIGKILL the attach at an exact step.
// Run as `node --import tsx orphans-child.ts '<json>'`.
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import type { Endpoint } from '../../../network/endpoints/types.js';
import { openNetlink } from '../../../network/netlink/index.js';
import { createNetns } from '../../../network/netns/named.js';

/** Where the child stops in an attach: before or after the first call of one netlink method. */
export interface Pause {
  api: 'links' | 'addresses' | 'tc';
  method: string;
  when: 'before' | 'after';
}

/** What the child does. */
export type ChildSpec =
  | {
      mode: 'attach';
      netns: string;
      nicId: string;
      endpoint: Endpoint;
      journal: string;
      pause?: Pause;
    }
  | { mode: 'netns'; name: string; journal: string };

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const say = (word: string): void => void process.stdout.write(`${word}\n`);

if (spec.mode === 'netns') {
  createNetns(spec.name, undefined, spec.journal);
  say('CREATED');
  setInterval(() => {}, 1 << 30);
} else {
  await attach(spec);
}

async function attach(spec: Extract<ChildSpec, { mode: 'attach' }>): Promise<void> {
  const nl = openNetlink(spec.netns);

  if (spec.pause !== undefined) {
    const { api, method, when } = spec.pause;
    const target = nl[api] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = target[method]!.bind(target);
    let paused = false;
    target[method] = async (...args: unknown[]) => {
      if (paused) return original(...args);
      paused = true;
      if (when === 'after') await original(...args);
      say('PAUSED');
      return new Promise(() => {});
    };
  }

  await attachEndpoint(spec.endpoint, {
    netns: spec.netns,
    nicId: spec.nicId,
    journal: spec.journal,
    netlink: nl,
  });
  say('ATTACHED');
  setInterval(() => {}, 1 << 30);
}
