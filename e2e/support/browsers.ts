/**
 * How the suite launches Debian's browsers (never a Playwright-downloaded one). Shared by
 * playwright.config.ts, by tests that need a second kind of browser (Chromium <-> Firefox), and by the
 * benchmark. See shared/TOOLCHAIN.md for why each flag and pref is here.
 */
import * as path from 'node:path';
import type { LaunchOptions } from '@playwright/test';
import { ensureFakeVideo } from './fake-video';

export const CACHE_DIR = path.resolve(__dirname, '..', '.cache');

export const CHROMIUM_PATH = process.env.NONSTOP_CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.NONSTOP_FIREFOX ?? '/usr/bin/firefox-esr';

export interface ChromiumFlags {
  /** false: camera/microphone permission is left to the context (see the no-permission test). */
  fakeUi?: boolean;
  /**
   * Fake cameras. 1 (default): one camera playing the small y4m feed. More: Chromium's own generated
   * cameras (`device-count=N`), since a y4m file is always a single camera; the second of those is a depth
   * camera that sends nothing (see devices.spec.ts). Either way Chromium lists three microphones (a default
   * and two others).
   */
  cameras?: number;
}

export function chromiumArgs({ fakeUi = true, cameras = 1 }: ChromiumFlags = {}): string[] {
  return [
    ...(cameras === 1
      ? ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${ensureFakeVideo(CACHE_DIR)}`]
      : [`--use-fake-device-for-media-stream=device-count=${cameras}`]),
    ...(fakeUi ? ['--use-fake-ui-for-media-stream'] : []),
    // The tests run in a loopback-only network namespace: without this Chromium gathers no ICE candidates.
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    // Screen sharing without a picker: getDisplayMedia gets the whole (virtual) screen.
    '--auto-select-desktop-capture-source=Entire screen',
    // Several participants share one browser; none of them may be throttled as a background page.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    // Keep Chromium quiet: nothing may try to reach outside hosts.
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // A page without camera/microphone permission gets mDNS (.local) host candidates, which nothing resolves
    // in a loopback-only namespace; like Firefox's obfuscate_host_addresses=false below, show the address.
    // (Real networks have STUN server-reflexive candidates for this case.)
    '--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate',
  ];
}

export function chromiumLaunchOptions(opts: ChromiumFlags = {}): LaunchOptions {
  return { executablePath: CHROMIUM_PATH, args: chromiumArgs(opts) };
}

/** Firefox prefs; `permission: 'deny'` makes getUserMedia fail with NotAllowedError. */
export function firefoxPrefs({ permission = 'grant' }: { permission?: 'grant' | 'deny' } = {}) {
  return {
    'media.navigator.streams.fake': true,
    ...(permission === 'grant'
      ? { 'media.navigator.permission.disabled': true }
      : {
          'media.navigator.permission.disabled': false,
          'permissions.default.camera': 2,
          'permissions.default.microphone': 2,
        }),
    // Firefox gathers no candidates on 127.0.0.1 without this.
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    // No audio device here: a mock cubeb keeps AudioContext and audio playback running.
    'media.cubeb.force_mock_context': true,
    'media.autoplay.default': 0,
    'media.autoplay.block-webaudio': false,
    'network.manage-offline-status': false,
    // Several participants share one browser: don't slow down the pages that are not in front.
    'dom.min_background_timeout_value': 4,
    'dom.timeout.enable_budget_timer_throttling': false,
    // Quiet: no update checks or telemetry pings from the test browser.
    'app.update.enabled': false,
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.enabled': false,
  };
}

export function firefoxLaunchOptions(opts: { permission?: 'grant' | 'deny' } = {}): LaunchOptions {
  return { executablePath: FIREFOX_PATH, firefoxUserPrefs: firefoxPrefs(opts) };
}

/** The Firefox "channel" that makes Playwright drive Debian's Firefox over WebDriver BiDi. */
export const FIREFOX_CHANNEL = 'moz-firefox';
