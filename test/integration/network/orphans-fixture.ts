// Fixtures of the crash-journal tests: a private journal dir, a child vmlaunch process that
// attaches and is SIGKILLed (orphans-child.ts), and the whole state of a netns as `ip -json` and
// `tc -json` show it — every link attribute, address, route of every table, qdisc and filter —
// the oracle that GC must give back exactly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipJson, tcJson } from '../../helpers/netns.js';
import type { ChildSpec } from './orphans-child.js';

const CHILD = fileURLToPath(new URL('./orphans-child.ts', import.meta.url));

/** Runs `fn` with a fresh private journal dir (<0700 tmp>/journal), removed afterwards. */
export async function withJournal<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const parent = mkdtempSync(join(tmpdir(), 'vml-journal-'));
  try {
    return await fn(join(parent, 'journal'));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

/** The entry files in a journal dir. */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** A child that attached (or paused mid-attach, or made a netns); kill() SIGKILLs it. */
export interface ChildRun {
  pid: number;
  child: ChildProcess;
  kill(): Promise<void>;
}

// Starts the child and waits for its word (ATTACHED, PAUSED with spec.pause, or CREATED).
export async function startChild(spec: ChildSpec, timeoutMs = 20_000): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const word = spec.mode === 'netns' ? 'CREATED' : spec.pause ? 'PAUSED' : 'ATTACHED';
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => void (err += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${word} in ${timeoutMs} ms`)), timeoutMs);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes(`${word}\n`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code ?? signal}) before ${word}: ${err}`));
      });
    });
  } catch (error) {
    await kill();
    throw error;
  }
  return { pid: child.pid!, child, kill };
}

// Counters move with traffic and time, and do not describe configuration.
const VOLATILE = ['stats', 'stats64'];
// What a link just created still changes by itself for a while: carrier state, IPv6 DAD,
// bridge timers (*_timer).
const SETTLING = [...VOLATILE, 'operstate', 'tentative', '*_timer'];

// A link that gains carrier gets an IPv6 link-local address (and its fe80::/64 and local
// routes) from the kernel a moment later, on its own: not configuration anybody made.
function withoutLinkLocal(addr: unknown): unknown {
  const a = addr as { addr_info?: { family?: string; scope?: string }[] };
  if (!Array.isArray(a.addr_info)) return addr;
  const kept = a.addr_info.filter((i) => !(i.family === 'inet6' && i.scope === 'link'));
  return { ...a, addr_info: kept };
}

function isLinkLocalRoute(route: unknown): boolean {
  const dst = (route as { dst?: unknown }).dst;
  return typeof dst === 'string' && /^(fe80:|ff00::\/8)/.test(dst);
}

function dropped(key: string, drop: string[]): boolean {
  return drop.includes(key) || (drop.includes('*_timer') && key.endsWith('_timer'));
}

function strip(value: unknown, drop: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => strip(v, drop));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !dropped(k, drop))
      .map(([k, v]) => [k, strip(v, drop)]),
  );
}

/**
 * Every link (with -d details), address, route (all tables), qdisc and ingress filter. With
 * `settling`, what links made a moment ago still change by themselves (operstate, IPv6 DAD,
 * bridge timers) is left out: for comparing states that hold such links.
 */
export function fullState(netns: string, settling = false): string[] {
  const drop = settling ? SETTLING : VOLATILE;
  const out: string[] = [];
  for (const l of ipJson<unknown[]>('-n', netns, '-d', 'link', 'show')) {
    out.push(`link ${JSON.stringify(strip(l, drop))}`);
  }
  for (const a of ipJson<unknown[]>('-n', netns, 'addr', 'show')) {
    out.push(`addr ${JSON.stringify(strip(settling ? withoutLinkLocal(a) : a, drop))}`);
  }
  for (const family of ['-4', '-6']) {
    for (const r of ipJson<unknown[]>('-n', netns, family, 'route', 'show', 'table', 'all')) {
      if (settling && isLinkLocalRoute(r)) continue;
      out.push(`route ${JSON.stringify(r)}`);
    }
  }
  for (const q of tcJson<{ kind: string; dev: string }[]>('-n', netns, 'qdisc', 'show')) {
    out.push(`qdisc ${JSON.stringify(q)}`);
    if (q.kind !== 'ingress') continue;
    const filters = tcJson<unknown[]>('-n', netns, 'filter', 'show', 'dev', q.dev, 'ingress');
    for (const f of filters) out.push(`filter ${q.dev} ${JSON.stringify(f)}`);
  }
  return out.sort();
}
