// The wire shapes of QMP (docs/interop/qmp-spec.rst): greeting, replies, events.

/** The server's greeting, the first line QEMU sends. */
export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    /** Capabilities offered, e.g. ['oob']; vmlaunch enables none of them. */
    capabilities: string[];
  };
}

/** An asynchronous event; `data` is `{}` when QEMU sent none. */
export interface QmpEvent<TData = Record<string, unknown>> {
  event: string;
  data: TData;
  timestamp: { seconds: number; microseconds: number };
}

/** A command as sent: built only with JSON.stringify. */
export interface QmpRequest {
  execute: string;
  arguments?: Record<string, unknown>;
  id: number;
}

/** QEMU's error object inside an error reply. */
export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** Connection states, in the order they are normally visited. */
export type QmpState = 'idle' | 'greeting' | 'negotiating' | 'ready' | 'closed';

// Tells whether a parsed line is a JSON object we can look into.
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Reads QEMU's error body defensively: a reply from a broken peer must not crash the reader.
export function toErrorBody(value: unknown): QmpErrorBody {
  if (!isObject(value)) return { class: 'GenericError', desc: JSON.stringify(value) ?? '' };
  return {
    class: typeof value.class === 'string' ? value.class : 'GenericError',
    desc: typeof value.desc === 'string' ? value.desc : JSON.stringify(value),
  };
}

// Normalises an event line into a QmpEvent (data defaults to {}). Nothing from the wire is
// converted with String()/Number(): a parsed object whose `toString` is not a function throws.
export function toEvent(message: Record<string, unknown>): QmpEvent {
  const number = (value: unknown): number => (typeof value === 'number' ? value : 0);
  const timestamp = isObject(message.timestamp)
    ? {
        seconds: number(message.timestamp.seconds),
        microseconds: number(message.timestamp.microseconds),
      }
    : { seconds: 0, microseconds: 0 };
  return {
    event:
      typeof message.event === 'string' ? message.event : (JSON.stringify(message.event) ?? ''),
    data: isObject(message.data) ? message.data : {},
    timestamp,
  };
}
