// Test network namespaces made with `ip netns add` (independent of the code under test), each
// named with a unique vml- prefix and always removed in finally.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';

/** A unique netns name for one test: vml-<tag>-<random>. */
export function uniqueNetnsName(tag: string): string {
  return `vml-${tag}-${randomBytes(4).toString('hex')}`;
}

/** Runs `ip` with arguments and returns stdout (throws on failure). */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** Runs `ip -json ...` and parses it. */
export function ipJson<T = unknown>(...args: string[]): T {
  const out = execFileSync('ip', ['-json', ...args], { encoding: 'utf8' }).trim();
  return (out === '' ? [] : JSON.parse(out)) as T;
}

/** Runs `tc -json ...` and parses it. */
export function tcJson<T = unknown>(...args: string[]): T {
  const out = execFileSync('tc', ['-json', ...args], { encoding: 'utf8' }).trim();
  return (out === '' ? [] : JSON.parse(out)) as T;
}

/** Creates a test netns (lo up), runs `fn` with its name, and deletes it whatever happens. */
export async function withTestNetns<T>(
  tag: string,
  fn: (name: string) => Promise<T> | T,
): Promise<T> {
  const name = uniqueNetnsName(tag);
  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return await fn(name);
  } finally {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

/** The netns as the ip/tc oracles see it: links, addresses, routes (both families), qdiscs, filters. */
export function netnsConfig(ns: string): unknown {
  const n = ['-n', ns];
  const qdiscs = tcJson<{ dev: string; handle?: string }[]>(...n, 'qdisc', 'show');
  const filters = qdiscs
    .filter((q) => q.handle !== undefined && q.handle !== '0:')
    .map((q) => tcJson(...n, 'filter', 'show', 'dev', q.dev, 'parent', q.handle!));
  return {
    links: ipJson(...n, 'link', 'show'),
    addresses: ipJson(...n, 'addr', 'show'),
    routes4: ipJson(...n, 'route', 'show', 'table', 'all'),
    routes6: ipJson(...n, '-6', 'route', 'show', 'table', 'all'),
    qdiscs,
    filters,
  };
}
