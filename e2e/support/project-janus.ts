/**
 * The project's own Janus (scripts/janus-start: server/janus/ configuration, fresh secrets) in a Topology's hub
 * namespace, next to the signaling server, as scripts/run starts it: the server gets the flags that make calls
 * relayable (`serverArgs`). Janus's WebSockets listen on the hub's loopback (the server proxies /janus); ICE uses
 * the bridge only (Janus gathers no candidates on loopback, and the participants reach the bridge).
 *
 *   const janus = await startProjectJanus(net, testInfo.outputPath('janus'));
 *   await net.startServer({ logFile, extraArgs: [...janus.serverArgs, '--relay-above', '2'] });
 *   await janus.stop();
 *
 * A pool of two: start the second with `{ instance: 1 }` (other ports and RTP ports) and give the server both
 * instances' `serverArgs`, first instance first.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './server';
import type { Topology } from './topology';

/** Ports of instance 0; instance N uses these plus N, and RTP ports 20000 + 1000 N and up. */
const WS_PORT = 8188;
const ADMIN_PORT = 7188;

export interface ProjectJanus {
  /** `--janus-ws`, `--janus-admin-ws`, `--janus-secrets-file` for the signaling server. */
  serverArgs: string[];
  stop(): Promise<void>;
  /** A crash: SIGKILL, no goodbye on any connection. */
  kill(): Promise<void>;
  /** Starts it again in the same folder (as a supervisor would: new secrets, no rooms); resolves once it listens. */
  restart(): Promise<void>;
}

/** One run of scripts/janus-start in `dir`, resolved once both WebSockets listen. */
async function launch(net: Topology, dir: string, instance: number) {
  const [wsPort, adminPort, rtp] = [WS_PORT + instance, ADMIN_PORT + instance, 20_000 + 1_000 * instance];
  const log = fs.openSync(path.join(dir, 'janus-start.log'), 'a');
  const child = spawn('nsenter', ['-t', String(net.hub.pid), '-n', 'bash', path.join(REPO_ROOT, 'scripts', 'janus-start'), dir], {
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      NONSTOP_JANUS_WS_PORT: String(wsPort),
      NONSTOP_JANUS_ADMIN_PORT: String(adminPort),
      NONSTOP_JANUS_RTP_PORTS: `${rtp}-${rtp + 200}`,
      NONSTOP_JANUS_ICE_INTERFACES: 'br0',
    },
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`janus-start exited with ${child.exitCode}; see ${dir}`);
    try {
      for (const port of [wsPort, adminPort]) net.run(net.hub, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`);
      return stop;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Janus did not listen within 15 s; see ${dir}/janus.log`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startProjectJanus(net: Topology, dir: string, { instance = 0 }: { instance?: number } = {}): Promise<ProjectJanus> {
  fs.mkdirSync(dir, { recursive: true });
  // Janus's WebSockets and the server's proxy to them meet on the hub's loopback.
  net.run(net.hub, 'ip', 'link', 'set', 'lo', 'up');
  let stop = await launch(net, dir, instance);
  return {
    serverArgs: [
      '--janus-ws',
      `ws://127.0.0.1:${WS_PORT + instance}`,
      '--janus-admin-ws',
      `ws://127.0.0.1:${ADMIN_PORT + instance}`,
      '--janus-secrets-file',
      path.join(dir, 'secrets'),
    ],
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    restart: async () => {
      await stop();
      stop = await launch(net, dir, instance);
    },
  };
}
