// Presets are shared constants: freezing them deeply makes an accidental edit throw in strict
// mode instead of silently changing every later launch.

// Freezes an object graph of plain data and returns it with a readonly type.
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
