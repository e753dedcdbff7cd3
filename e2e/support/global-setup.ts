/**
 * Refuses to run outside a private network namespace: browsers in a call gather the addresses of every
 * interface they can see, and these tests must never touch a real network. scripts/test and scripts/bench
 * run Playwright through scripts/netns-run, which makes such a namespace.
 */
import * as fs from 'node:fs';

export default function globalSetup(): void {
  // /proc/self/net/dev lists the interfaces of this process's namespace (/sys/class/net would show the
  // namespace sysfs was mounted in).
  const interfaces = fs
    .readFileSync('/proc/self/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0].trim())
    .filter((name) => name !== '' && name !== 'lo');
  if (interfaces.length > 0 && process.env.NONSTOP_ALLOW_HOST_NETWORK !== '1') {
    throw new Error(
      `network interfaces other than loopback are visible (${interfaces.join(', ')}): ` +
        'run the suite through scripts/test (or scripts/netns-run npx playwright test) so it gets a private network namespace',
    );
  }
}
