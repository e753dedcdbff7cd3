#!/usr/bin/env node
/**
 * Playwright's `executablePath` for a Firefox inside another network namespace (support/topology-firefox.ts).
 *
 * Playwright drives Debian's Firefox over WebDriver BiDi: Firefox listens on 127.0.0.1:PORT and says so on
 * stderr ("WebDriver BiDi listening on ws://127.0.0.1:PORT"), and Playwright connects there. Inside the
 * participant's namespace that address is out of Playwright's reach, so this script starts Firefox there
 * (`nsenter -t PID -n`), listens on the same 127.0.0.1:PORT in its own namespace before passing that line
 * on, and carries each connection over a small pipe process inside the namespace (`nsenter ... node -e
 * PIPE PORT`). The same port, not a new one: Firefox refuses a WebSocket whose Host header names another.
 *
 * Environment: NONSTOP_NETNS_PID (a process in the namespace), NONSTOP_FIREFOX (the Firefox binary).
 * Arguments: Firefox's, as Playwright gives them.
 */
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');

const pid = process.env.NONSTOP_NETNS_PID;
const firefox = process.env.NONSTOP_FIREFOX;
if (!pid || !firefox) {
  console.error('firefox-in-netns: NONSTOP_NETNS_PID and NONSTOP_FIREFOX must be set');
  process.exit(2);
}
const inNamespace = (cmd, args, stdio) => spawn('nsenter', ['-t', pid, '-n', cmd, ...args], { stdio });

// Runs inside the namespace: one TCP connection to Firefox's port, spliced onto stdin/stdout.
const PIPE = `
const s = require('node:net').connect(Number(process.argv[1]), '127.0.0.1');
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on('close', () => process.exit(0));
s.on('error', () => process.exit(1));
`;

/** Listens on 127.0.0.1:`port` here and splices each connection onto Firefox's 127.0.0.1:`port` there. */
function forward(port, listening) {
  const proxy = net.createServer((socket) => {
    const pipe = inNamespace(process.execPath, ['-e', PIPE, String(port)], ['pipe', 'pipe', 'inherit']);
    socket.pipe(pipe.stdin);
    pipe.stdout.pipe(socket);
    socket.on('error', () => pipe.kill());
    socket.on('close', () => pipe.kill());
    pipe.on('exit', () => socket.destroy());
  });
  proxy.on('error', (e) => {
    console.error(`firefox-in-netns: cannot listen on 127.0.0.1:${port}: ${e.message}`);
    browser.kill('SIGKILL');
  });
  proxy.listen(port, '127.0.0.1', listening);
  proxy.unref();
}

const browser = inNamespace(firefox, process.argv.slice(2), ['ignore', 'inherit', 'pipe']);
let partial = '';
browser.stderr.setEncoding('utf8');
browser.stderr.on('data', (chunk) => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const bidi = line.match(/WebDriver BiDi listening on ws:\/\/127\.0\.0\.1:(\d+)/);
    // Playwright connects as soon as it reads this line: pass it on once the port is open here.
    if (bidi) forward(Number(bidi[1]), () => process.stderr.write(line + '\n'));
    else process.stderr.write(line + '\n');
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => browser.kill(signal));
browser.on('exit', (code, signal) => {
  if (partial) process.stderr.write(partial + '\n');
  process.exit(code ?? (signal ? 1 : 0));
});
