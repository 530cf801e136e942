// @ts-check
'use strict';

// The web dashboard as the manager serves it (manager.serveDashboard): the
// engine's HTTP server (see crates/synchronik-web/API.md) runs on a thread
// of its own; this module opens and closes it, answers its authorization
// hook, and keeps what it needs on the JavaScript side while it is open —
// the lag sampler (the page shows a blocked event loop from its heartbeat)
// and the engine's wake-up (an action from the HTTP thread must reach
// JavaScript) — and the manager itself: a server must not die with a
// manager the program dropped. None of this keeps Node alive, nor does the
// server.

const { SynchronikError } = require('./errors');

/**
 * @typedef {import('./validate').DashboardOptions} DashboardOptions
 * @typedef {import('./bridge').Bridge} Bridge
 * @typedef {import('./lag').LagSampler} LagSampler
 * @typedef {import('./native').NativeDashboard} NativeDashboard
 * @typedef {import('./native').JsAuthRequest} JsAuthRequest
 */

/** The public handle of one open server: `{ url, host, port, token, close() }`. */
class DashboardServer {
  /** @type {Promise<void> | null} what close() returned */
  #closing = null;
  #close;

  /**
   * @param {{ host: string, port: number, token: string, basePath: string }} where
   * @param {() => Promise<void>} close closes the native server (its port is free on return) and lets go of what it held; resolves once the server's thread has ended
   */
  constructor({ host, port, token, basePath }, close) {
    const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    /** The page's address, token included (the page reads it from there). */
    this.url = `http://${shown}:${port}${basePath}?token=${encodeURIComponent(token)}`;
    /** The host it listens on, as given. */
    this.host = host;
    /** The port it listens on (the one chosen when 0 was given). */
    this.port = port;
    /** The token every API request needs. */
    this.token = token;
    this.#close = close;
  }

  /**
   * Stops the server and frees its port (at once, before this returns);
   * resolves once the server's thread has ended. Idempotent: a second call
   * returns the same promise.
   */
  close() {
    if (this.#closing === null) {
      try {
        this.#closing = this.#close();
      } catch (e) {
        this.#closing = Promise.reject(e);
      }
    }
    return this.#closing;
  }
}

/**
 * The managers with a server open, held strongly until their last server
 * closes: the program may keep neither the manager nor the handle (a
 * dashboard opened and forgotten), and collecting the manager would close
 * its engine, and so the server. A Set holds nothing that keeps Node alive.
 * @type {Set<object>}
 */
const serving = new Set();

/** The servers one manager has open. */
class Dashboards {
  /** @type {Set<DashboardServer>} */
  #open = new Set();
  #bridge;
  #lag;
  #owner;

  /**
   * @param {Bridge} bridge
   * @param {LagSampler} lag
   * @param {object} owner the manager, held while a server is open
   */
  constructor(bridge, lag, owner) {
    this.#bridge = bridge;
    this.#lag = lag;
    this.#owner = owner;
  }

  /**
   * Opens a server with validated options.
   * @param {DashboardOptions} options
   * @returns {DashboardServer}
   */
  open(options) {
    const token = options.token !== undefined ? options.token : require('node:crypto').randomBytes(24).toString('base64url');
    const hook = options.authorize !== undefined ? authorizeHook(options.authorize) : null;
    /** @type {NativeDashboard} */
    let native;
    try {
      native = this.#bridge.native.serveDashboard(
        { host: options.host, port: options.port, token, basePath: options.basePath, readOnly: options.readOnly },
        hook !== null ? hook.call : undefined,
      );
    } catch (e) {
      throw bindError(e);
    }
    if (hook !== null) hook.bind(native);
    const bridge = this.#bridge;
    const server = new DashboardServer({ host: options.host, port: native.port, token, basePath: options.basePath }, () => {
      const ended = native.close();
      if (this.#open.delete(server)) {
        bridge.serving(-1);
        this.#lag.setServing(this.#open.size > 0);
        if (this.#open.size === 0) serving.delete(this.#owner);
      }
      return ended;
    });
    this.#open.add(server);
    serving.add(this.#owner);
    bridge.serving(1);
    this.#lag.setServing(true);
    return server;
  }

  /** Closes every open server (manager.close). */
  closeAll() {
    const closing = Array.from(this.#open, (s) => s.close());
    return Promise.all(closing).then(() => {});
  }
}

/**
 * The hook the native server asks about every action: `(request, action,
 * id)`. It calls the user's `authorize(request, action)` and answers
 * `allowed` only for `true` (or a promise of `true`); a throw, a rejection
 * or anything else is a no, and never an unhandled rejection. It reaches
 * the native server through a WeakRef: the hook is held by that server, so
 * a strong reference would make a cycle no collector sees through.
 * @param {(request: JsAuthRequest, action: string) => unknown} authorize
 */
function authorizeHook(authorize) {
  /** @type {{ ref: WeakRef<NativeDashboard> | null }} */
  const to = { ref: null };
  /**
   * @param {JsAuthRequest} request
   * @param {string} action
   * @param {number} id
   */
  const call = (request, action, id) => {
    /** @param {boolean} allowed */
    const answer = (allowed) => {
      const native = to.ref !== null ? to.ref.deref() : undefined;
      try {
        if (native !== undefined) native.answer(id, allowed);
      } catch {
        // The server is gone: nobody waits for the answer.
      }
    };
    let result;
    try {
      result = authorize(request, action);
    } catch {
      answer(false);
      return;
    }
    // A thenable whose `then` throws rejects here, and counts as a no.
    Promise.resolve(result).then(
      (r) => answer(r === true),
      () => answer(false),
    );
  };
  return {
    call,
    /** @param {NativeDashboard} native */
    bind(native) {
      to.ref = new WeakRef(native);
    },
  };
}

/**
 * A server that could not start ("EADDRINUSE: serveDashboard cannot listen
 * on …"), as a SynchronikError whose code is the errno name.
 * @param {unknown} err
 */
function bindError(err) {
  const text = String(err && /** @type {any} */ (err).message);
  const m = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(text);
  if (!m) return err;
  return new SynchronikError(m[2], m[1]);
}

module.exports = { Dashboards, DashboardServer };
