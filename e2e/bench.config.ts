/**
 * The join-latency benchmark (not a pass/fail test): run through scripts/bench, which prints the numbers.
 * Chromium only; one worker; nothing else should be running on the machine while it measures.
 */
import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './support/browsers';

export default defineConfig({
  testDir: './bench',
  globalSetup: './support/global-setup.ts',
  workers: 1,
  retries: 0,
  timeout: 10 * 60_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: { trace: 'off', actionTimeout: 20_000 },
  projects: [{ name: 'chromium', use: { browserName: 'chromium', launchOptions: chromiumLaunchOptions() } }],
});
