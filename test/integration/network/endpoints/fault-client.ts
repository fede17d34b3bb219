// A netlink client for failure injection (T14, T27): it forwards to a real client, counts the
// calls attach makes on it, and makes the k-th call fail (or aborts a signal right after it).
// Fault ids (T1...T35) are defined in docs/faults.md.
import { NetlinkError } from '../../../../network/errors.js';
import type { NetlinkClient } from '../../../../network/netlink/index.js';

const APIS = new Set(['links', 'addresses', 'routes', 'tc', 'socket']);

/** What the wrapped client does at call number `at` (1-based). */
export type Fault =
  { at: number; kind: 'fail' } | { at: number; kind: 'abort'; ctl: AbortController };

/** The wrapper and the names of the calls made through it ('links.get', 'tc.addIngress'...). */
export interface FaultyClient {
  client: NetlinkClient;
  calls: string[];
}

// Wraps one API object (links, tc...) so that its methods are counted and may fail.
function wrapApi(api: object, apiName: string, calls: string[], fault: Fault): object {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        calls.push(`${apiName}.${String(prop)}`);
        const n = calls.length;
        if (n === fault.at && fault.kind === 'fail') {
          throw new NetlinkError(`injected ${apiName}.${String(prop)}`, 5, 'EIO', 'injected');
        }
        const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (n === fault.at && fault.kind === 'abort') fault.ctl.abort();
        return result;
      };
    },
  });
}

/** Wraps `real` with `fault`; calls of its APIs are recorded in `calls`. */
export function faultyClient(real: NetlinkClient, fault: Fault): FaultyClient {
  const calls: string[] = [];
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop === 'string' && APIS.has(prop) && typeof value === 'object' && value) {
        return wrapApi(value, prop, calls, fault);
      }
      return value;
    },
  });
  return { client, calls };
}
