/**
 * Starts the real signaling server (`target/release/nonstop-server --static-dir dist`, both built by
 * scripts/setup) on 127.0.0.1 and a free port, and stops it again. Its output goes to a log file that is
 * attached to failing tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SERVER_BIN = process.env.NONSTOP_SERVER_BIN ?? path.join(REPO_ROOT, 'target', 'release', 'nonstop-server');
export const DIST_DIR = process.env.NONSTOP_DIST_DIR ?? path.join(REPO_ROOT, 'dist');

export interface ServerOptions {
  /** `--capacity N`: most participants per room. */
  capacity?: number;
  /** `--mesh-limit N`: without an SFU, most participants in one call. */
  meshLimit?: number;
  /** `--heartbeat-interval-ms` and `--heartbeat-timeout-ms`; clients derive their own silence timeout from the interval. */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** More flags, as they are (e.g. `--api-key-file FILE`). */
  extraArgs?: string[];
  /** Where the server's stdout/stderr go. */
  logFile: string;
}

export interface NonstopServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startServer(opts: ServerOptions): Promise<NonstopServer> {
  for (const [what, p] of [['server binary', SERVER_BIN], ['app build', path.join(DIST_DIR, 'index.html')]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}: run scripts/setup first`);
  }
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const args = ['--static-dir', DIST_DIR, '--addr', addr];
  if (opts.capacity !== undefined) args.push('--capacity', String(opts.capacity));
  if (opts.meshLimit !== undefined) args.push('--mesh-limit', String(opts.meshLimit));
  if (opts.heartbeat !== undefined) {
    args.push('--heartbeat-interval-ms', String(opts.heartbeat.intervalMs));
    args.push('--heartbeat-timeout-ms', String(opts.heartbeat.timeoutMs));
  }

  args.push(...(opts.extraArgs ?? []));

  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'a');
  fs.writeSync(log, `$ ${SERVER_BIN} ${args.join(' ')}\n`);
  const child = spawn(SERVER_BIN, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, NONSTOP_ADDR: addr, RUST_LOG: process.env.RUST_LOG ?? 'info' },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://${addr}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`nonstop-server exited with ${child.exitCode} at start-up; log:\n${fs.readFileSync(opts.logFile, 'utf8')}`);
    }
    try {
      const res = await fetch(`${url}/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(child, exited);
      throw new Error(`nonstop-server did not answer on ${url} within 15 s; log:\n${fs.readFileSync(opts.logFile, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, logFile: opts.logFile, stop: () => stop(child, exited) };
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
