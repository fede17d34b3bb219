// Fault ids in test names (T21, T28...) are defined in docs/faults.md.
import { lstatSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callSocket, callVm, socketAnswers } from '../../../../launcher/control/client.js';
import { ControlError, RemoteOperationError } from '../../../../launcher/control/errors.js';
import type { ControlRequest } from '../../../../launcher/control/protocol.js';
import { claimRuntimeDir } from '../../../../launcher/control/runtime-dir.js';
import { startControlServer, type ControlServer } from '../../../../launcher/control/server.js';
import { VmlaunchError } from '../../../../core/index.js';

let root: string;
let server: ControlServer | undefined;
const seen: ControlRequest[] = [];

// A handler that echoes, fails on demand, and takes its time on exec.
async function handler(request: ControlRequest): Promise<unknown> {
  seen.push(request);
  if (request.op === 'detach') throw new VmlaunchError(`no NIC ${request.nicId}`, 'HOTPLUG_STATE');
  if (request.op === 'exec') await new Promise((r) => setTimeout(r, 20));
  return { echo: request.op };
}

// Sends raw text and collects `lines` response lines.
function raw(path: string, text: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      buf += c;
      const got = buf.split('\n').filter(Boolean);
      if (got.length >= lines) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'vml-srv-'));
  chmodSync(root, 0o755);
  seen.length = 0;
  const rt = await claimRuntimeDir('vm1', () => Promise.resolve(false), { root });
  server = await startControlServer(rt, handler);
});
afterEach(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('control server and client', () => {
  it('serves a private socket (0600 in a 0700 dir) with owner.json', () => {
    const sock = join(root, 'vm1', 'control.sock');
    expect(lstatSync(sock).isSocket()).toBe(true);
    expect(lstatSync(sock).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'vm1')).sort()).toEqual(['control.sock', 'owner.json']);
  });

  it('answers a request by name, and carries a remote failure as a typed error', async () => {
    await expect(callVm('vm1', { op: 'status' }, { root })).resolves.toEqual({ echo: 'status' });
    const failure = await callVm('vm1', { op: 'detach', nicId: 'hp9' }, { root }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(RemoteOperationError);
    expect(failure).toMatchObject({
      code: 'HOTPLUG_STATE',
      op: 'detach',
      explanation: 'no NIC hp9',
    });
  });

  it('refuses to talk to a VM whose runtime dir others could write (T21), though its socket answers', async () => {
    chmodSync(join(root, 'vm1'), 0o777);
    await expect(callVm('vm1', { op: 'status' }, { root })).rejects.toMatchObject({
      code: 'UNSAFE_RUNTIME_DIR',
    });
    chmodSync(join(root, 'vm1'), 0o700);
    await expect(callVm('vm1', { op: 'status' }, { root })).resolves.toEqual({ echo: 'status' });
  });

  it('answers several requests on one connection in order, and bad lines with errors', async () => {
    const text =
      '{"id":1,"op":"exec","command":"true"}\nnot json\n{"id":3,"op":"nope"}\n{"id":4,"op":"status"}\n';
    const lines = (await raw(join(root, 'vm1', 'control.sock'), text, 4)).map(
      (l) => JSON.parse(l) as { id: number | null; ok: boolean; error?: { code: string } },
    );
    expect(lines.map((l) => [l.id, l.ok])).toEqual([
      [1, true],
      [null, false],
      [3, false],
      [4, true],
    ]);
    expect(lines[1]?.error?.code).toBe('PROTOCOL');
    expect(seen.map((r) => r.op)).toEqual(['exec', 'status']);
  });

  it('says NO_SUCH_VM for an unknown name and a socket nobody serves', async () => {
    await expect(callVm('vm2', { op: 'status' }, { root })).rejects.toMatchObject({
      code: 'NO_SUCH_VM',
    });
    await expect(callSocket(join(root, 'absent.sock'), { op: 'status' })).rejects.toBeInstanceOf(
      ControlError,
    );
    expect(await socketAnswers(join(root, 'vm1', 'control.sock'))).toBe(true);
    expect(await socketAnswers(join(root, 'absent.sock'))).toBe(false);
  });

  it('a second claim of the same name is refused while the server lives', async () => {
    await expect(claimRuntimeDir('vm1', (p) => socketAnswers(p), { root })).rejects.toMatchObject({
      code: 'NAME_IN_USE',
    });
  });

  it('close removes the socket, owner.json and the dir, and later calls fail cleanly', async () => {
    expect(await server!.close()).toEqual([]);
    server = undefined;
    expect(readdirSync(root)).toEqual([]);
    await expect(callVm('vm1', { op: 'status' }, { root })).rejects.toMatchObject({
      code: 'NO_SUCH_VM',
    });
  });

  it('times out a call the server does not answer', async () => {
    const slow = (): Promise<unknown> => new Promise(() => undefined);
    const rt = await claimRuntimeDir('slow', () => Promise.resolve(false), { root });
    const s = await startControlServer(rt, slow);
    try {
      await expect(callSocket(rt.socket, { op: 'status' }, 100)).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
    } finally {
      await s.close();
    }
  });
});
