/**
 * End-to-end tests of Nonstop in Debian's Chromium and Firefox ESR. Run through `scripts/test`, which
 * builds everything (scripts/setup) and starts Playwright inside a private network namespace
 * (scripts/netns-run). Each worker starts target/release/nonstop-server serving dist/.
 *
 * One worker: the machine has 2 cores, and a call with four participants already keeps them busy.
 */
import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions, firefoxLaunchOptions, FIREFOX_CHANNEL } from './support/browsers';

export default defineConfig({
  testDir: './tests',
  globalSetup: './support/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // No retries, on CI too: a test that fails once has shown a bug (in the app or in the test), and a retry
  // would turn it into a pass. Should someone retry by hand (`--retries=N`), a test that needed it still
  // fails the run.
  retries: 0,
  failOnFlakyTests: true,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'playwright-report/results.json' }]],
  use: {
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    // Traces cost CPU (screenshots of every page); CI keeps none anyway.
    trace: process.env.CI ? 'off' : 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: { browserName: 'chromium', launchOptions: chromiumLaunchOptions() },
    },
    {
      name: 'firefox',
      use: { browserName: 'firefox', channel: FIREFOX_CHANNEL, launchOptions: firefoxLaunchOptions() },
    },
  ],
});
