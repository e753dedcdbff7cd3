/**
 * A small private network for tests that need real links between participants: a hub namespace with a
 * bridge (10.99.0.1/24, where the signaling server runs) and one namespace per participant
 * (10.99.0.11, .12, ...) joined to it by a veth pair, so rate limits (tbf/htb) and drops (nft) can be put
 * on one participant's uplink or on one pair's path. Everything is created inside the test's own private
 * namespace (scripts/netns-run); nothing here touches a real interface or address.
 *
 * Namespaces are held by a small process each (`unshare -n`, then `read` on a pipe from this process), not
 * by `ip netns add`: no /run/netns mounts, unique by construction, and gone as soon as the holder exits,
 * which it does when `destroy()` closes its pipe or when this Node process dies for any reason.
 * Commands run inside with `nsenter -t PID -n`; Chromium runs inside through a wrapper script given to
 * Playwright as `executablePath` (Playwright talks to Chromium over a pipe, which nsenter keeps).
 * Firefox (BiDi over a TCP port, which nsenter would hide) is launched by support/topology-firefox.ts.
 *
 *   const net = await createTopology({ participants: 3 });
 *   try {
 *     const server = await net.startServer({ logFile });
 *     const browser = await net.launchChromium(0);          // Chromium inside participant 0's namespace
 *     net.capUplink(0, 600);                                // tbf on participant 0's uplink, kbit/s
 *     net.capDownlink(1, 400);                              // tbf on what the hub sends participant 1
 *     net.capPath(0, 2, 150);                               // htb: only 0 <-> 2 traffic, both directions
 *     net.dropIncoming(1, 10);                              // nft: 10 % of packets into participant 1
 *     net.dropOutgoingUdp(1, 30);                           // nft: 30 % of the UDP packets 1 sends
 *     net.policeUplink(1, 400);                             // tbf, 10 ms queue: what 1 sends over 400 kbit/s is dropped
 *     net.clearShaping(0);
 *     const turnArgs = await net.startCoturn({ dir });      // coturn in the hub; flags for startServer
 *     net.blockBetween(0, 1, 'udp');                        // nft: no UDP between 0 and 1 (TURN still reachable)
 *     net.blockUdp(2);                                      // nft: no UDP out of 2, TCP only to the hub
 *     net.cutSignaling(1);                                  // nft: 1 loses the signaling server, not media
 *     net.silenceRtp(0);                                    // nft: no RTP/RTCP out of 0 (STUN, DTLS pass)
 *     net.unblock(1);
 *     net.setLinkUp(1, false);                              // 1's interface down (and back up with true)
 *   } finally {
 *     await net.destroy();                                  // also removes every namespace on failure
 *   }
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { CACHE_DIR, CHROMIUM_PATH, chromiumArgs } from './browsers';
import { ensureFakeVideo, type FakeVideoSpec } from './fake-video';
import { SERVER_BIN, DIST_DIR, REPO_ROOT, type NonstopServer } from './server';

/** The subnet; used only inside the namespaces this module creates. */
export const SUBNET_PREFIX = '10.99.0';
export const HUB_ADDR = `${SUBNET_PREFIX}.1`;
export const SERVER_PORT = 8080;
/** A second signaling node's port in the hub (several-nodes tests): pages served by it are a secure context too. */
export const SECOND_NODE_PORT = 8081;

/** Participant `i`'s address (0-based): 10.99.0.11, .12, ... */
export const participantAddr = (i: number) => `${SUBNET_PREFIX}.${11 + i}`;

export interface Netns {
  /** e.g. "hub", "p0". */
  readonly name: string;
  /** The holder process; `nsenter -t pid -n` enters the namespace. */
  readonly pid: number;
  /** Its address on the bridge. */
  readonly addr: string;
}

export interface TopologyOptions {
  participants: number;
}

export interface LaunchOptions {
  /** The fake camera; 640x360 at 15 fps by default (enough bit rate to exceed the caps tests use). */
  video?: FakeVideoSpec;
  /** Extra Chromium flags. */
  args?: string[];
}

export const CAPPED_TEST_VIDEO: FakeVideoSpec = { width: 640, height: 360, fps: 15, frames: 30 };

