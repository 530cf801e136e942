// @ts-check
'use strict';

// The visualizer of synchronik 2.3: turns unit statuses and milestones into
// messages handed to a render function of the caller's. Same names, messages
// and render arguments as 2.3.

const v = require('./validate');

/**
 * @typedef {import('../index').VisualizerRenderFn} RenderFn
 * @typedef {import('../index').ConsoleVisualizer} ConsoleVisualizer
 * @typedef {(listener: (event: any) => void) => unknown} Subscribe
 */

const METHOD = 'createSynchronikVisualizer';

/**
 * The status a `start`, `complete` or `error` event means (as 2.3 mapped them).
 * @type {Map<unknown, import('../index').Status>}
 */
const STATUS_OF_EVENT = new Map([
  ['start', 'running'],
  ['complete', 'completed'],
  ['error', 'error'],
]);

const isFunction = (/** @type {unknown} */ f) => typeof f === 'function';
const isString = (/** @type {unknown} */ s) => typeof s === 'string';
const nonEmptyString = (/** @type {unknown} */ s) => typeof s === 'string' && s.length > 0;
const isStatus = (/** @type {any} */ s) => v.STATUSES.includes(s);
const isObject = (/** @type {unknown} */ p) => typeof p === 'object' && p !== null;
/**
 * @param {(value: unknown) => boolean} ok
 * @returns {(value: unknown) => boolean}
 */
const optional = (ok) => (value) => value === undefined || ok(value);

/**
 * How to listen to every event of `bus`: the manager's `subscribeToEvents`,
 * or 2.3's event bus `subscribeAll`. Undefined when it has neither.
 * @param {any} bus
 * @returns {Subscribe | undefined}
 */
function subscriberOf(bus) {
  if (typeof bus !== 'object' || bus === null) return undefined;
  if (isFunction(bus.subscribeToEvents)) return (listener) => bus.subscribeToEvents(listener);
  if (isFunction(bus.subscribeAll)) return (listener) => bus.subscribeAll(listener);
  return undefined;
}

/**
 * Creates a visualizer. `renderFn(type, message, meta)` receives every
 * rendering: `('status', '[Visualizer] Unit <id> is now <status>',
 * { unitId, status })` and `('milestone', '[Visualizer] Milestone reached:
 * <id>', { milestoneId, payload })`. Without it, nothing is rendered (as in
 * 2.3).
 * @param {RenderFn} [renderFn]
 * @returns {ConsoleVisualizer}
 */
function createSynchronikVisualizer(renderFn) {
  v.check(METHOD, 'renderFn', renderFn, optional(isFunction), 'a function or undefined');
  /** @type {RenderFn} */
  const render = (type, message, meta) => {
    if (renderFn !== undefined) renderFn(type, message, meta);
  };

  /** @type {ConsoleVisualizer} */
  const visualizer = {
    /** Renders "unit <id> is now <status>" (or `message`). */
    renderUnitStatus(unitId, status, message) {
      const method = 'renderUnitStatus';
      v.check(method, 'unitId', unitId, nonEmptyString, 'a non-empty string');
      v.check(method, 'status', status, optional(isStatus), `one of '${v.STATUSES.join("', '")}'`);
      v.check(method, 'message', message, optional(isString), 'a string or undefined');
      render('status', message ?? `[Visualizer] Unit ${unitId} is now ${status}`, { unitId, status });
    },

    /** Renders "milestone reached: <id>" (or `message`). */
    renderMilestone(milestoneId, payload, message) {
      const method = 'renderMilestone';
      v.check(method, 'milestoneId', milestoneId, nonEmptyString, 'a non-empty string');
      v.check(method, 'payload', payload, optional(isObject), 'an object or undefined');
      v.check(method, 'message', message, optional(isString), 'a string or undefined');
      render('milestone', message ?? `[Visualizer] Milestone reached: ${milestoneId}`, { milestoneId, payload });
    },

    /**
     * Renders the status of every `start` (running), `complete` (completed)
     * and `error` (error) event and every milestone of `bus`: a manager, or
     * anything with `subscribeToEvents(listener)` or 2.3's
     * `subscribeAll(listener)`. Returns the function that detaches the
     * visualizer (it unsubscribes when the bus gave a way to).
     */
    attachToEventBus(bus) {
      const subscribe = subscriberOf(bus);
      if (subscribe === undefined) {
        throw v.fail('attachToEventBus', 'bus', 'a manager or an event bus (an object with a subscribeToEvents or subscribeAll function)', bus);
      }
      let attached = true;
      const unsubscribe = subscribe((event) => {
        if (!attached) return;
        const status = STATUS_OF_EVENT.get(event.type);
        // The methods are read from the object on each event, so that a
        // method replaced (or spied on) after attaching is the one called.
        if (status !== undefined) {
          if (typeof event.unitId === 'string') visualizer.renderUnitStatus(event.unitId, status);
        } else if (event.type === 'milestone') {
          visualizer.renderMilestone(event.milestoneId, event.payload);
        }
      });
      return () => {
        if (!attached) return;
        attached = false;
        if (typeof unsubscribe === 'function') unsubscribe();
      };
    },
  };
  return visualizer;
}

module.exports = { createSynchronikVisualizer };
