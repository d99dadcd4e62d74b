// wsx access hook for Node.js, loaded with --require through NODE_OPTIONS
// by `wsx exec`. It reports, for each secret wsx injected, the file and
// line of the code that reads it from process.env: a name and a place,
// never a value. Nothing here may change what the program does: every
// failure is swallowed and the program runs as without the hook.
'use strict';
(function () {
  const fs = require('fs');
  const env = process.env;
  const fifo = env.WSX_ACCESS;
  const names = new Set((env.WSX_ACCESS_NAMES || '').split(',').filter(Boolean));
  if (!fifo || names.size === 0 || env.__wsxAccessHooked) return;
  const self = __filename;
  const cwd = process.cwd() + '/';
  let fd = -1;
  const sent = new Set();

  function send(line) {
    try {
      if (fd < 0) fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(fd, line);
    } catch (_) { /* the supervisor is gone or the pipe is full: drop */ }
  }

  function frames() {
    const prep = Error.prepareStackTrace, limit = Error.stackTraceLimit;
    Error.prepareStackTrace = (_, cs) => cs;
    Error.stackTraceLimit = 40;
    const o = {};
    Error.captureStackTrace(o, frames);
    const cs = o.stack;
    Error.prepareStackTrace = prep;
    Error.stackTraceLimit = limit;
    return Array.isArray(cs) ? cs : [];
  }

  function place() {
    let pkg = '';
    for (const c of frames()) {
      let f = c.getFileName();
      if (!f) continue;
      if (f.startsWith('node:child_process') || f.startsWith('node:internal/child_process')) return null;
      if (f.startsWith('node:') || f === self) continue;
      if (f.startsWith('file://')) { try { f = require('url').fileURLToPath(f); } catch (_) { continue; } }
      const i = f.lastIndexOf('/node_modules/');
      if (i >= 0) {
        if (!pkg) {
          const p = f.slice(i + 14).split('/');
          pkg = 'node_modules/' + (p[0].startsWith('@') && p.length > 1 ? p[0] + '/' + p[1] : p[0]);
        }
        continue;
      }
      if (f.startsWith(cwd)) f = f.slice(cwd.length);
      return [f, c.getLineNumber() || 0];
    }
    return pkg ? [pkg, 0] : null;
  }

  function report(name) {
    if (typeof name !== 'string' || !names.has(name)) return;
    const p = place();
    if (!p) return;
    const key = name + '\t' + p[1] + '\t' + p[0];
    if (sent.has(key)) return;
    sent.add(key);
    if (/[\t\n]/.test(p[0])) return;
    send('read\t' + key + '\n');
  }

  try {
    const watched = new Proxy(env, {
      get(t, k, r) { report(k); return Reflect.get(t, k); },
      getOwnPropertyDescriptor(t, k) { report(k); return Reflect.getOwnPropertyDescriptor(t, k); },
      // Writes go to process.env itself, as without the hook (its setter
      // turns values into strings).
      set(t, k, v) { t[k] = v; return true; },
      deleteProperty(t, k) { return delete t[k]; },
    });
    Object.defineProperty(process, 'env', { value: watched, writable: true, configurable: true, enumerable: true });
    send('hello\tnode\n');
  } catch (_) {
    send('fail\tnode\n');
  }
})();