export class Topology {
  readonly hub: Netns;
  readonly participants: Netns[];
  private readonly holders: ChildProcess[];
  private readonly tmp: string;
  /** Browsers running in the namespaces, closed by destroy() (launchFirefox adds its own). */
  readonly browsers: Browser[] = [];
  /** Signaling servers started in the hub, by port. */
  private readonly servers = new Map<number, { child: ChildProcess; exited: Promise<unknown> }>();
  private coturn?: { child: ChildProcess; exited: Promise<unknown> };
  private destroyed = false;

  /** The hub's end of each participant's veth pair: what it sends to that participant. */
  private readonly hubSides: string[];

  constructor(hub: Netns, participants: Netns[], hubSides: string[], holders: ChildProcess[], tmp: string) {
    this.hub = hub;
    this.participants = participants;
    this.hubSides = hubSides;
    this.holders = holders;
    this.tmp = tmp;
  }

  /** Runs a command inside a namespace (synchronously); returns its stdout. Throws on failure. */
  run(ns: Netns, cmd: string, ...args: string[]): string {
    return execFileSync('nsenter', ['-t', String(ns.pid), '-n', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Participant `i`'s namespace. */
  p(i: number): Netns {
    const ns = this.participants[i];
    if (!ns) throw new Error(`no participant ${i} (have ${this.participants.length})`);
    return ns;
  }

  /** The app's origin, to open pages at (served by the hub). */
  get url(): string {
    return `http://${HUB_ADDR}:${SERVER_PORT}`;
  }

  /**
   * Starts target/release/nonstop-server in the hub on HUB_ADDR:`port` (SERVER_PORT unless a test runs a second
   * node on SECOND_NODE_PORT), serving NONSTOP_DIST_DIR (or dist/), and waits until it accepts connections.
   * Stopped by destroy(); `stop()` ends it gracefully (SIGTERM), `kill()` crashes it (SIGKILL).
   */
  async startServer({ logFile, extraArgs = [], port = SERVER_PORT }: { logFile: string; extraArgs?: string[]; port?: number }): Promise<NonstopServer & { kill(): Promise<void> }> {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const log = fs.openSync(logFile, 'a');
    const args = ['-t', String(this.hub.pid), '-n', SERVER_BIN, '--static-dir', DIST_DIR, '--addr', `${HUB_ADDR}:${port}`, ...extraArgs];
    fs.writeSync(log, `$ nsenter ${args.join(' ')}\n`);
    const child = spawn('nsenter', args, { cwd: REPO_ROOT, stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' } });
    fs.closeSync(log);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.servers.set(port, { child, exited });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nonstop-server exited with ${child.exitCode}; see ${logFile}`);
      try {
        this.run(this.hub, 'bash', '-c', `exec 3<>/dev/tcp/${HUB_ADDR}/${port}`);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`nonstop-server did not listen on ${HUB_ADDR}:${port} within 15 s; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url: `http://${HUB_ADDR}:${port}`, logFile, stop: () => this.stopServer(port), kill: () => this.stopServer(port, 'SIGKILL') };
  }

  private async stopServer(port: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const s = this.servers.get(port);
    this.servers.delete(port);
    if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
    s.child.kill(signal);
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000);
    await s.exited;
    clearTimeout(timer);
  }

  /** A Chromium running inside participant `i`'s namespace, allowed camera access on the hub's http origin. */
  async launchChromium(i: number, opts: LaunchOptions = {}): Promise<Browser> {
    const ns = this.p(i);
    const wrapper = path.join(this.tmp, `chromium-${ns.name}`);
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${ns.pid} -n ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
    const video = ensureFakeVideo(CACHE_DIR, opts.video ?? CAPPED_TEST_VIDEO);
    const args = chromiumArgs()
      .filter((a) => !a.startsWith('--use-file-for-fake-video-capture='))
      .concat([
        `--use-file-for-fake-video-capture=${video}`,
        `--unsafely-treat-insecure-origin-as-secure=${this.url},http://${HUB_ADDR}:${SECOND_NODE_PORT}`,
        ...(opts.args ?? []),
      ]);
    const browser = await chromium.launch({ executablePath: wrapper, args });
    this.browsers.push(browser);
    return browser;
  }

  /** Caps everything participant `i` sends (its uplink) to `kbit` kbit/s (tbf, 400 ms of queue). */
  capUplink(i: number, kbit: number): void {
    this.run(this.p(i), 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '32kbit', 'latency', '400ms');
  }

  /** Caps everything participant `i` receives (its downlink) to `kbit` kbit/s (tbf in the hub, 400 ms of queue). */
  capDownlink(i: number, kbit: number): void {
    this.p(i);
    this.run(this.hub, 'tc', 'qdisc', 'replace', 'dev', this.hubSides[i], 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '32kbit', 'latency', '400ms');
  }

  /** Caps only the traffic between participants `i` and `j`, each direction to `kbit` kbit/s (htb + u32 on both uplinks). */
  capPath(i: number, j: number, kbit: number): void {
    for (const [from, to] of [[i, j], [j, i]]) {
      const ns = this.p(from);
      const tc = (...a: string[]) => this.run(ns, 'tc', ...a);
      try {
        tc('qdisc', 'del', 'dev', 'eth0', 'root');
      } catch {
        // nothing there yet
      }
      tc('qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '1000');
      tc('class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1gbit');
      tc('class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`, 'burst', '4k', 'cburst', '4k');
      // A bounded queue (as tbf's latency gives): about 400 ms at the capped rate.
      tc('qdisc', 'add', 'dev', 'eth0', 'parent', '1:20', 'handle', '20:', 'bfifo', 'limit', String(Math.max(3000, Math.round((kbit * 1000 * 0.4) / 8))));
      tc('filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', `${participantAddr(to)}/32`, 'flowid', '1:20');
    }
  }

  /** Polices what participant `i` sends to `kbit` kbit/s: a tbf with almost no queue (10 ms), so what goes over the rate is dropped rather than delayed (a congestion controller reading delay sees little: mostly loss). */
  policeUplink(i: number, kbit: number): void {
    this.run(this.p(i), 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '16kbit', 'latency', '10ms');
  }

  /** Drops `percent` % of the packets arriving at participant `i` (nft, input hook: the sender sees real loss). */
  dropIncoming(i: number, percent: number): void {
    this.dropAtRandom(i, percent, 'input', ['iifname', 'eth0']);
  }

  /** Drops `percent` % of the UDP packets participant `i` sends (nft, output hook): a lossy uplink for media only, signaling (TCP) untouched. */
  dropOutgoingUdp(i: number, percent: number): void {
    this.dropAtRandom(i, percent, 'output', ['oifname', 'eth0', 'meta', 'l4proto', 'udp']);
  }

  /** One nft rule dropping `percent` % of what `match` matches on `hook` (replacing any earlier one; 0 removes it). */
  private dropAtRandom(i: number, percent: number, hook: 'input' | 'output', match: string[]): void {
    const ns = this.p(i);
    const nft = (...a: string[]) => this.run(ns, 'nft', ...a);
    try {
      nft('delete', 'table', 'inet', 'nonstop_loss');
    } catch {
      // none yet
    }
    if (percent <= 0) return;
    nft('add', 'table', 'inet', 'nonstop_loss');
    nft('add', 'chain', 'inet', 'nonstop_loss', hook, `{ type filter hook ${hook} priority 0; }`);
    nft('add', 'rule', 'inet', 'nonstop_loss', hook, ...match, 'numgen', 'random', 'mod', '100', '<', String(percent), 'drop');
  }

  /** Removes rate limits and drops from participant `i`. */
  clearShaping(i: number): void {
    const ns = this.p(i);
    try {
      this.run(ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root');
    } catch {
      // none
    }
    try {
      this.run(this.hub, 'tc', 'qdisc', 'del', 'dev', this.hubSides[i], 'root');
    } catch {
      // none
    }
    this.dropIncoming(i, 0);
  }

  /**
   * Starts coturn (scripts/coturn-test: TURN REST credentials with `secret`) in the hub on HUB_ADDR:3478, UDP and
   * TCP, and waits until it accepts TCP connections. Stopped by destroy(). Returns the server flags that hand
   * participants credentials for it (UDP and TCP URLs), for startServer's extraArgs.
   */
  async startCoturn({ dir, secret = crypto.randomBytes(12).toString('hex') }: { dir: string; secret?: string }): Promise<string[]> {
    fs.mkdirSync(dir, { recursive: true });
    const child = spawn('nsenter', ['-t', String(this.hub.pid), '-n', path.join(REPO_ROOT, 'scripts', 'coturn-test'), dir, HUB_ADDR, secret], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.coturn = { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`coturn exited with ${child.exitCode}; see ${dir}/turnserver.log`);
      try {
        this.run(this.hub, 'bash', '-c', `exec 3<>/dev/tcp/${HUB_ADDR}/3478`);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`coturn did not listen on ${HUB_ADDR}:3478 within 10 s; see ${dir}/turnserver.log`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return ['--turn-secret', secret, '--turn-urls', `turn:${HUB_ADDR}:3478?transport=udp,turn:${HUB_ADDR}:3478?transport=tcp`];
  }

  /**
   * Blocks direct traffic between participants `i` and `j` (nft input drops in both namespaces on packets
   * from the other's address): `udp` only, or everything (`all`). TURN on the hub stays reachable.
   */
  blockBetween(i: number, j: number, what: 'udp' | 'all' = 'udp'): void {
    for (const [at, from] of [[i, j], [j, i]]) {
      const nft = (...a: string[]) => this.run(this.p(at), 'nft', ...a);
      nft('add', 'table', 'inet', 'nonstop_block');
      nft('add', 'chain', 'inet', 'nonstop_block', 'input', '{ type filter hook input priority 0; }');
      nft('add', 'rule', 'inet', 'nonstop_block', 'input', 'ip', 'saddr', participantAddr(from), ...(what === 'udp' ? ['meta', 'l4proto', 'udp'] : []), 'drop');
    }
  }

  /**
   * A firewall that lets no UDP out of participant `i`'s namespace (rejected, as corporate firewalls do) and
   * TCP only to the hub (signaling, TURN over TCP): its media must go through TURN over TCP.
   */
  blockUdp(i: number): void {
    const nft = (...a: string[]) => this.run(this.p(i), 'nft', ...a);
    nft('add', 'table', 'inet', 'nonstop_noudp');
    nft('add', 'chain', 'inet', 'nonstop_noudp', 'output', '{ type filter hook output priority 0; }');
    nft('add', 'rule', 'inet', 'nonstop_noudp', 'output', 'oifname', 'eth0', 'meta', 'l4proto', 'udp', 'reject');
    nft('add', 'rule', 'inet', 'nonstop_noudp', 'output', 'oifname', 'eth0', 'ip', 'daddr', '!=', HUB_ADDR, 'reject');
  }

  /** Cuts participant `i` off the signaling server (TCP to SERVER_PORT reset); media between participants is untouched. */
  cutSignaling(i: number): void {
    const nft = (...a: string[]) => this.run(this.p(i), 'nft', ...a);
    nft('add', 'table', 'inet', 'nonstop_nosignal');
    nft('add', 'chain', 'inet', 'nonstop_nosignal', 'output', '{ type filter hook output priority 0; }');
    nft('add', 'rule', 'inet', 'nonstop_nosignal', 'output', 'ip', 'daddr', HUB_ADDR, 'tcp', 'dport', String(SERVER_PORT), 'reject', 'with', 'tcp', 'reset');
  }

  /**
   * Drops the RTP and RTCP participant `i` sends (from the UDP `ports` only, if given), nothing else: STUN
   * and DTLS still pass, so its connections stay connected while the other side receives nothing. (RTP's
   * first two bits are its version, 2; STUN's and DTLS's first bits are 00.) Called again, it replaces the rule.
   */
  silenceRtp(i: number, ports?: number[]): void {
    const nft = (...a: string[]) => this.run(this.p(i), 'nft', ...a);
    nft('add', 'table', 'inet', 'nonstop_nortp');
    nft('add', 'chain', 'inet', 'nonstop_nortp', 'output', '{ type filter hook output priority 0; }');
    // The new rule first, then the old one out: no packet slips through between the two.
    const old = JSON.parse(nft('-j', '-a', 'list', 'chain', 'inet', 'nonstop_nortp', 'output')).nftables.filter((x: any) => x.rule).map((x: any) => x.rule.handle);
    nft('add', 'rule', 'inet', 'nonstop_nortp', 'output', 'meta', 'l4proto', 'udp', ...(ports ? ['udp', 'sport', `{ ${ports.join(', ')} }`] : []), '@th,64,2', '2', 'drop');
    for (const handle of old) nft('delete', 'rule', 'inet', 'nonstop_nortp', 'output', 'handle', String(handle));
  }

  /** Removes what blockBetween/blockUdp/cutSignaling/silenceRtp put on participant `i`. */
  unblock(i: number): void {
    for (const table of ['nonstop_block', 'nonstop_noudp', 'nonstop_nosignal', 'nonstop_nortp']) {
      try {
        this.run(this.p(i), 'nft', 'delete', 'table', 'inet', table);
      } catch {
        // none
      }
    }
  }

  /** Takes participant `i`'s interface down (`up = false`) or brings it back up (restoring its default route). */
  setLinkUp(i: number, up: boolean): void {
    const ns = this.p(i);
    this.run(ns, 'ip', 'link', 'set', 'eth0', up ? 'up' : 'down');
    if (up) this.run(ns, 'ip', 'route', 'replace', 'default', 'via', HUB_ADDR);
  }

  /** Closes the browsers, stops the server and removes every namespace. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.browsers) await b.close().catch(() => {});
    for (const port of [...this.servers.keys()]) await this.stopServer(port).catch(() => {});
    const turn = this.coturn;
    this.coturn = undefined;
    if (turn && turn.child.exitCode === null && turn.child.signalCode === null) {
      turn.child.kill('SIGTERM');
      const timer = setTimeout(() => turn.child.kill('SIGKILL'), 5_000);
      await turn.exited;
      clearTimeout(timer);
    }
    for (const h of this.holders) {
      h.stdin?.end();
      if (h.exitCode === null && h.signalCode === null) h.kill('SIGTERM');
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Starts a namespace holder and waits until it is in its own network namespace. */
async function holdNamespace(name: string): Promise<{ ns: Omit<Netns, 'addr'>; child: ChildProcess }> {
  // `unshare` execs bash in the new namespace, so the child's pid is the holder. `read` returns when our end
  // of the pipe closes: on destroy(), or when this process dies.
  const child = spawn('unshare', ['--net', '--', 'bash', '-c', 'ip link set lo up; read -r _'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start unshare');
  const own = fs.readlinkSync('/proc/self/ns/net');
  const deadline = Date.now() + 5_000;
  for (;;) {
    let theirs = '';
    try {
      theirs = fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      // not there yet
    }
    if (theirs && theirs !== own) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`namespace holder for ${name} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ns: { name, pid }, child };
}

/**
 * Creates the hub (bridge + HUB_ADDR) and `participants` namespaces, each with `eth0` at participantAddr(i)
 * on the bridge. On any failure everything created so far is removed again.
 */
export async function createTopology({ participants }: TopologyOptions): Promise<Topology> {
  if (participants < 1 || participants > 200) throw new Error('participants: 1..200');
  const tag = crypto.randomBytes(3).toString('hex');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `nonstop-topo-${tag}-`));
  const holders: ChildProcess[] = [];
  const cleanup = () => {
    for (const h of holders) {
      h.stdin?.end();
      h.kill('SIGTERM');
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const hubHeld = await holdNamespace('hub');
    holders.push(hubHeld.child);
    const hub: Netns = { ...hubHeld.ns, addr: HUB_ADDR };
    const inHub = (...a: string[]) => execFileSync('nsenter', ['-t', String(hub.pid), '-n', ...a], { stdio: ['ignore', 'pipe', 'pipe'] });
    inHub('ip', 'link', 'add', 'br0', 'type', 'bridge');
    inHub('ip', 'addr', 'add', `${HUB_ADDR}/24`, 'dev', 'br0');
    inHub('ip', 'link', 'set', 'br0', 'up');
    const list: Netns[] = [];
    const hubSides: string[] = [];
    for (let i = 0; i < participants; i++) {
      const held = await holdNamespace(`p${i}`);
      holders.push(held.child);
      const ns: Netns = { ...held.ns, addr: participantAddr(i) };
      // Created in our (the test's private) namespace, then both ends moved out at once.
      const hubSide = `nh${tag}${i}`;
      const nsSide = `np${tag}${i}`;
      execFileSync('ip', ['link', 'add', hubSide, 'type', 'veth', 'peer', 'name', nsSide]);
      execFileSync('ip', ['link', 'set', hubSide, 'netns', String(hub.pid)]);
      execFileSync('ip', ['link', 'set', nsSide, 'netns', String(ns.pid)]);
      inHub('ip', 'link', 'set', hubSide, 'master', 'br0', 'up');
      const inNs = (...a: string[]) => execFileSync('nsenter', ['-t', String(ns.pid), '-n', ...a], { stdio: ['ignore', 'pipe', 'pipe'] });
      inNs('ip', 'link', 'set', nsSide, 'name', 'eth0');
      inNs('ip', 'addr', 'add', `${ns.addr}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      inNs('ip', 'route', 'add', 'default', 'via', HUB_ADDR);
      list.push(ns);
      hubSides.push(hubSide);
    }
    return new Topology(hub, list, hubSides, holders, tmp);
  } catch (e) {
    cleanup();
    throw e;
  }
}
