/**
 * A signaling server that a test can stop (SIGTERM, a graceful restart) or kill (SIGKILL, like a crash) and
 * start again on the same address, with a fixed session secret so participants resume their sessions into
 * the new process (issues 4 and 10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { DIST_DIR, freePort, REPO_ROOT, SERVER_BIN } from './server';

export class RestartableServer {
  private child: ChildProcess | null = null;
  /** How the last stopped process ended: its exit code, or the signal that ended it. */
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private constructor(
    readonly addr: string,
    readonly logFile: string,
    private readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `http://${this.addr}`;
  }

  static async start(logFile: string, extraArgs: string[] = []): Promise<RestartableServer> {
    const server = new RestartableServer(`127.0.0.1:${await freePort()}`, logFile, extraArgs);
    await server.up();
    return server;
  }

  /** Starts the process and waits until it answers. */
  async up(): Promise<void> {
    const args = ['--static-dir', DIST_DIR, '--addr', this.addr, ...this.extraArgs];
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `$ ${SERVER_BIN} ${args.join(' ')}\n`);
    this.child = spawn(SERVER_BIN, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NONSTOP_SESSION_SECRET: 'e2e-session-secret', RUST_LOG: process.env.RUST_LOG ?? 'info' },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      if (this.child.exitCode !== null) throw new Error(`nonstop-server exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`nonstop-server did not answer on ${this.url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Stops the process and waits until it has exited. SIGTERM (the default, as for a NonstopServer) is a
   * graceful shutdown: clients are told `going_away` and the server exits by itself within its
   * `--shutdown-grace-ms` (SIGKILL after 15 s, as a last resort). SIGKILL is a crash: sockets just drop.
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, sig) => {
        this.lastExit = { code, signal: sig };
        resolve();
      }),
    );
    child.kill(signal);
    const last = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(last);
  }

  /** Kills the process without any goodbye (sockets just drop). */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }
}
