/**
 * A Janus 1.1.2 (Debian's /usr/bin/janus) for tests, inside a Topology's hub namespace (support/topology.ts):
 * its own configuration folder with only the VideoRoom plugin and the WebSocket transport, token auth with a
 * secret made here, one room (string id, pin, `signed_tokens`, `require_pvtid`, VP8 + Opus). Janus gathers no
 * ICE candidates on loopback: it uses the hub's bridge address, which the participants reach.
 *
 *   const janus = await startJanus(net, testInfo.outputPath('janus'));
 *   janus.grant(participantId)   // what a browser needs: url, room, pin, token, roomToken
 *   await janus.stop();
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HUB_ADDR, type Topology } from './topology';

export const JANUS_PORT = 8188;
const LIB = '/usr/lib/x86_64-linux-gnu/janus';

export interface JanusGrant {
  url: string;
  room: string;
  pin: string;
  /** Janus's core token: `exp,janus,janus.plugin.videoroom:HMAC`. */
  token: string;
  /** The room's token: `exp,janus.plugin.videoroom,room=<id>:HMAC`. */
  roomToken: string;
}

export interface TestJanus {
  grant(): JanusGrant;
  stop(): Promise<void>;
}

/** `exp,realm,descriptions:base64(HMAC-SHA1(secret, "exp,realm,descriptions"))`, valid for 5 minutes. */
function sign(secret: string, realm: string, descriptions: string): string {
  const payload = `${Math.floor(Date.now() / 1000) + 300},${realm},${descriptions}`;
  return `${payload}:${crypto.createHmac('sha1', secret).update(payload).digest('base64')}`;
}

export async function startJanus(net: Topology, dir: string): Promise<TestJanus> {
  const secret = crypto.randomBytes(16).toString('hex');
  const room = crypto.randomBytes(8).toString('hex');
  const pin = String(crypto.randomInt(1000, 9999));
  for (const sub of ['plugins', 'transports', 'none']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.symlinkSync(`${LIB}/plugins/libjanus_videoroom.so`, path.join(dir, 'plugins', 'libjanus_videoroom.so'));
  fs.symlinkSync(`${LIB}/transports/libjanus_websockets.so`, path.join(dir, 'transports', 'libjanus_websockets.so'));
  fs.writeFileSync(
    path.join(dir, 'janus.jcfg'),
    `general: { configs_folder = "${dir}", plugins_folder = "${dir}/plugins", transports_folder = "${dir}/transports",
  events_folder = "${dir}/none", loggers_folder = "${dir}/none", debug_level = 4,
  admin_secret = "${crypto.randomBytes(16).toString('hex')}", token_auth = true, token_auth_secret = "${secret}" }
media: { rtp_port_range = "20000-20200" }
nat: { ice_enforce_list = "br0" }
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.plugin.videoroom.jcfg'),
    `general: { admin_key = "${crypto.randomBytes(16).toString('hex')}", lock_rtp_forward = true, string_ids = true }
room-${room}: { description = "test", is_private = true, secret = "${crypto.randomBytes(16).toString('hex')}", pin = "${pin}",
  require_pvtid = true, publishers = 10, signed_tokens = true, videocodec = "vp8", audiocodec = "opus",
  audiolevel_event = true }
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.transport.websockets.jcfg'),
    `general: { ws = true, ws_port = ${JANUS_PORT}, ws_ip = "${HUB_ADDR}" }\nadmin: { admin_ws = false }\n`,
  );
  const log = fs.openSync(path.join(dir, 'janus.log'), 'a');
  const child = spawn('nsenter', ['-t', String(net.hub.pid), '-n', '/usr/bin/janus', '-C', path.join(dir, 'janus.jcfg'), '-F', dir], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`janus exited with ${child.exitCode}; see ${dir}/janus.log`);
    try {
      net.run(net.hub, 'bash', '-c', `exec 3<>/dev/tcp/${HUB_ADDR}/${JANUS_PORT}`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`janus did not listen within 15 s; see ${dir}/janus.log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    grant: () => ({
      url: `ws://${HUB_ADDR}:${JANUS_PORT}`,
      room,
      pin,
      token: sign(secret, 'janus', 'janus.plugin.videoroom'),
      roomToken: sign(secret, 'janus.plugin.videoroom', `room=${room}`),
    }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
