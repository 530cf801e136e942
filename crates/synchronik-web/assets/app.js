// The synchronik dashboard page: one script, no dependencies, no build step.
//
// Data comes from the JSON API next to this page (relative URLs, so the page
// works under any base path; see crates/synchronik-web/API.md). Everything
// that comes from the engine (ids, names, messages) is put into the page with
// textContent or as an attribute value, never parsed as HTML; links are only
// ever `#/…` routes with encodeURIComponent'd parts.
(function () {
  'use strict';

  const STATUSES = ['idle', 'running', 'paused', 'completed', 'error'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PAGE_SIZE = 50;
  const MAX_PAGE = 500;
  const POLL_MS = 1000;
  // With SSE up, an overview is read when nothing arrived for this long, so
  // the blocked-loop banner and relative times stay current when the engine
  // is quiet.
  const QUIET_MS = 2000;

  // ---------------------------------------------------------------- token

  const TOKEN_KEY = 'synchronik.token:' + location.pathname;

  function storage() {
    try {
      return window.sessionStorage;
    } catch (_) {
      return null;
    }
  }

  function readToken() {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get('token');
    const store = storage();
    if (fromUrl) {
      if (store) {
        try {
          store.setItem(TOKEN_KEY, fromUrl);
        } catch (_) {
          /* private mode: the token lives in memory only */
        }
      }
      // Keep the token out of the address bar and the browser's history.
      params.delete('token');
      const rest = params.toString();
      try {
        history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
      } catch (_) {
        /* not fatal */
      }
      return fromUrl;
    }
    if (store) {
      try {
        return store.getItem(TOKEN_KEY);
      } catch (_) {
        return null;
      }
    }
    return null;
  }

  const token = readToken();

  // ---------------------------------------------------------------- DOM helpers

  // Sets attributes and children on an element. Data only ever lands in
  // text nodes and attribute values; event-handler attributes, style
  // attributes and links other than in-page routes are refused outright.
  function fill(el, attrs, children) {
    if (attrs) {
      for (const key of Object.keys(attrs)) {
        const value = attrs[key];
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') el.setAttribute('class', value);
        else {
          const lower = key.toLowerCase();
          if (lower.startsWith('on') || lower === 'style' || lower === 'srcdoc') {
            throw new Error('refusing attribute ' + key);
          }
          if ((lower === 'href' || lower === 'xlink:href') && !String(value).startsWith('#')) {
            throw new Error('refusing link ' + value);
          }
          el.setAttribute(key, value === true ? '' : String(value));
        }
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (typeof child === 'object') el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
  }

  function h(tag, attrs, ...children) {
    return fill(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return fill(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // Live updates re-render a view into a detached tree and then bring the
  // page's tree in line with it, keeping the elements that stay (so focus,
  // hover and a click under way are not lost every time data arrives).
  // Elements match by tag and their id-like data attribute, else in order.
  const KEYS = ['data-unit-id', 'data-task-id', 'data-node-id', 'data-ghost-id', 'data-pool', 'data-key'];

  function keyOf(node) {
    if (node.nodeType !== 1) return '#' + node.nodeType;
    for (const k of KEYS) if (node.hasAttribute(k)) return node.nodeName + '|' + k + '=' + node.getAttribute(k);
    return node.nodeName;
  }

  function morph(to, from) {
    const keep = new Set();
    for (const attr of Array.from(from.attributes)) {
      keep.add(attr.name);
      if (to.getAttribute(attr.name) !== attr.value) to.setAttribute(attr.name, attr.value);
    }
    for (const attr of Array.from(to.attributes)) if (!keep.has(attr.name)) to.removeAttribute(attr.name);
    morphChildren(to, from);
  }

  function morphChildren(to, from) {
    const unused = new Map();
    for (const node of Array.from(to.childNodes)) {
      const k = keyOf(node);
      if (!unused.has(k)) unused.set(k, []);
      unused.get(k).push(node);
    }
    let at = to.firstChild;
    for (const next of Array.from(from.childNodes)) {
      const same = unused.get(keyOf(next));
      const old = same && same.length ? same.shift() : null;
      if (!old) {
        to.insertBefore(next, at);
        continue;
      }
      if (old.nodeType === 1) morph(old, next);
      else if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
      if (old === at) at = at.nextSibling;
      else to.insertBefore(old, at);
    }
    for (const rest of unused.values()) for (const node of rest) node.remove();
  }

  function enc(id) {
    return encodeURIComponent(String(id));
  }

  function unitHref(id) {
    return '#/units/' + enc(id);
  }

  function unitLink(id, extra) {
    return h('a', Object.assign({ href: unitHref(id), class: 'id', 'data-focus': 'unit:' + id }, extra), String(id));
  }

  function badge(status) {
    const s = status === null || status === undefined ? 'unknown' : String(status);
    return h('span', { class: 'badge s-' + (/^[a-z-]+$/.test(s) ? s : 'unknown') }, s);
  }

  function tag(text, cls) {
    return h('span', { class: 'tag' + (cls ? ' ' + cls : '') }, text);
  }

  // A header given as [text, 'num'] is right-aligned over its numbers.
  function table(caption, headers, rows, empty) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        null,
        caption ? h('caption', null, caption) : null,
        h('thead', null, h('tr', null, headers.map((x) => (Array.isArray(x) ? h('th', { scope: 'col', class: x[1] }, x[0]) : h('th', { scope: 'col' }, x))))),
        h('tbody', null, rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, empty || 'Nothing here.')))
      )
    );
  }

  function dl(pairs) {
    return h(
      'dl',
      { class: 'kv' },
      pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v === null || v === undefined || v === '' ? '—' : v)])
    );
  }

  function card(title, ...children) {
    return h('section', { class: 'card' }, title ? h('h2', null, title) : null, children);
  }

  // ---------------------------------------------------------------- formatting

  function fmtNum(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '—';
    return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }

  function fmtMs(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    const a = Math.abs(ms);
    const sign = ms < 0 ? '-' : '';
    if (a < 10) return sign + a.toFixed(a < 1 ? 2 : 1) + ' ms';
    if (a < 1000) return sign + Math.round(a) + ' ms';
    if (a < 60000) return sign + (a / 1000).toFixed(1) + ' s';
    if (a < 3600000) return sign + pair(Math.floor(a / 60000), 'min', Math.floor((a % 60000) / 1000), 's');
    if (a < 86400000) return sign + pair(Math.floor(a / 3600000), 'h', Math.floor((a % 3600000) / 60000), 'min');
    return sign + pair(Math.floor(a / 86400000), 'd', Math.floor((a % 86400000) / 3600000), 'h');
  }

  function pair(big, bigUnit, small, smallUnit) {
    return big + ' ' + bigUnit + (small ? ' ' + small + ' ' + smallUnit : '');
  }

  function fmtRel(atMs, nowMs) {
    const d = atMs - nowMs;
    if (Math.abs(d) < 50) return 'now';
    return d > 0 ? 'in ' + fmtMs(d) : fmtMs(-d) + ' ago';
  }

  // Store rows carry wall-clock times; the engine's views carry its clock.
  function fmtWhen(ms, nowMs) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    if (ms > 1e11) return new Date(ms).toLocaleString();
    return fmtRel(ms, nowMs);
  }

  // The engine's clock, estimated between answers: it moves with wall time
  // when it did so between the last samples (a manual clock does not).
  const clock = { ms: 0, wall: 0, refMs: 0, refWall: 0, rate: 1, known: false };

  function noteNow(nowMs) {
    if (typeof nowMs !== 'number' || !isFinite(nowMs)) return;
    const wall = performance.now();
    if (!clock.known) {
      clock.refMs = nowMs;
      clock.refWall = wall;
    } else if (wall - clock.refWall >= 500) {
      const rate = (nowMs - clock.refMs) / (wall - clock.refWall);
      clock.rate = rate > 0.8 && rate < 1.25 ? 1 : 0;
      clock.refMs = nowMs;
      clock.refWall = wall;
    }
    clock.ms = nowMs;
    clock.wall = wall;
    clock.known = true;
  }

  function engineNow() {
    if (!clock.known) return 0;
    return clock.ms + Math.min(performance.now() - clock.wall, 60000) * clock.rate;
  }

  // A time shown relative to now ("in 2.0 s", "3.1 s ago"), kept current.
  function rel(atMs) {
    if (typeof atMs !== 'number' || !isFinite(atMs)) return h('span', null, '—');
    return h('span', { class: 'rel', 'data-at': atMs, title: 'engine clock ' + fmtNum(atMs) + ' ms' }, fmtRel(atMs, engineNow()));
  }

  // How long since a time ("2.0 s"), kept current.
  function since(atMs) {
    if (typeof atMs !== 'number' || !isFinite(atMs)) return h('span', null, '—');
    return h('span', { class: 'rel', 'data-since': atMs }, fmtMs(Math.max(0, engineNow() - atMs)));
  }

  function tickTimes() {
    const now = engineNow();
    for (const el of document.querySelectorAll('.rel')) {
      if (el.hasAttribute('data-at')) el.textContent = fmtRel(Number(el.getAttribute('data-at')), now);
      else el.textContent = fmtMs(Math.max(0, now - Number(el.getAttribute('data-since'))));
    }
  }

  // ---------------------------------------------------------------- messages

  const messages = document.getElementById('messages');

  function showMessage(kind, text, key) {
    if (key) {
      for (const old of messages.querySelectorAll('.msg')) if (old.getAttribute('data-key') === key) old.remove();
    }
    const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss' }, '×');
    const el = h('div', { class: 'msg msg-' + kind, role: kind === 'error' ? 'alert' : 'status', 'data-key': key || null }, h('span', null, text), close);
    close.addEventListener('click', () => el.remove());
    messages.appendChild(el);
    while (messages.children.length > 4) messages.firstChild.remove();
    if (kind !== 'error') setTimeout(() => el.remove(), 4000);
    return el;
  }

  function dropMessage(key) {
    for (const old of messages.querySelectorAll('.msg')) if (old.getAttribute('data-key') === key) old.remove();
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function describe(e) {
    if (!(e instanceof ApiError)) return String((e && e.message) || e);
    if (e.status === 0) return 'cannot reach the dashboard server (' + e.message + ')';
    let text = e.status + ' ' + e.code + ': ' + e.message;
    if (e.code === 'ERR_READ_ONLY') text = 'the dashboard is read-only (403 ERR_READ_ONLY): actions are turned off';
    else if (e.status === 403) text += ' (refused: read-only dashboard, another origin, or the authorize hook said no)';
    return text;
  }

  let authFailed = false;

  function onUnauthorized() {
    if (authFailed) return;
    authFailed = true;
    setConn('unauthorized');
    stopLive();
    showMessage(
      'error',
      token
        ? 'Not authorised (401): the token in this page is not the dashboard\u2019s. Open the URL that serveDashboard() returned (it ends in ?token=\u2026).'
        : 'Not authorised (401): no token. Open the URL that serveDashboard() returned (it ends in ?token=\u2026).',
      'auth'
    );
  }

  async function api(path, method) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch(path, { method: method || 'GET', headers, cache: 'no-store', credentials: 'same-origin', redirect: 'error' });
    } catch (e) {
      throw new ApiError(0, 'ERR_NETWORK', String((e && e.message) || e));
    }
    let body = null;
    try {
      const text = await res.text();
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!res.ok) {
      const err = body && body.error;
      const e = new ApiError(res.status, (err && err.code) || 'HTTP_' + res.status, (err && err.message) || res.statusText || 'request failed');
      if (res.status === 401) onUnauthorized();
      throw e;
    }
    if (body === null || typeof body !== 'object') throw new ApiError(res.status, 'ERR_BAD_ANSWER', 'the answer is not JSON');
    if (typeof body.nowMs === 'number') noteNow(body.nowMs);
    return body;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    return s ? '?' + s : '';
  }

  // ---------------------------------------------------------------- actions

  const state = { overview: null, readOnly: false };

  const ACTION_LABELS = {
    run: 'Run now',
    pause: 'Pause',
    resume: 'Resume',
    enable: 'Enable',
    disable: 'Disable',
    cancel: 'Cancel',
    retry: 'Retry',
  };

  function actionButton(action, path, what, small) {
    const label = ACTION_LABELS[action];
    return h(
      'button',
      {
        type: 'button',
        class: 'btn btn-' + action + (small ? ' btn-sm' : ''),
        'data-action': action,
        'data-focus': 'act:' + action + ':' + path,
        'data-path': path,
        'data-what': what,
        title: label + ' ' + what,
        'aria-label': label + ' ' + what,
      },
      label
    );
  }

  // One listener for the buttons of every view: a re-render may turn a
  // Pause button into a Resume button in place, so a button's own listener
  // would act on stale data; the attributes are always current.
  document.addEventListener('click', (ev) => {
    const more = ev.target instanceof Element ? ev.target.closest('button[data-load-more]') : null;
    if (more && !more.disabled && current && current.list) {
      more.disabled = true;
      current.list.more = true;
      requestRead();
      return;
    }
    const btn = ev.target instanceof Element ? ev.target.closest('button[data-action][data-path]') : null;
    if (!btn || btn.disabled) return;
    const action = btn.getAttribute('data-action');
    const path = btn.getAttribute('data-path');
    if (!Object.prototype.hasOwnProperty.call(ACTION_LABELS, action) || !/^api\/(units|tasks)\/[^/]+\/[a-z]+$/.test(path)) return;
    act(btn, action, path, btn.getAttribute('data-what') || '');
  });

  async function act(btn, action, path, what) {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try {
      await api(path, 'POST');
      showMessage('ok', ACTION_LABELS[action] + ' ' + what + ': requested.', 'act');
      requestRead();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'ERR_READ_ONLY') {
        state.readOnly = true;
        document.body.classList.add('read-only');
      }
      showMessage('error', ACTION_LABELS[action] + ' ' + what + ' failed: ' + describe(e), 'act');
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
    }
  }

  function unitActions(id, status, enabled, small) {
    const base = 'api/units/' + enc(id) + '/';
    const what = '\u201c' + id + '\u201d';
    return h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': 'Actions' },
      actionButton('run', base + 'run', what, small),
      status === 'paused' ? actionButton('resume', base + 'resume', what, small) : actionButton('pause', base + 'pause', what, small),
      small ? null : enabled === false ? actionButton('enable', base + 'enable', what, small) : actionButton('disable', base + 'disable', what, small)
    );
  }

  // ---------------------------------------------------------------- banner

  const bannerSlot = document.getElementById('banner');
  const blockedSeen = { ms: 0, wall: 0 };

  function renderBanner(loop) {
    const blocked = !!(loop && loop.blocked);
    let el = bannerSlot.querySelector('[data-testid="blocked-banner"]');
    if (!blocked) {
      if (el) el.remove();
      return;
    }
    blockedSeen.ms = typeof loop.blockedForMs === 'number' ? loop.blockedForMs : 0;
    blockedSeen.wall = performance.now();
    if (!el) {
      el = h(
        'div',
        { class: 'banner', role: 'alert', 'data-testid': 'blocked-banner' },
        h('strong', null, 'JavaScript event loop blocked'),
        ' for ',
        h('span', { class: 'blocked-for' }),
        h('span', { class: 'blocked-where' })
      );
      bannerSlot.appendChild(el);
    }
    el.setAttribute('data-unit', loop.unit === null || loop.unit === undefined ? '' : String(loop.unit));
    updateBannerTime();
    const where = el.querySelector('.blocked-where');
    clear(where);
    if (loop.unit !== null && loop.unit !== undefined) append(where, [' in ', unitLink(loop.unit)]);
    else append(where, [' (outside any unit\u2019s run)']);
  }

  function updateBannerTime() {
    const el = bannerSlot.querySelector('.blocked-for');
    if (!el) return;
    const ms = blockedSeen.ms + Math.min(performance.now() - blockedSeen.wall, 60000);
    el.textContent = (ms / 1000).toFixed(1) + ' s';
  }

  // ---------------------------------------------------------------- connection

  const conn = document.getElementById('conn');
  const CONN_TEXT = {
    connecting: 'connecting\u2026',
    live: 'live',
    polling: 'polling',
    offline: 'offline \u2014 retrying',
    unauthorized: 'not authorised',
  };

  function setConn(s) {
    if (authFailed && s !== 'unauthorized') return;
    conn.setAttribute('data-state', s);
    conn.textContent = CONN_TEXT[s] || s;
  }

  // ---------------------------------------------------------------- live updates

  const live = {
    es: null,
    polling: false,
    pollTimer: 0,
    retryTimer: 0,
    retryMs: 5000,
    lastMessage: 0,
    change: null,
    overviewReading: false,
  };

  function onOverview(o) {
    if (!o || typeof o !== 'object') return;
    live.lastMessage = performance.now();
    noteNow(o.nowMs);
    state.overview = o;
    if (o.readOnly === true && !state.readOnly) {
      state.readOnly = true;
      document.body.classList.add('read-only');
    }
    renderBanner(o.eventLoop);
    if (offline) {
      offline = false;
      dropMessage('net');
    }
    live.change = o.change;
    if (current && current.fromOverview) current.fromOverview(o);
    else if (current && current.shownChange !== o.change) requestLiveRead();
  }

  let offline = false;

  function onReadError(e) {
    if (e instanceof ApiError && e.status === 0) {
      if (!offline) {
        offline = true;
        setConn('offline');
        showMessage('error', 'Cannot reach the dashboard server; retrying.', 'net');
      }
    }
  }

  function connect() {
    if (authFailed) return;
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    let es;
    try {
      es = new EventSource('api/events' + query({ token }));
    } catch (_) {
      startPolling();
      return;
    }
    live.es = es;
    es.addEventListener('open', () => {
      live.retryMs = 5000;
      stopPolling();
      setConn('live');
    });
    es.addEventListener('overview', (ev) => {
      let o = null;
      try {
        o = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      setConn('live');
      onOverview(o);
    });
    es.addEventListener('error', () => {
      // Fall back to polling; try the stream again later.
      es.close();
      if (live.es === es) live.es = null;
      if (authFailed) return;
      startPolling();
      clearTimeout(live.retryTimer);
      live.retryTimer = setTimeout(connect, live.retryMs);
      live.retryMs = Math.min(live.retryMs * 2, 60000);
    });
  }

  function startPolling() {
    if (live.polling || authFailed) return;
    live.polling = true;
    if (!offline) setConn('polling');
    pollOverview();
  }

  function stopPolling() {
    live.polling = false;
    clearTimeout(live.pollTimer);
  }

  function stopLive() {
    stopPolling();
    clearTimeout(live.retryTimer);
    if (live.es) live.es.close();
    live.es = null;
  }

  // One overview read at a time; the next is set up after the answer.
  async function readOverview() {
    if (live.overviewReading || authFailed) return;
    live.overviewReading = true;
    try {
      onOverview(await api('api/overview'));
      if (live.polling && !offline) setConn('polling');
    } catch (e) {
      onReadError(e);
    } finally {
      live.overviewReading = false;
    }
  }

  async function pollOverview() {
    await readOverview();
    if (live.polling && !authFailed) {
      clearTimeout(live.pollTimer);
      live.pollTimer = setTimeout(pollOverview, POLL_MS);
    }
  }

  // With the stream open but quiet, or while the loop is blocked, read the
  // overview now and then (the block itself may not move `change`).
  function quietCheck() {
    if (!live.es || live.polling || authFailed) return;
    const blocked = !!(state.overview && state.overview.eventLoop && state.overview.eventLoop.blocked);
    const wait = blocked ? POLL_MS : QUIET_MS;
    if (performance.now() - live.lastMessage >= wait) {
      live.lastMessage = performance.now();
      readOverview();
    }
  }

  // ---------------------------------------------------------------- view reads

  // The current view's data is read one request at a time: a read asked
  // for while one is under way runs once after it.
  const reads = { busy: false, again: false, startedAt: -Infinity, liveTimer: 0 };
  let current = null;

  // A change of the engine reads the view's data again at most once per
  // LIVE_READ_GAP_MS. Under steady work the engine changes with every run,
  // and a page that read and drew its table again with every overview
  // (four times a second) kept the browser busy, which on a small machine
  // takes CPU from the process it shows. A read the user asks for (an
  // action, a filter, another page) is not held back.
  const LIVE_READ_GAP_MS = 1000;

  function requestLiveRead() {
    if (reads.liveTimer) return;
    const wait = reads.startedAt + LIVE_READ_GAP_MS - performance.now();
    if (wait <= 0) {
      requestRead();
      return;
    }
    reads.liveTimer = setTimeout(() => {
      reads.liveTimer = 0;
      if (current && current.shownChange !== live.change) requestRead();
    }, wait);
  }

  function requestRead() {
    if (!current || authFailed) return;
    if (reads.busy) {
      reads.again = true;
      return;
    }
    runRead();
  }

  async function runRead() {
    reads.busy = true;
    reads.again = false;
    reads.startedAt = performance.now();
    const view = current;
    const change = live.change;
    try {
      const data = await view.load();
      if (view === current && data !== undefined) {
        view.shownChange = change;
        withFocusKept(() => view.render(data));
        view.root.removeAttribute('aria-busy');
      }
    } catch (e) {
      if (view === current) {
        view.root.removeAttribute('aria-busy');
        // Read again with the next overview after a failure of the network
        // or the server; a 4xx answer stands until the engine changes.
        view.shownChange = e instanceof ApiError && e.status >= 400 && e.status < 500 ? change : null;
        onReadError(e);
        if (!(e instanceof ApiError && (e.status === 0 || e.status === 401))) view.fail(e);
        else if (!view.loaded) view.fail(e);
      }
    } finally {
      reads.busy = false;
      if (reads.again) runRead();
    }
  }

  // When a re-render replaced the element that had focus (a Pause button
  // that became Resume keeps it; a row that moved may not), give focus to
  // its successor.
  function withFocusKept(render) {
    const active = document.activeElement;
    const key = active && active.getAttribute && active.getAttribute('data-focus');
    render();
    if (!key || document.activeElement === active) return;
    for (const el of document.querySelectorAll('[data-focus]')) {
      if (el.getAttribute('data-focus') === key) {
        el.focus({ preventScroll: true });
        break;
      }
    }
  }

  // ---------------------------------------------------------------- views

  function viewRoot(name, title) {
    return h('section', { class: 'view', 'data-view': name, 'aria-busy': 'true', 'aria-labelledby': 'view-title' }, h('h1', { id: 'view-title' }, title));
  }

  function failBox(e) {
    if (e instanceof ApiError && e.status === 404) return h('p', { class: 'notice notice-error', role: 'alert' }, 'Not found: ' + e.message);
    return h('p', { class: 'notice notice-error', role: 'alert' }, 'Could not load this page: ' + describe(e));
  }

  // A view: its root (title, and filters that stay) and a body that each
  // render brings up to date.
  function makeView(name, title, extra) {
    const root = viewRoot(name, title);
    const body = h('div', { class: 'view-body' }, h('p', { class: 'loading' }, 'Loading\u2026'));
    const view = Object.assign(
      {
        name,
        root,
        body,
        loaded: false,
        shownChange: null,
        fail(e) {
          clear(body).appendChild(failBox(e));
        },
        show(...children) {
          view.loaded = true;
          morphChildren(body, h('div', null, children));
        },
        // The bar under the title (status and actions) of a detail view.
        head(el) {
          const old = root.querySelector('.detail-head');
          if (old) morph(old, el);
          else root.querySelector('h1').after(el);
        },
      },
      extra
    );
    return view;
  }

  // Lists that page with a cursor: a live re-read reads again as many
  // rows as are shown (page after page), "Load more" adds the next page.
  function pagedList(path, params) {
    const list = { items: [], next: null, total: null, more: false };
    list.load = async () => {
      if (list.more && list.next !== null) {
        const page = await api(path + query(Object.assign({}, params(), { limit: PAGE_SIZE, cursor: list.next })));
        list.more = false;
        list.items = list.items.concat(page.items || []);
        list.next = page.nextCursor === undefined ? null : page.nextCursor;
        list.total = typeof page.total === 'number' ? page.total : list.total;
        return page;
      }
      list.more = false;
      const want = Math.max(PAGE_SIZE, list.items.length);
      let items = [];
      let cursor = null;
      let page;
      do {
        page = await api(path + query(Object.assign({}, params(), { limit: Math.min(MAX_PAGE, want - items.length), cursor })));
        items = items.concat(page.items || []);
        cursor = page.nextCursor === undefined ? null : page.nextCursor;
      } while (cursor !== null && items.length < want);
      list.items = items;
      list.next = cursor;
      list.total = typeof page.total === 'number' ? page.total : null;
      return page;
    };
    list.reset = () => {
      list.items = [];
      list.next = null;
      list.total = null;
      list.more = false;
    };
    list.footer = (noun) => {
      const shown = list.items.length;
      const count = h('span', { class: 'count' }, list.total !== null ? 'Showing ' + fmtNum(shown) + ' of ' + fmtNum(list.total) + ' ' + noun : fmtNum(shown) + ' ' + noun);
      let more = null;
      if (list.next !== null) {
        more = h('button', { type: 'button', class: 'btn', 'data-focus': 'more', 'data-load-more': '' }, 'Load more');
      }
      return h('div', { class: 'list-footer' }, count, more);
    };
    return list;
  }

  // Reflects a filter in the address without a navigation.
  function setRouteQuery(path, params) {
    const q = query(params);
    try {
      history.replaceState(null, '', location.pathname + location.search + '#' + path + q);
    } catch (_) {
      /* not fatal */
    }
  }

  function debounce(fn, ms) {
    let t = 0;
    return () => {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  // ---- overview

  function overviewView() {
    const view = makeView('overview', 'Overview', {
      load: () => (state.overview ? Promise.resolve(state.overview) : api('api/overview')),
      render: (o) => renderOverview(view, o),
      fromOverview(o) {
        view.shownChange = o.change;
        withFocusKept(() => renderOverview(view, o));
        view.root.removeAttribute('aria-busy');
      },
    });
    return view;
  }

  function renderOverview(view, o) {
    const counts = o.counts || {};
    const totals = o.totals || {};
    const loop = o.eventLoop || {};
    const countCards = STATUSES.map((s) =>
      h(
        'a',
        { class: 'stat stat-' + s, href: '#/units' + query({ status: s }), 'data-focus': 'count:' + s },
        h('span', { class: 'stat-num', 'data-count': s }, String(typeof counts[s] === 'number' ? counts[s] : 0)),
        h('span', { class: 'stat-label' }, s)
      )
    );
    const errors = (o.recentErrors || []).slice().reverse();
    view.show(
      o.started === false ? h('p', { class: 'notice' }, 'The manager is not started: nothing runs on a schedule until start().') : null,
      h('div', { class: 'stats', role: 'list', 'aria-label': 'Units by status' }, countCards.map((c) => h('div', { role: 'listitem' }, c))),
      h(
        'div',
        { class: 'grid' },
        card(
          'Totals',
          dl([
            ['Runs', fmtNum(totals.runs)],
            ['Completed', fmtNum(totals.completed)],
            ['Failed', fmtNum(totals.failed)],
            ['Retries', fmtNum(totals.retries)],
            ['In flight', fmtNum(o.inFlight)],
            ['Queued in pools', fmtNum(o.poolQueued)],
            ['Workers', fmtNum(o.workers)],
            ['Processes', fmtNum(o.processes)],
          ])
        ),
        card(
          'Event loop',
          dl([
            ['State', loop.blocked ? h('span', { class: 'badge s-error' }, 'blocked') : h('span', { class: 'badge s-completed' }, 'responsive')],
            ['Lag', fmtMs(loop.lagMs)],
            ['Blocked in all', typeof loop.blockedSecondsTotal === 'number' ? loop.blockedSecondsTotal.toFixed(1) + ' s' : '—'],
            ['Engine clock', fmtMs(o.nowMs)],
          ])
        )
      ),
      card('Runs, failures and retries per ' + fmtNum((o.bucketMs || 10000) / 1000) + ' s (last 15 min)', rateChart(o.rates || [], o.bucketMs || 10000, o.nowMs)),
      card(
        'Recent errors',
        table(
          null,
          ['When', 'Unit', 'Message'],
          errors.map((e) => h('tr', { 'data-unit-id': e.unit }, h('td', { class: 'nowrap' }, rel(e.atMs)), h('td', null, unitLink(e.unit)), h('td', null, h('span', { class: 'err-text' }, String(e.message))))),
          'No errors.'
        )
      )
    );
  }

  function niceMax(v) {
    if (v <= 5) return 5;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function rateChart(rates, bucketMs, nowMs) {
    const W = 900;
    const H = 200;
    const L = 44;
    const R = 8;
    const T = 10;
    const B = 24;
    const n = Math.max(rates.length, 1);
    const pw = (W - L - R) / n;
    let peak = 0;
    for (const r of rates) peak = Math.max(peak, r.runs || 0, r.failures || 0, r.retries || 0);
    const max = niceMax(peak);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const x = (i) => L + pw * (i + 0.5);
    const line = (key) => rates.map((r, i) => (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(r[key] || 0).toFixed(1)).join(' ');
    const chart = svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Runs, failures and retries per ' + fmtMs(bucketMs) + ' over the last 15 minutes; peak ' + peak });
    for (const v of [0, max / 2, max]) {
      chart.appendChild(svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.appendChild(svg('text', { class: 'axis', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNum(v)));
    }
    const span = n * bucketMs;
    for (let k = 0; k <= 3; k++) {
      const i = (n - 1) * (k / 3);
      const label = k === 3 ? 'now' : '\u2212' + fmtMs(span - (span * k) / 3);
      chart.appendChild(svg('text', { class: 'axis', x: x(i), y: H - 6, 'text-anchor': k === 0 ? 'start' : k === 3 ? 'end' : 'middle' }, label));
    }
    if (rates.length) {
      const area = line('runs') + ' L' + x(rates.length - 1).toFixed(1) + ' ' + y(0) + ' L' + x(0).toFixed(1) + ' ' + y(0) + ' Z';
      chart.appendChild(svg('path', { class: 'area-runs', d: area }));
      chart.appendChild(svg('path', { class: 'line line-runs', d: line('runs') }));
      chart.appendChild(svg('path', { class: 'line line-retries', d: line('retries') }));
      chart.appendChild(svg('path', { class: 'line line-failures', d: line('failures') }));
      rates.forEach((r, i) => {
        const when = typeof r.startMs === 'number' && typeof nowMs === 'number' ? fmtRel(r.startMs, nowMs) : '';
        chart.appendChild(
          svg(
            'rect',
            { class: 'hit', x: L + pw * i, y: T, width: pw, height: H - T - B },
            svg('title', null, (when ? 'from ' + when + ': ' : '') + (r.runs || 0) + ' runs, ' + (r.failures || 0) + ' failures, ' + (r.retries || 0) + ' retries')
          )
        );
      });
    }
    const last = rates[rates.length - 1] || {};
    const legend = h(
      'div',
      { class: 'legend' },
      h('span', { class: 'key key-runs' }, 'runs'),
      h('span', { class: 'key key-failures' }, 'failures'),
      h('span', { class: 'key key-retries' }, 'retries'),
      h('span', { class: 'muted' }, 'this window: ' + (last.runs || 0) + ' runs, ' + (last.failures || 0) + ' failures, ' + (last.retries || 0) + ' retries')
    );
    return h('div', { class: 'chart-wrap' }, chart, legend);
  }

  // ---- units

  function unitsView(params) {
    const filter = { status: params.get('status') || '', kind: params.get('kind') || '', q: params.get('q') || '' };
    const list = pagedList('api/units', () => filter);
    const view = makeView('units', 'Units', { list, load: list.load, render: () => renderUnits(view, list) });
    const onFilter = () => {
      setRouteQuery('/units', filter);
      list.reset();
      view.root.setAttribute('aria-busy', 'true');
      requestRead();
    };
    const status = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '' }, 'any status'), STATUSES.map((s) => h('option', { value: s }, s)));
    const kind = h('select', { id: 'f-kind', name: 'kind' }, h('option', { value: '' }, 'any kind'), h('option', { value: 'worker' }, 'worker'), h('option', { value: 'process' }, 'process'));
    const text = h('input', { id: 'f-q', name: 'q', type: 'search', placeholder: 'part of the id', autocomplete: 'off', spellcheck: 'false' });
    status.value = STATUSES.includes(filter.status) ? filter.status : '';
    kind.value = filter.kind === 'worker' || filter.kind === 'process' ? filter.kind : '';
    text.value = filter.q;
    status.addEventListener('change', () => {
      filter.status = status.value;
      onFilter();
    });
    kind.addEventListener('change', () => {
      filter.kind = kind.value;
      onFilter();
    });
    const typed = debounce(() => {
      if (filter.q === text.value) return;
      filter.q = text.value;
      onFilter();
    }, 250);
    text.addEventListener('input', typed);
    const form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter units' },
      h('label', { for: 'f-status' }, 'Status'),
      status,
      h('label', { for: 'f-kind' }, 'Kind'),
      kind,
      h('label', { for: 'f-q' }, 'Id'),
      text
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      filter.q = text.value;
      onFilter();
    });
    view.root.appendChild(form);
    return view;
  }

  function renderUnits(view, list) {
    const rows = list.items.map((u) => {
      const where = [];
      if (u.process !== null && u.process !== undefined) where.push(h('span', { class: 'sub' }, 'in ', h('a', { href: '#/processes/' + enc(u.process), 'data-focus': 'proc:' + u.process }, String(u.process))));
      if (u.poolWorker) where.push(tag('pool worker'));
      if (u.enabled === false) where.push(tag('disabled', 'tag-off'));
      return h(
        'tr',
        { 'data-unit-id': u.id, 'data-status': u.status, class: u.enabled === false ? 'off' : null },
        h('td', null, unitLink(u.id), where),
        h('td', null, u.kind),
        h('td', { class: 'nowrap' }, badge(u.status), u.status === 'running' && typeof u.runningSinceMs === 'number' ? h('span', { class: 'sub' }, ' for ', since(u.runningSinceMs)) : null),
        h('td', { class: 'num' }, fmtNum(u.runCount)),
        h('td', { class: 'num' }, u.runCount ? fmtMs(u.lastDurationMs) : '—'),
        h('td', { class: 'num' }, u.runCount ? fmtMs(u.averageMs) : '—'),
        h('td', { class: 'nowrap' }, typeof u.nextFireMs === 'number' ? rel(u.nextFireMs) : '—'),
        h('td', { class: 'err-cell' }, u.lastError ? h('span', { class: 'err-text', title: String(u.lastError.message) }, String(u.lastError.message)) : '—'),
        h('td', null, unitActions(u.id, u.status, u.enabled, true))
      );
    });
    view.show(table(null, ['Unit', 'Kind', 'Status', ['Runs', 'num'], ['Last', 'num'], ['Average', 'num'], 'Next fire', 'Last error', 'Actions'], rows, 'No units match.'), list.footer('units'));
  }

  // ---- unit detail

  function unitView(id) {
    const view = makeView('unit', 'Unit', {
      load: () => api('api/units/' + enc(id)),
      render: (u) => renderUnit(view, u),
    });
    view.root.querySelector('h1').textContent = String(id);
    view.root.querySelector('h1').classList.add('id-title');
    view.root.setAttribute('data-unit-id', id);
    return view;
  }

  function configValue(key, value) {
    if (value === null || value === undefined) return key === 'retryDelayMs' ? 'computed per retry' : '—';
    if (key === 'dependsOn' && Array.isArray(value)) {
      if (!value.length) return 'nothing';
      return h('ul', { class: 'plain' }, value.map((d) => h('li', null, unitLink(d.id), d.conditional ? tag('conditional') : null)));
    }
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (typeof value === 'number') return /Ms$/.test(key) ? fmtMs(value) : fmtNum(value);
    if (typeof value === 'object') return h('code', null, JSON.stringify(value));
    return String(value);
  }

  function configLabel(key) {
    const spaced = key.replace(/Ms$/, '').replace(/([A-Z])/g, ' $1').toLowerCase();
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  function sparkline(times) {
    const W = 320;
    const H = 60;
    const max = Math.max(...times, 0.001);
    const bw = W / Math.max(times.length, 1);
    const chart = svg('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Last ' + times.length + ' execution times' });
    times.forEach((t, i) => {
      const bh = Math.max(1, (H - 2) * (t / max));
      chart.appendChild(svg('rect', { class: 'spark-bar', x: i * bw + 1, y: H - bh, width: Math.max(bw - 2, 1), height: bh }, svg('title', null, fmtMs(t))));
    });
    return chart;
  }

  function renderUnit(view, u) {
    view.root.setAttribute('data-status', u.status);
    document.title = String(u.id) + ' \u2014 synchronik';
    const isProcess = u.kind === 'process';
    const times = Array.isArray(u.executionTimesMs) ? u.executionTimesMs.filter((t) => typeof t === 'number') : [];
    const config = u.config && typeof u.config === 'object' ? u.config : {};
    view.head(
      h(
        'div',
        { class: 'detail-head', 'data-unit-id': u.id, 'data-status': u.status },
        h('span', { class: 'kind' }, u.kind),
        badge(u.status),
        u.enabled === false ? tag('disabled', 'tag-off') : null,
        unitActions(u.id, u.status, u.enabled, false)
      )
    );
    view.show(
      h(
        'div',
        { class: 'grid' },
        card(
          'Summary',
          dl([
            ['Kind', u.kind],
            ['Status', badge(u.status)],
            ['Enabled', u.enabled === false ? 'no' : 'yes'],
            ['Process', u.process !== null && u.process !== undefined ? h('a', { href: '#/processes/' + enc(u.process) }, String(u.process)) : null],
            ['Pool worker', u.poolWorker ? 'yes' : 'no'],
            ['Running for', typeof u.runningSinceMs === 'number' ? since(u.runningSinceMs) : null],
            ['Next fire', typeof u.nextFireMs === 'number' ? rel(u.nextFireMs) : null],
          ])
        ),
        card('Configuration', dl(Object.keys(config).map((k) => [configLabel(k), configValue(k, config[k])]))),
        card(
          'Meta',
          dl([
            ['Runs', fmtNum(u.runCount)],
            ['Last duration', u.runCount ? fmtMs(u.lastDurationMs) : null],
            ['Average', u.runCount ? fmtMs(u.averageMs) : null],
            ['Fastest', times.length ? fmtMs(Math.min(...times)) : null],
            ['Slowest', times.length ? fmtMs(Math.max(...times)) : null],
          ]),
          times.length ? h('figure', { class: 'spark-wrap' }, sparkline(times), h('figcaption', null, 'last ' + times.length + ' execution times, oldest first')) : null
        )
      ),
      card(
        'Last error',
        u.lastError
          ? [h('p', { class: 'muted' }, rel(u.lastError.atMs)), h('pre', { class: 'err-block' }, String(u.lastError.message))]
          : h('p', { class: 'muted' }, 'No error.')
      ),
      isProcess
        ? card(
            'Workers',
            Array.isArray(u.workers) && u.workers.length
              ? h('ol', { class: 'plain' }, u.workers.map((w) => h('li', { 'data-unit-id': w }, unitLink(w))))
              : h('p', { class: 'muted' }, 'No workers.'),
            h('p', null, h('a', { href: '#/processes/' + enc(u.id) }, 'Show the process \u2192'))
          )
        : null,
      card('History', historyTable(Array.isArray(u.history) ? u.history : [], u.nowMs, false), h('p', null, h('a', { href: '#/history' + query({ unit: u.id }) }, 'All history of this unit \u2192')))
    );
  }

  // ---- processes

  function processesView() {
    const view = makeView('processes', 'Processes', {
      load: () => api('api/processes'),
      render: (d) => {
        const rows = (d.items || []).map((p) =>
          h(
            'tr',
            { 'data-unit-id': p.id, 'data-status': p.status, class: p.enabled === false ? 'off' : null },
            h('td', null, h('a', { href: '#/processes/' + enc(p.id), class: 'id', 'data-focus': 'proc:' + p.id }, String(p.id)), p.enabled === false ? tag('disabled', 'tag-off') : null),
            h('td', null, badge(p.status)),
            h('td', null, p.graph ? 'dependency graph' : String(p.runMode)),
            h('td', { class: 'num' }, fmtNum(p.workers)),
            h('td', null, unitActions(p.id, p.status, p.enabled, true))
          )
        );
        view.show(table(null, ['Process', 'Status', 'Runs as', ['Workers', 'num'], 'Actions'], rows, 'No processes.'));
      },
    });
    return view;
  }

  const RUN_MODE_TEXT = {
    sequential: 'One after another, in order; a failure stops the run.',
    parallel: 'All at once; the run completes when all have settled.',
    batched: 'In groups of the batch size, in order, each group after the previous one settled.',
    isolated: 'One after another, with the isolation delay after every worker.',
  };

  function processView(id) {
    const view = makeView('process', String(id), {
      load: () => api('api/processes/' + enc(id)),
      render: (p) => renderProcess(view, p),
    });
    view.root.querySelector('h1').classList.add('id-title');
    view.root.setAttribute('data-unit-id', id);
    return view;
  }

  function renderProcess(view, p) {
    document.title = String(p.id) + ' \u2014 synchronik';
    view.root.setAttribute('data-status', p.status);
    const workers = Array.isArray(p.workers) ? p.workers : [];
    const config = p.config || {};
    view.head(
      h(
        'div',
        { class: 'detail-head', 'data-unit-id': p.id, 'data-status': p.status },
        h('span', { class: 'kind' }, 'process'),
        badge(p.status),
        p.enabled === false ? tag('disabled', 'tag-off') : null,
        unitActions(p.id, p.status, p.enabled, false),
        h('a', { href: unitHref(p.id), class: 'side-link' }, 'Unit details \u2192')
      )
    );
    view.show(
      card(
        p.graph ? 'Dependency graph' : 'Run mode: ' + p.runMode,
        p.graph ? graph(workers) : runModeView(p.runMode, config, workers),
        p.graph ? graphLegend() : null
      ),
      card('Configuration', dl(Object.keys(config).map((k) => [configLabel(k), configValue(k, config[k])])))
    );
  }

  function workerChip(w) {
    return h(
      'a',
      { class: 'chip s-' + safeStatus(w.status) + (w.enabled === false ? ' off' : ''), href: unitHref(w.id), 'data-node-id': w.id, 'data-status': w.status, 'data-focus': 'node:' + w.id },
      h('span', { class: 'chip-id' }, String(w.id)),
      h('span', { class: 'chip-status' }, String(w.status) + (w.enabled === false ? ', disabled' : ''))
    );
  }

  function safeStatus(s) {
    return STATUSES.includes(s) ? s : 'unknown';
  }

  function runModeView(mode, config, workers) {
    const intro = h('p', { class: 'muted' }, RUN_MODE_TEXT[mode] || '');
    if (!workers.length) return [intro, h('p', { class: 'muted' }, 'No workers.')];
    let groups;
    if (mode === 'parallel') groups = [workers];
    else if (mode === 'batched') {
      const size = Math.max(1, Number(config.batchSize) || 1);
      groups = [];
      for (let i = 0; i < workers.length; i += size) groups.push(workers.slice(i, i + size));
    } else groups = workers.map((w) => [w]);
    const sep = mode === 'isolated' ? 'then wait ' + fmtMs(config.isolationDelayMs) : 'then';
    const flow = h('ol', { class: 'flow flow-' + (/^[a-z]+$/.test(mode) ? mode : 'other') });
    groups.forEach((g, i) => {
      flow.appendChild(h('li', { class: 'flow-group' }, g.map(workerChip)));
      if (i < groups.length - 1) flow.appendChild(h('li', { class: 'flow-sep', 'aria-hidden': 'true' }, '\u2193 ' + sep));
    });
    return [intro, flow];
  }

  function graphLegend() {
    return h(
      'div',
      { class: 'legend' },
      STATUSES.map((s) => h('span', { class: 'key key-node s-' + s }, s)),
      h('span', { class: 'key key-edge' }, 'depends on'),
      h('span', { class: 'key key-edge-cond' }, 'conditional')
    );
  }

  // Layered layout (as Sugiyama): a worker's column is its dependency
  // depth; an edge that skips columns passes through a placeholder in each
  // column between, so it runs between the boxes rather than through them;
  // within a column, boxes are ordered by where their predecessors sit.
  function layout(workers) {
    const nodes = new Map();
    for (const w of workers) nodes.set(w.id, { id: w.id, status: w.status, enabled: w.enabled, deps: Array.isArray(w.dependsOn) ? w.dependsOn : [], ghost: false });
    for (const w of workers) {
      for (const d of nodes.get(w.id).deps) {
        if (!nodes.has(d.id)) nodes.set(d.id, { id: d.id, status: null, enabled: true, deps: [], ghost: true });
      }
    }
    const depth = new Map();
    const visiting = new Set();
    const depthOf = (id) => {
      if (depth.has(id)) return depth.get(id);
      if (visiting.has(id)) return 0; // a cycle (the engine refuses them): draw anyway
      visiting.add(id);
      let d = 0;
      for (const dep of nodes.get(id).deps) d = Math.max(d, depthOf(dep.id) + 1);
      visiting.delete(id);
      depth.set(id, d);
      return d;
    };
    const layers = [];
    const place = (item, d) => (layers[d] = layers[d] || []).push(item);
    const items = new Map();
    for (const n of nodes.values()) {
      const item = { key: 'n' + items.size, node: n, preds: [] };
      items.set(n.id, item);
      place(item, depthOf(n.id));
    }
    // Every edge becomes a chain of items: source, placeholders, target.
    const edges = [];
    let dummies = 0;
    for (const n of nodes.values()) {
      const target = items.get(n.id);
      for (const dep of n.deps) {
        const chain = [items.get(dep.id)];
        for (let d = depth.get(dep.id) + 1; d < depth.get(n.id); d++) {
          const dummy = { key: 'd' + dummies++, node: null, preds: [chain[chain.length - 1]] };
          place(dummy, d);
          chain.push(dummy);
        }
        target.preds.push(chain[chain.length - 1]);
        chain.push(target);
        edges.push({ from: dep.id, to: n.id, conditional: !!dep.conditional, chain });
      }
    }
    for (let i = 0; i < layers.length; i++) layers[i] = layers[i] || [];
    const pos = new Map();
    layers.forEach((layer) => layer.forEach((item, i) => pos.set(item, i)));
    for (let pass = 0; pass < 3; pass++) {
      for (let d = 1; d < layers.length; d++) {
        const weight = new Map();
        layers[d].forEach((item, i) => {
          const ps = item.preds.map((p) => pos.get(p));
          weight.set(item, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : i);
        });
        layers[d] = layers[d]
          .map((item, i) => [item, i])
          .sort((a, b) => weight.get(a[0]) - weight.get(b[0]) || a[1] - b[1])
          .map((x) => x[0]);
        layers[d].forEach((item, i) => pos.set(item, i));
      }
    }
    return { layers, edges };
  }

  function clip(text, max) {
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }

  function graph(workers) {
    if (!workers.length) return h('p', { class: 'muted' }, 'No workers.');
    const { layers, edges } = layout(workers);
    const NW = 176;
    const NH = 44;
    const DH = 12; // a placeholder's height
    const GX = 72;
    const GY = 18;
    const PAD = 16;
    const heightOf = (layer) => layer.reduce((sum, item) => sum + (item.node ? NH : DH), 0) + Math.max(0, layer.length - 1) * GY;
    const tallest = Math.max(...layers.map(heightOf));
    const W = PAD * 2 + layers.length * NW + (layers.length - 1) * GX;
    const H = PAD * 2 + tallest;
    const at = new Map();
    layers.forEach((layer, d) => {
      let y = PAD + (tallest - heightOf(layer)) / 2;
      for (const item of layer) {
        const hgt = item.node ? NH : DH;
        at.set(item, { x: PAD + d * (NW + GX), y, mid: y + hgt / 2 });
        y += hgt + GY;
      }
    });
    const chart = svg(
      'svg',
      { class: 'graph', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'group', 'aria-label': 'Dependency graph of ' + workers.length + ' workers' },
      svg('defs', null, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { class: 'arrow', d: 'M0 0 L10 5 L0 10 z' })))
    );
    const curve = (x1, y1, x2, y2) => {
      const dx = Math.max(24, (x2 - x1) / 2);
      return ' C' + (x1 + dx) + ' ' + y1 + ' ' + (x2 - dx) + ' ' + y2 + ' ' + x2 + ' ' + y2;
    };
    const lines = svg('g', { class: 'edges' });
    for (const e of edges) {
      const first = at.get(e.chain[0]);
      let x = first.x + NW;
      let y = first.mid;
      let d = 'M' + x + ' ' + y;
      for (const item of e.chain.slice(1)) {
        const p = at.get(item);
        d += curve(x, y, p.x, p.mid);
        if (item.node) break;
        d += ' L' + (p.x + NW) + ' ' + p.mid; // straight through the placeholder
        x = p.x + NW;
        y = p.mid;
      }
      lines.appendChild(
        svg(
          'path',
          { class: 'edge' + (e.conditional ? ' conditional' : ''), d, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to },
          svg('title', null, e.to + ' depends on ' + e.from + (e.conditional ? ' (conditional)' : ''))
        )
      );
    }
    chart.appendChild(lines);
    for (const layer of layers) {
      for (const item of layer) {
        const n = item.node;
        if (!n) continue;
        const p = at.get(item);
        const attrs = { class: 'node s-' + (n.ghost ? 'ghost' : safeStatus(n.status)) + (n.enabled === false ? ' off' : ''), transform: 'translate(' + p.x + ' ' + p.y + ')' };
        if (n.ghost) attrs['data-ghost-id'] = n.id;
        else {
          attrs['data-node-id'] = n.id;
          attrs['data-status'] = n.status;
        }
        const label = n.ghost ? 'not in this process' : String(n.status) + (n.enabled === false ? ', disabled' : '');
        chart.appendChild(
          svg(
            'g',
            attrs,
            svg(
              'a',
              { href: unitHref(n.id), 'data-focus': 'node:' + n.id, 'aria-label': n.id + ': ' + label },
              svg('title', null, n.id + ' \u2014 ' + label),
              svg('rect', { class: 'node-box', width: NW, height: NH, rx: 6 }),
              svg('rect', { class: 'node-bar', width: 5, height: NH, rx: 2 }),
              svg('text', { class: 'node-id', x: 14, y: 19 }, clip(String(n.id), 21)),
              svg('text', { class: 'node-status', x: 14, y: 35 }, label)
            )
          )
        );
      }
    }
    return h('div', { class: 'graph-wrap' }, chart);
  }

  // ---- pools

  function poolsView() {
    const view = makeView('pools', 'Pools', {
      load: () => api('api/pools'),
      render: (d) => {
        const pools = d.items || [];
        view.show(pools.length ? pools.map(poolCard) : h('p', { class: 'muted' }, 'No pools.'));
      },
    });
    return view;
  }

  function taskName(t) {
    return t.name === null || t.name === undefined ? h('span', { class: 'muted' }, 'unnamed') : h('span', { class: 'id' }, String(t.name));
  }

  function taskWhat(t) {
    return 'task ' + t.id + (t.name !== null && t.name !== undefined ? ' \u201c' + t.name + '\u201d' : '');
  }

  function poolCard(p) {
    const running = (p.running || []).map((t) =>
      h(
        'tr',
        { 'data-task-id': t.id, 'data-status': t.status },
        h('td', { class: 'num' }, String(t.id)),
        h('td', null, taskName(t)),
        h('td', null, t.worker !== null && t.worker !== undefined ? unitLink(t.worker) : '—'),
        h('td', { class: 'num' }, fmtNum(t.priority)),
        h('td', { class: 'nowrap' }, typeof t.startedMs === 'number' ? since(t.startedMs) : '—'),
        h('td', null, t.durable ? 'yes' : 'no')
      )
    );
    const queue = (p.queue || []).map((t, i) =>
      h(
        'tr',
        { 'data-task-id': t.id, 'data-status': t.status },
        h('td', { class: 'num' }, String(i + 1)),
        h('td', { class: 'num' }, String(t.id)),
        h('td', null, taskName(t), t.status !== 'idle' ? [' ', badge(t.status)] : null),
        h('td', { class: 'num' }, fmtNum(t.priority)),
        h('td', null, t.durable ? 'yes' : 'no'),
        h('td', null, actionButton('cancel', 'api/tasks/' + enc(t.id) + '/cancel', taskWhat(t), true))
      )
    );
    const done = (p.done || [])
      .slice()
      .reverse()
      .map((t) =>
        h(
          'tr',
          { 'data-task-id': t.id, 'data-status': t.status },
          h('td', { class: 'num' }, String(t.id)),
          h('td', null, taskName(t)),
          h('td', null, badge(t.status)),
          h('td', { class: 'num' }, fmtMs(t.durationMs)),
          h('td', { class: 'nowrap' }, rel(t.atMs)),
          h('td', { class: 'err-cell' }, t.error !== null && t.error !== undefined ? h('span', { class: 'err-text', title: String(t.error) }, String(t.error)) : '—'),
          h('td', null, t.retryable ? actionButton('retry', 'api/tasks/' + enc(t.id) + '/retry', taskWhat(t), true) : null)
        )
      );
    const queued = typeof p.queued === 'number' ? p.queued : queue.length;
    return h(
      'section',
      { class: 'card pool', 'data-pool': p.name },
      h('h2', null, h('span', { class: 'id' }, String(p.name))),
      h(
        'div',
        { class: 'pool-stats' },
        h('label', null, 'busy ', h('strong', null, fmtNum(p.busy) + ' / ' + fmtNum(p.size)), ' ', h('meter', { min: 0, max: Math.max(1, p.size || 0), value: p.busy || 0 }, fmtNum(p.busy))),
        h('span', null, 'queued ', h('strong', null, fmtNum(queued))),
        p.scheduled > 0 ? h('span', { title: 'added with runAt or delayMs, not due yet' }, 'scheduled ', h('strong', null, fmtNum(p.scheduled))) : null,
        h('span', null, 'completed ', h('strong', null, fmtNum(p.completed))),
        h('span', null, 'failed ', h('strong', null, fmtNum(p.failed))),
        h('span', null, 'cancelled ', h('strong', null, fmtNum(p.cancelled)))
      ),
      table('Running', [['Task', 'num'], 'Name', 'Worker', ['Priority', 'num'], 'Running for', 'Durable'], running, 'Nothing running.'),
      table(
        'Queue, in dispatch order' + (queued > queue.length ? ' (first ' + queue.length + ' of ' + fmtNum(queued) + ')' : ''),
        [['#', 'num'], ['Task', 'num'], 'Name', ['Priority', 'num'], 'Durable', ''],
        queue,
        'Nothing queued.'
      ),
      table('Done, newest first', [['Task', 'num'], 'Name', 'Outcome', ['Took', 'num'], 'When', 'Error', ''], done, 'Nothing done yet.')
    );
  }

  // ---- schedules

  function schedulesView() {
    const view = makeView('schedules', 'Schedules', {
      load: () => api('api/schedules'),
      render: (d) => {
        const rows = (d.items || []).map((s) =>
          h('tr', { 'data-unit-id': s.unit }, h('td', null, unitLink(s.unit)), h('td', { class: 'num' }, typeof s.everyMs === 'number' ? 'every ' + fmtMs(s.everyMs) : '—'), h('td', { class: 'nowrap' }, rel(s.nextMs)))
        );
        view.show(table(null, ['Unit', ['Interval', 'num'], 'Next fire'], rows, 'Nothing scheduled.'));
      },
    });
    return view;
  }

  // ---- history

  function historyTable(items, nowMs, withUnit) {
    const rows = items.map((r) => {
      const unit = r.unit !== undefined ? r.unit : r.unitId;
      const status = r.status !== undefined ? r.status : r.outcome;
      const duration = typeof r.durationMs === 'number' ? r.durationMs : typeof r.endedMs === 'number' && typeof r.startedMs === 'number' ? r.endedMs - r.startedMs : null;
      const task = [r.task, r.taskName, r.taskKey].find((t) => t !== null && t !== undefined);
      return h(
        'tr',
        { 'data-unit-id': unit, 'data-status': status },
        h('td', { class: 'nowrap' }, fmtWhen(r.startedMs, nowMs)),
        withUnit ? h('td', null, unit !== undefined && unit !== null ? unitLink(unit) : '—') : null,
        h('td', null, task !== undefined ? h('span', { class: 'id' }, String(task)) : '—', r.pool ? h('span', { class: 'sub' }, ' in ' + String(r.pool)) : null),
        h('td', { class: 'num' }, fmtNum(r.attempt)),
        h('td', null, badge(status)),
        h('td', { class: 'num' }, fmtMs(duration)),
        h('td', { class: 'err-cell' }, r.error !== null && r.error !== undefined ? h('span', { class: 'err-text', title: String(r.error) }, String(r.error)) : '—')
      );
    });
    const headers = ['Started', 'Unit', 'Task', ['Attempt', 'num'], 'Outcome', ['Took', 'num'], 'Error'];
    if (!withUnit) headers.splice(1, 1);
    return table(null, headers, rows, 'No history.');
  }

  function historyView(params) {
    const filter = { unit: params.get('unit') || '' };
    const list = pagedList('api/history', () => filter);
    const view = makeView('history', 'History', {
      list,
      load: list.load,
      render: (page) => {
        if (page && page.store === false) {
          view.show(h('p', { class: 'notice' }, 'No history: the manager has no store that keeps history (pass a store to createSynchronikManager).'));
          return;
        }
        view.show(historyTable(list.items, engineNow(), true), list.footer('rows'));
      },
    });
    const input = h('input', { id: 'f-unit', name: 'unit', type: 'search', placeholder: 'unit id (exact)', autocomplete: 'off', spellcheck: 'false' });
    input.value = filter.unit;
    const apply = () => {
      if (filter.unit === input.value) return;
      filter.unit = input.value;
      setRouteQuery('/history', filter);
      list.reset();
      view.root.setAttribute('aria-busy', 'true');
      requestRead();
    };
    input.addEventListener('input', debounce(apply, 300));
    const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter history' }, h('label', { for: 'f-unit' }, 'Unit'), input);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      apply();
    });
    view.root.appendChild(form);
    return view;
  }

  function notFoundView(hash) {
    const view = makeView('notfound', 'Not found', {
      load: () => Promise.resolve(null),
      render: () => view.show(h('p', null, 'No page at ', h('code', null, hash), '. ', h('a', { href: '#/' }, 'Go to the overview'), '.')),
    });
    return view;
  }

  // ---------------------------------------------------------------- routing

  const TITLES = { overview: 'Overview', units: 'Units', processes: 'Processes', pools: 'Pools', schedules: 'Schedules', history: 'History' };

  function route() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    let parts;
    try {
      parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
    } catch (_) {
      return { nav: null, view: notFoundView(raw) };
    }
    const [top, id] = parts;
    if (parts.length === 0) return { nav: 'overview', view: overviewView() };
    if (parts.length === 1) {
      if (top === 'units') return { nav: 'units', view: unitsView(params) };
      if (top === 'processes') return { nav: 'processes', view: processesView() };
      if (top === 'pools') return { nav: 'pools', view: poolsView() };
      if (top === 'schedules') return { nav: 'schedules', view: schedulesView() };
      if (top === 'history') return { nav: 'history', view: historyView(params) };
    }
    if (parts.length === 2 && top === 'units') return { nav: 'units', view: unitView(id) };
    if (parts.length === 2 && top === 'processes') return { nav: 'processes', view: processView(id) };
    return { nav: null, view: notFoundView(raw) };
  }

  const app = document.getElementById('app');

  function navigate() {
    const { nav, view } = route();
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.getAttribute('data-nav') === nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = (TITLES[view.name] || (nav ? TITLES[nav] : 'Not found')) + ' \u2014 synchronik';
    view.root.appendChild(view.body);
    clear(app).appendChild(view.root);
    current = view;
    if (authFailed) {
      view.fail(new ApiError(401, 'ERR_UNAUTHORIZED', 'no valid token'));
      return;
    }
    requestRead();
  }

  function start() {
    window.addEventListener('hashchange', () => {
      navigate();
      app.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    });
    navigate();
    if (!token) {
      onUnauthorized();
      return;
    }
    connect();
    setInterval(() => {
      tickTimes();
      updateBannerTime();
      quietCheck();
    }, 500);
  }

  window.addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    showMessage('error', 'Unexpected error: ' + describe(ev.reason), 'unexpected');
  });

  start();
})();
