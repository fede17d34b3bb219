// What `vmlaunch run` does with each control request: attach/detach through the VM's hot-plug
// API (the contract in launcher/hotplug/types.ts), status from what it launched and attached,
// exec through the guest shell. Failures travel as sentences made by explain.ts.
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { ControlHandler } from '../control/server.js';
import type {
  AttachReply,
  ControlRequest,
  DetachReply,
  ExecReply,
  NicInfo,
  NicReply,
  SnapshotReply,
  StatusReply,
  WireError,
} from '../control/protocol.js';
import type { GuestExecOptions, GuestResult } from '../guest-shell.js';
import type {
  AttachOptions,
  DetachOptions,
  DetachResult,
  HotplugSource,
  HotpluggedNic,
} from '../hotplug/types.js';
import type { NicRate, NicRateChange } from '../../network/endpoints/rate-limit.js';
import type { NicStats } from '../nic/nic-stats.js';
import type { SnapshotOptions, SnapshotResult } from '../snapshot/save.js';
import { quoteShellArg } from '../shell-quote.js';
import { parseEndpointSpec } from './endpoint-spec.js';
import { explainError } from './explain.js';

/** The part of a Vm the control channel uses (Vm satisfies it). */
export interface ControlledVm {
  readonly pid: number;
  readonly accel: { accel: string };
  readonly endpoints: readonly AttachedEndpoint[];
  readonly guest: { exec(command: string, options?: GuestExecOptions): Promise<GuestResult> };
  attach(source: HotplugSource, options?: AttachOptions): Promise<HotpluggedNic>;
  detach(id: string, options?: DetachOptions): Promise<DetachResult>;
  setLink(nicId: string, up: boolean): Promise<void>;
  setRate(nicId: string, change: NicRateChange): Promise<NicRate>;
  nicStats(nicId: string): Promise<NicStats>;
  snapshot(path: string, options?: SnapshotOptions): Promise<SnapshotResult>;
  shutdown(): Promise<unknown>;
}

/** A line for the run process's own log (stderr). */
export type Announce = (line: string) => void;

// A failure as it travels: code, class, message and the CLI's sentences.
export function describeForWire(error: unknown): WireError {
  const e: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
  return {
    code: typeof e.code === 'string' ? e.code : 'ERROR',
    name: e.name,
    message: e.message,
    explanation: explainError(error),
  };
}

// Boot NICs as status lists them.
function bootNics(vm: ControlledVm): NicInfo[] {
  return vm.endpoints.map((a): NicInfo => {
    const nic = a.hostNic;
    return {
      nicId: nic.id,
      origin: 'boot',
      kind: a.endpoint.kind,
      ...('mac' in nic ? { mac: nic.mac } : {}),
      state: 'attached',
    };
  });
}

