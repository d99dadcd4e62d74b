// wsx proxy hook for Node.js, loaded with --require through NODE_OPTIONS
// by `wsx exec --inject proxy`. Node.js before 24 sends fetch() straight
// to the host whatever HTTPS_PROXY says; this makes its global dispatcher
// open each connection with a CONNECT through wsx's proxy (WSX_PROXY), so
// the proxy can put the secrets into the requests. TLS is then verified
// as usual, with NODE_EXTRA_CA_CERTS. Nothing here may break the program:
// on any failure fetch() stays as it was.
'use strict';
(function () {
  const proxy = process.env.WSX_PROXY;
  const fetch0 = globalThis.fetch;
  if (!proxy || typeof fetch0 !== 'function') return;
  const key = Symbol.for('undici.globalDispatcher.1');
  const p = new URL(proxy);

  const connect = (opts, cb) => {
    try {
      const http = require('http');
      const tls = require('tls');
      const https = opts.protocol === 'https:';
      const host = String(opts.hostname).replace(/^\[|\]$/g, '');
      const port = opts.port || (https ? 443 : 80);
      const authority = (host.includes(':') ? '[' + host + ']' : host) + ':' + port;
      const req = http.request({ host: p.hostname, port: p.port, method: 'CONNECT', path: authority, headers: { host: authority } });
      req.once('connect', (res, sock) => {
        if (res.statusCode !== 200) {
          sock.destroy();
          cb(new Error('wsx proxy answered CONNECT with ' + res.statusCode));
          return;
        }
        if (!https) { cb(null, sock); return; }
        const ip = require('net').isIP(host) !== 0;
        const t = tls.connect({ socket: sock, host, servername: ip ? undefined : (opts.servername || host), ALPNProtocols: ['http/1.1'] });
        t.once('secureConnect', () => cb(null, t));
        t.once('error', (e) => cb(e));
      });
      req.once('error', (e) => cb(e));
      req.end();
    } catch (e) {
      cb(e);
    }
  };

  // install replaces the default dispatcher (an undici Agent) by one of
  // its kind that connects through the proxy; false when there is none.
  const install = () => {
    const d = globalThis[key];
    if (!d || d.__wsxProxy) return !!d;
    const Agent = d.constructor;
    if (typeof Agent !== 'function') return false;
    const a = new Agent({ connect });
    a.__wsxProxy = true;
    globalThis[key] = a;
    return true;
  };
  const aborted = () => {
    const ac = new AbortController();
    ac.abort();
    return fetch0('http://127.0.0.1:9/', { signal: ac.signal }).catch(() => {});
  };

  try {
    if (!globalThis[key]) {
      // An aborted fetch makes the default dispatcher without connecting;
      // Node's own warning about fetch being experimental (18) is its.
      const warn = process.emitWarning;
      process.emitWarning = function (w, ...rest) {
        if (String(w && w.message || w).includes('Fetch API')) return;
        return warn.call(process, w, ...rest);
      };
      try { aborted(); } finally { process.emitWarning = warn; }
    }
    if (install()) return;
    // The dispatcher comes later in this Node.js: make it on first use.
    let ready = null;
    globalThis.fetch = function fetch(...args) {
      if (!ready) ready = aborted().then(install, install);
      return ready.then(() => fetch0.apply(this, args));
    };
  } catch (_) { /* fetch stays as it was */ }
})();
