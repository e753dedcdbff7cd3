/**
 * Several signaling nodes (issue 11): a Redis of the test's own, on a Unix socket, and a TCP load balancer
 * in front of the nodes, as a deployment has one. The balancer sends each new connection to the node the
 * test prefers, and to another when that one does not answer (a crashed node), like a health-checking one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './server';

export class RedisServer {
  private constructor(
    private readonly child: ChildProcess,
    /** For `--redis-url`. */
    readonly url: string,
  ) {}

  /**
   * Starts `redis-server` with its log in `dir`, its socket in a fresh temporary folder (a socket's path
   * must stay under 108 bytes), no port and no persistence.
   */
  static async start(dir: string): Promise<RedisServer> {
    fs.mkdirSync(dir, { recursive: true });
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nonstop-redis-')), 'redis.sock');
    const log = fs.openSync(path.join(dir, 'redis.log'), 'a');
    const child = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(socket)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (see ${dir}/redis.log)`);
      if (Date.now() > deadline) throw new Error('redis-server made no socket in 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return new RedisServer(child, `redis+unix://${socket}`);
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    fs.rmSync(path.dirname(this.url.slice('redis+unix://'.length)), { recursive: true, force: true });
  }
}

export class LoadBalancer {
  private preferred: string;
  private readonly sockets = new Set<net.Socket>();
  /** Connections passed on, per node address. */
  readonly connections: Record<string, number> = {};

  private constructor(
    private readonly server: net.Server,
    readonly addr: string,
    private readonly nodes: string[],
  ) {
    this.preferred = nodes[0];
    for (const node of nodes) this.connections[node] = 0;
  }

  /** What browsers open (`participant(name, { server: balancer })`). */
  get url(): string {
    return `http://${this.addr}`;
  }

  readonly logFile = '';

  static async start(nodes: string[]): Promise<LoadBalancer> {
    const addr = `127.0.0.1:${await freePort()}`;
    const server = net.createServer();
    const balancer = new LoadBalancer(server, addr, nodes);
    server.on('connection', (client) => balancer.pass(client));
    const [host, port] = addr.split(':');
    await new Promise<void>((resolve) => server.listen(Number(port), host, resolve));
    return balancer;
  }

  /** New connections go to `node` while it answers. */
  prefer(node: string): void {
    this.preferred = node;
  }

  private pass(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = [this.preferred, ...this.nodes.filter((n) => n !== this.preferred)];
    const tryNode = (i: number) => {
      if (i >= order.length || client.destroyed) {
        client.destroy();
        return;
      }
      const [host, port] = order[i].split(':');
      const upstream = net.connect(Number(port), host);
      let connected = false;
      upstream.once('error', () => {
        upstream.destroy();
        // Refused: that node is down, the next one gets the client.
        if (!connected) tryNode(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        this.connections[order[i]]++;
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryNode(0);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
