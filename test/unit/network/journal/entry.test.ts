import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { encodeEntry, entryFileName, parseEntry } from '../../../../network/journal/entry.js';
import {
  sampleLinkEntry as link,
  sampleNetnsEntry as netns,
} from '../../../helpers/record-samples.js';

// The error parseEntry throws for `text`.
function refusal(text: string): ValidationError {
  try {
    parseEntry(text);
  } catch (error) {
    return error as ValidationError;
  }
  throw new Error('parsed');
}

// `link` as JSON with the value at `path` replaced (undefined: deleted).
function edited(path: (string | number)[], value: unknown): string {
  const o = JSON.parse(JSON.stringify(link)) as Record<string | number, unknown>;
  let at = o;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return JSON.stringify(o);
}

describe('journal entries', () => {
  it('round-trip both kinds exactly, as one line of JSON', () => {
    for (const entry of [link, netns, { ...netns, ino: undefined }]) {
      const text = encodeEntry(entry);
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.trimEnd()).not.toContain('\n');
      expect(parseEntry(text)).toEqual(JSON.parse(JSON.stringify(entry)));
    }
  });

  it('keep a link snapshot without the parts an attach does not change', () => {
    const bare = { ...link, link: { index: 2, name: 'eth0', mtu: 1500, txqlen: 0, up: false } };
    expect(parseEntry(encodeEntry(bare))).toEqual(bare);
  });

  it('are named by owner pid and NIC, with the VM and netns hashed in', () => {
    expect(entryFileName(link)).toMatch(/^4242-net0-[0-9a-f]{8}\.link\.json$/);
    expect(entryFileName(netns)).toBe('4242-vml-demo-1.netns.json');
    const names = new Set([
      entryFileName(link),
      entryFileName({ ...link, vm: 'vm-2' }),
      entryFileName({ ...link, netns: { ino: 4026532999 } }),
      entryFileName({ ...link, netns: { ref: 'vml-cni', ino: 1 } }),
    ]);
    expect(names.size).toBe(4);
  });

  it('refuse a field they do not know, naming it, at any depth', () => {
    const cases: [(string | number)[], string][] = [
      [['extra'], 'entry.extra'],
      [['owner', 'uid'], 'entry.owner.uid'],
      [['netns', 'path'], 'entry.netns.path'],
      [['link', 'flags'], 'entry.link.flags'],
      [['link', 'addresses', 0, 'valid'], 'entry.link.addresses[0].valid'],
      [['link', 'ingress', 'handle'], 'entry.link.ingress.handle'],
      [['creates', 1, 'index'], 'entry.creates[1].index'],
    ];
    for (const [path, named] of cases) {
      expect(refusal(edited(path, 1)), named).toMatchObject({ code: 'JOURNAL_ENTRY', path: named });
    }
    const withExtra = JSON.stringify({ ...netns, note: 'x' });
    expect(refusal(withExtra)).toMatchObject({ code: 'JOURNAL_ENTRY', path: 'entry.note' });
  });

  it('refuse text that is not JSON, or not an object', () => {
    expect(refusal('{"version":1,"kind":"borrowed-li')).toMatchObject({
      code: 'JSON',
      path: 'entry',
    });
    expect(refusal('[1]')).toMatchObject({ code: 'JOURNAL_ENTRY', path: 'entry' });
  });

  it('name the field that is wrong', () => {
    const cases: [(string | number)[], unknown, string][] = [
      [['version'], 2, 'entry.version'],
      [['kind'], 'tap', 'entry.kind'],
      [['owner', 'start'], undefined, 'entry.owner.start'],
      [['owner', 'pid'], 0, 'entry.owner.pid'],
      [['nicId'], 'a:b', 'entry.nicId'],
      [['netns', 'ref'], '../x', 'entry.netns.ref'],
      [['link', 'mac'], 'zz', 'entry.link.mac'],
      [['link', 'name'], 'a/b', 'entry.link.name'],
      [['link', 'up'], 'yes', 'entry.link.up'],
      [['link', 'addresses', 1, 'family'], 5, 'entry.link.addresses[1].family'],
      [['link', 'addresses', 2, 'prefixLen'], 129, 'entry.link.addresses[2].prefixLen'],
      [['link', 'routes', 0], 'default', 'entry.link.routes[0]'],
      [['link', 'routes', 1, 'metric'], -1, 'entry.link.routes[1].metric'],
      [['link', 'ingress', 'prefs'], [0], 'entry.link.ingress.prefs'],
      [['creates', 1, 'kind'], 'veth', 'entry.creates[1].kind'],
      [['creates'], {}, 'entry.creates'],
    ];
    for (const [at, value, path] of cases) {
      const e = refusal(edited(at, value));
      expect(e, path).toBeInstanceOf(ValidationError);
      expect(e.path, path).toBe(path);
    }
  });
});
