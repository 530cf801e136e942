'use strict';

// Helpers of the specs that talk to a dashboard server over real HTTP (not
// a spec itself).

const http = require('node:http');

/**
 * One HTTP request to `server` (what serveDashboard resolved to) on
 * 127.0.0.1, on a connection of its own (closed after the answer, so that
 * closing the server is never held up by an idle connection).
 * `auth`: true sends `Authorization: Bearer <server.token>`, a string
 * sends that token, false none. Resolves with `{ status, headers, body,
 * json() }`.
 * @param {{ port: number, token: string }} server
 * @param {string} path the full path, with the base path
 * @param {{ method?: string, headers?: Record<string, string>, auth?: boolean | string }} [options]
 */
function request(server, path, { method = 'GET', headers = {}, auth = true } = {}) {
  const sent = { ...headers };
  if (auth !== false) sent.authorization = `Bearer ${auth === true ? server.token : auth}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method, headers: sent, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The first Server-Sent Event of `path`: `{ status, headers, event, data }`
 * (data parsed as JSON); the stream is closed then.
 * @param {{ port: number, token: string }} server
 * @param {string} path
 */
function firstEvent(server, path) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: server.port, path, headers: { authorization: `Bearer ${server.token}` }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
          const end = text.indexOf('\n\n');
          if (end < 0) return;
          const fields = {};
          for (const line of text.slice(0, end).split('\n')) {
            const m = /^(\w+): ?(.*)$/.exec(line);
            if (m) fields[m[1]] = m[2];
          }
          req.destroy();
          resolve({ status: res.statusCode, headers: res.headers, event: fields.event, data: JSON.parse(fields.data) });
        });
        res.on('error', () => {});
      },
    );
    req.on('error', reject);
  });
}

/** Whether a TCP connection to `port` on 127.0.0.1 is refused. */
function refused(port) {
  return new Promise((resolve) => {
    const socket = require('node:net').connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

module.exports = { request, firstEvent, refused };
