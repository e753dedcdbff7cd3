/**
 * A Firefox inside a participant's namespace of a Topology (support/topology.ts), the counterpart of
 * `Topology.launchChromium`. Playwright reaches Firefox over a WebDriver BiDi TCP port on 127.0.0.1, which
 * `nsenter` would put out of reach; support/firefox-in-netns.js (the `executablePath`) carries it back out.
 *
 * What differs from a Chromium participant: Firefox's fake camera is its own generated picture (it cannot
 * play a y4m file), and the hub's http origin is made a secure context by a pref instead of a flag. The
 * namespace's default route (via the hub) is what Firefox needs to gather ICE candidates.
 */
import * as path from 'node:path';
import { firefox, type Browser } from '@playwright/test';
import { FIREFOX_CHANNEL, FIREFOX_PATH, firefoxPrefs } from './browsers';
import { HUB_ADDR, type Topology } from './topology';

const WRAPPER = path.join(__dirname, 'firefox-in-netns.js');

/**
 * Launches Firefox in participant `i`'s namespace; `net.destroy()` closes it. `fps`: its fake camera's frame rate
 * (it makes its own picture, at the size the app asks for; at the rate the app asks, 24, without this).
 */
export async function launchFirefox(net: Topology, i: number, { fps }: { fps?: number } = {}): Promise<Browser> {
  const browser = await firefox.launch({
    channel: FIREFOX_CHANNEL,
    executablePath: WRAPPER,
    // Not the project's launch options (Chromium's flags in the chromium project).
    args: [],
    env: { ...process.env, NONSTOP_NETNS_PID: String(net.p(i).pid), NONSTOP_FIREFOX: FIREFOX_PATH },
    firefoxUserPrefs: {
      ...firefoxPrefs(),
      // The app is served over plain http from the hub: without this, no getUserMedia.
      'dom.securecontext.allowlist': HUB_ADDR,
      ...(fps ? { 'media.navigator.video.default_fps': fps } : {}),
    },
  });
  net.browsers.push(browser);
  return browser;
}
