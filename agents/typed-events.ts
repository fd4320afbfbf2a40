/** Events as a map from name to the listener's argument list. */
export type EventMap = { [event: string]: readonly unknown[] };

type Listener<Args extends readonly unknown[]> = (...args: Args) => void;

/**
 * A minimal typed emitter. Unlike node's EventEmitter, an `error` event is an ordinary event
 * (the agent's `error` carries reports from `ue/{ue}/error`, not crashes), and a listener
 * that throws does not stop the others.
 */
export class TypedEvents<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<E[keyof E]>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<E[keyof E]>);
    return this;
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    this.listeners.get(event)?.delete(listener as Listener<E[keyof E]>);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapper: Listener<E[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(...args);
      } catch (error) {
        // A faulty listener must not break the agent's bookkeeping; surface it asynchronously.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
