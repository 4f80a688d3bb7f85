/**
 * A driver seen through a few methods of its own (the sync driver's push, the fake's): every
 * other method is the driver's, bound to it, so its state stays in one object.
 */
import type { FullDriver } from '../../store/driver.ts';

export function overriding(base: FullDriver, own: Partial<FullDriver>): FullDriver {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(base, {
    get(target, key) {
      if (Object.hasOwn(own, key)) return own[key as keyof FullDriver];
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(key);
      if (fn === undefined) bound.set(key, (fn = (value as (...args: unknown[]) => unknown).bind(target)));
      return fn;
    },
  });
}
