// Oracles of the share tests, read from /proc (never from the code under test).
import { readdirSync, readFileSync } from 'node:fs';

/** Processes whose command line mentions `needle` (a VM's run dir, a test's wrapper), as 'pid cmdline'. */
export function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) out.push(`${entry} ${cmdline.trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Polls `list` until it is empty or `timeoutMs` passed; returns the last result. */
export async function waitGone(list: () => string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let last = list();
  while (last.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = list();
  }
  return last;
}
