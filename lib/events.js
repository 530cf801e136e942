// @ts-check
'use strict';

// The manager's events: who listens (the EventEmitter's listeners and the
// subscribers of subscribeToEvents), delivering an event to them, the
// units' hooks (onStart, onComplete, onError), milestones, `task` events,
// and what happens when a listener or hook throws (reported to
// `listenerError` listeners, never thrown into the engine's records).

const v = require('./validate');

/**
 * @typedef {import('node:events').EventEmitter} EventEmitter
 * @typedef {{ type: string, [key: string]: any }} AnyEvent
 * @typedef {(event: any) => void} Subscriber
 */

class Events {
  /** The manager: its listeners, and `this` for them. */
  #emitter;
  /** subscribeToEvents listeners. */
  #subscribers = new Set();
  #warnedListenerError = false;
  #warnedTaskFailure = false;

  /** @param {EventEmitter} emitter */
  constructor(emitter) {
    this.#emitter = emitter;
  }

  /**
   * Whether anybody listens to `type` (an event nobody listens to is not
   * built).
   * @param {string} type
   */
  wants(type) {
    return this.#subscribers.size > 0 || this.#listens(type);
  }

  /**
   * Whether the manager has a listener of `type`. One with no listener at
   * all (EventEmitter keeps the number of event names listened to) answers
   * without a lookup by name: listenerCount's read of its table by a name
   * that varies is a keyed read through V8's generic path, and a run asks
   * several times.
   * @param {string} type
   */
  #listens(type) {
    const emitter = /** @type {EventEmitter & { _eventsCount?: number }} */ (this.#emitter);
    return emitter._eventsCount !== 0 && emitter.listenerCount(type) > 0;
  }

  /**
   * Whether anybody listens to `task` events. They go to `on('task')`
   * listeners only: subscribeToEvents delivers the unit events (each with a
   * unitId) that synchronik 2.3 programs subscribe to.
   */
  wantsTasks() {
    return this.#listens('task');
  }

  /**
   * Delivers an event to its listeners and (unless `toSubscribers` is false)
   * to every subscriber; a throwing listener is reported, never rethrown.
   * @param {string} type
   * @param {AnyEvent} event
   */
  deliver(type, event, toSubscribers = true) {
    const emitter = this.#emitter;
    if (emitter.listenerCount(type) > 0) {
      for (const listener of emitter.rawListeners(type)) {
        try {
          listener.call(emitter, event);
        } catch (e) {
          this.reportListenerError(e, event);
        }
      }
    }
    if (!toSubscribers) return;
    for (const listener of this.#subscribers) {
      try {
        listener(event);
      } catch (e) {
        this.reportListenerError(e, event);
      }
    }
  }

  /**
   * Calls a unit's hook. Everything about a hook is the user's: the getter
   * that holds it, the call, and the `then` of what it returns.
   * @param {any} unit
   * @param {'onStart' | 'onComplete' | 'onError'} name
   * @param {unknown} [arg]
   */
  hook(unit, name, arg) {
    try {
      // Read by name, not as unit[name]: in V8 the keyed read of a hook
      // the object does not have allocated about 60 bytes each time (a
      // fire of an interval worker with no hooks: 285 bytes instead of 405).
      const fn = name === 'onStart' ? unit.onStart : name === 'onComplete' ? unit.onComplete : unit.onError;
      if (typeof fn !== 'function') return;
      const r = fn.call(unit, arg);
      if (r && typeof r.then === 'function') {
        Promise.resolve(r).catch((e) => this.reportListenerError(e, { type: name, unitId: unit.id }));
      }
    } catch (e) {
      this.reportListenerError(e, { type: name, unitId: unit.id });
    }
  }

  /**
   * A listener, hook or callback of the user's threw: told to `listenerError`
   * listeners, or printed once when there are none.
   * @param {unknown} error
   * @param {AnyEvent | undefined} event what was being handled
   */
  reportListenerError(error, event) {
    const emitter = this.#emitter;
    if (emitter.listenerCount('listenerError') > 0) {
      for (const listener of emitter.rawListeners('listenerError')) {
        try {
          listener.call(emitter, { type: 'listenerError', error, event });
        } catch {
          // A failing listenerError listener has nowhere left to report to.
        }
      }
      return;
    }
    if (!this.#warnedListenerError) {
      this.#warnedListenerError = true;
      console.error(
        `[synchronik] a listener or hook threw while handling ${event && event.type ? `"${event.type}"` : 'an event'} (further ones are not printed; listen to "listenerError" to see them all):`,
        error,
      );
    }
  }

  /**
   * Listens to every event; returns the unsubscribe function.
   * @param {Subscriber} listener
   */
  subscribe(listener) {
    if (typeof listener !== 'function') throw v.fail('subscribeToEvents', 'listener', 'a function', listener);
    this.#subscribers.add(listener);
    return () => {
      this.#subscribers.delete(listener);
    };
  }

  /**
   * Adds a listener of `type` made by `adapt(handler)`; returns the function
   * that removes it (onMilestone, onStart, …).
   * @param {string} method
   * @param {string} type
   * @param {unknown} handler
   * @param {(fn: Function) => (event: any) => void} adapt
   */
  listen(method, type, handler, adapt) {
    if (typeof handler !== 'function') throw v.fail(method, 'handler', 'a function', handler);
    const listener = adapt(handler);
    const emitter = this.#emitter;
    emitter.on(type, listener);
    return () => {
      emitter.off(type, listener);
    };
  }

  /**
   * @param {string} milestoneId
   * @param {unknown} payload
   */
  milestone(milestoneId, payload) {
    if (this.wants('milestone')) this.deliver('milestone', { type: 'milestone', milestoneId, payload });
  }

  /**
   * An `updated` event: a shallow view of the unit, as in 2.3 (cheap however
   * large the unit). A getter of the user's object that throws leaves its
   * field out.
   * @param {any} unit
   * @param {string} reason
   * @param {string} previous
   * @param {string} current
   */
  updated(unit, reason, previous, current) {
    let payload;
    try {
      payload = { ...unit, reason, previous, current };
    } catch {
      payload = { reason, previous, current };
      for (const key of Object.keys(unit)) {
        try {
          v.setField(payload, key, unit[key]);
        } catch {
          // left out
        }
      }
      Object.assign(payload, { reason, previous, current });
    }
    this.deliver('updated', { type: 'updated', unitId: unit.id, payload });
  }

  /**
   * A `task` event for a pool task's status change; a failed or dropped
   * task's event carries its error.
   * @param {{ name: string }} pool
   * @param {any} task
   * @param {unknown} [error]
   */
  task(pool, task, error) {
    if (this.wantsTasks()) {
      /** @type {AnyEvent} */
      const event = { type: 'task', pool: pool.name, name: task.name, status: task.status, task };
      if (error !== undefined) event.error = error;
      this.deliver('task', event, false);
    }
  }

  /**
   * A named task failed (or was dropped by stop) while nothing listens to
   * `task` events: printed once, as Node prints an unhandled rejection.
   * @param {{ name: string }} pool
   * @param {any} task
   * @param {unknown} error
   */
  unobservedTaskFailure(pool, task, error) {
    if (this.#warnedTaskFailure) return;
    this.#warnedTaskFailure = true;
    console.error(
      `[synchronik] pool task "${task.name}" (pool "${pool.name}") ${task.status === 'error' ? 'failed' : 'was dropped'} and nothing listens to "task" events (further ones are not printed; listen to "task" events to see them all):`,
      error,
    );
  }
}

module.exports = { Events };
