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
  // A shared 2-core CI machine can starve a browser for a moment; one retry, reported as "flaky".
  retries: process.env.CI ? 1 : 0,
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