// The request handler `vmlaunch run` serves on its control socket.
export function createControlHandler(
  name: string,
  vm: ControlledVm,
  announce: Announce = () => undefined,
): ControlHandler {
  const hotplugged = new Map<string, NicInfo>();

  const attach = async (spec: string, nicId?: string, timeout?: number): Promise<AttachReply> => {
    const parsed = parseEndpointSpec(spec);
    const started = performance.now();
    const nic = await vm.attach(
      { endpoint: parsed.endpoint, ...(parsed.netns ? { netns: parsed.netns } : {}) },
      {
        ...(nicId ? { id: nicId } : {}),
        ...(timeout ? { timeout } : {}),
        ...(parsed.rate ? { rate: parsed.rate } : {}),
      },
    );
    const ms = Math.round(performance.now() - started);
    hotplugged.set(nic.id, {
      nicId: nic.id,
      origin: 'hotplug',
      kind: parsed.endpoint.kind,
      mac: nic.mac,
      bus: nic.bus,
      state: 'attached',
    });
    announce(`attached ${nic.id} (${spec}, mac ${nic.mac}, on ${nic.bus}) in ${ms} ms`);
    return { nicId: nic.id, mac: nic.mac, bus: nic.bus, ms, timings: nic.timings };
  };

  const detach = async (nicId: string, timeout?: number): Promise<DetachReply> => {
    const info = hotplugged.get(nicId);
    if (info) info.state = 'unplugging';
    let result: DetachResult;
    try {
      result = await vm.detach(nicId, timeout ? { timeout } : {});
    } catch (error) {
      if (info) info.state = 'attached';
      throw error;
    }
    if (result.status === 'removed') {
      hotplugged.delete(nicId);
      announce(`detached ${nicId} in ${result.ms} ms`);
      return { status: 'removed', nicId, ms: result.ms };
    }
    announce(`detach of ${nicId} still pending after ${result.ms} ms: ${result.explanation}`);
    void result.completion.then(
      () => {
        hotplugged.delete(nicId);
        announce(`${nicId}: the guest released it late; removal completed`);
      },
      (error: unknown) =>
        announce(`${nicId}: late removal failed: ${describeForWire(error).message}`),
    );
    return { status: 'pending', nicId, ms: result.ms, explanation: result.explanation };
  };

  const exec = async (command: string, timeout?: number): Promise<ExecReply> => {
    // In its own sh: an `exit` or `cd` of the user's must not end or change the console shell.
    const r = await vm.guest.exec(`sh -c ${quoteShellArg(command)}`, timeout ? { timeout } : {});
    return { output: r.output, status: r.status };
  };

  // Link and rate first, so --stats shows the counters after the change.
  const nic = async (
    nicId: string,
    link?: 'up' | 'down',
    stats?: boolean,
    rateChange?: NicRateChange,
  ): Promise<NicReply> => {
    if (link !== undefined) {
      await vm.setLink(nicId, link === 'up');
      announce(`${nicId}: link ${link}`);
    }
    let rate: NicRate | undefined;
    if (rateChange !== undefined) {
      rate = await vm.setRate(nicId, rateChange);
      announce(`${nicId}: rate ${JSON.stringify(rate)}`);
    }
    const set = { nicId, ...(link ? { link } : {}), ...(rate ? { rate } : {}) };
    if (!stats) return set;
    const read = await vm.nicStats(nicId);
    const host = read.host ? { ...read.host } : undefined;
    return { ...set, stats: { ...(host ? { host } : {}), rxFilter: read.rxFilter } };
  };

  const snapshot = async (
    path: string,
    then?: SnapshotOptions['then'],
    timeout?: number,
  ): Promise<SnapshotReply> => {
    // 'shutdown' after the reply is on its way: the run ends with the VM, and its socket too.
    const r = await vm.snapshot(path, {
      ...(then ? { then: then === 'shutdown' ? 'pause' : then } : {}),
      ...(timeout ? { timeoutMs: timeout } : {}),
    });
    announce(`saved a snapshot to ${r.path} (${r.bytes} bytes in ${Math.round(r.saveMs)} ms)`);
    if (then === 'shutdown') setImmediate(() => void vm.shutdown());
    return {
      path: r.path,
      manifestPath: r.manifestPath,
      bytes: r.bytes,
      saveMs: r.saveMs,
      ...(r.memoryImage ? { memoryImage: r.memoryImage } : {}),
    };
  };

  const status = (): StatusReply => ({
    name,
    pid: process.pid,
    qemuPid: vm.pid,
    accel: vm.accel.accel,
    nics: [...bootNics(vm), ...hotplugged.values()],
  });

  return async (request: ControlRequest): Promise<unknown> => {
    switch (request.op) {
      case 'attach':
        return attach(request.spec, request.nicId, request.timeout);
      case 'detach':
        return detach(request.nicId, request.timeout);
      case 'exec':
        return exec(request.command, request.timeout);
      case 'nic':
        return nic(request.nicId, request.link, request.stats, request.rate);
      case 'status':
        return Promise.resolve(status());
      case 'snapshot':
        return snapshot(request.path, request.then, request.timeout);
    }
  };
}
