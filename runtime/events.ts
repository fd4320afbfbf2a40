/**
 * The one style of typed events: a class extends Node's `EventEmitter<Events>`, `Events` mapping
 * each event to its listeners' argument list, and emits through `emitEach`.
 */
import type { EventEmitter } from 'node:events';

/** A listener of an event whose listeners receive `Args`. */
export type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * Calls every listener of `event` with `args`, each on its own: a listener that throws stops
 * neither the others nor the emitter (its error is thrown again in a microtask, where the
 * process's handlers see it), and an `error` event is an ordinary event (an agent's `error`
 * carries reports from `ue/{ue}/error`, not crashes), never thrown for want of a listener.
 */
export function emitEach<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(
  emitter: EventEmitter<T>,
  event: K,
  ...args: T[K]
): void {
  for (const listener of (emitter as unknown as EventEmitter).rawListeners(event)) {
    try {
      Reflect.apply(listener, emitter, args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Adds `listener` for `event` to `emitter`; returns a function that removes it again. */
export function subscribe<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(
  emitter: EventEmitter<T>,
  event: K,
  listener: Listener<T[K]>,
): () => void {
  const untyped = emitter as unknown as EventEmitter;
  untyped.on(event, listener);
  return () => {
    untyped.off(event, listener);
  };
}
