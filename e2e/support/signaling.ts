/**
 * The signaling messages a page sends and receives on its WebSockets (docs/protocol.md): to check what the
 * app said to the server (e.g. `resume`, and never a second `join`), not only what the page shows.
 *
 * Recorded inside the page by an init script that wraps `WebSocket` (Playwright's `websocket` events do
 * not fire for Firefox over WebDriver BiDi), into `window.__signaling`; a reload starts a new record.
 */
import type { Page } from '@playwright/test';

export interface SignalingMessage {
  type: string;
  /** When the page sent or received it (`Date.now()` in the page); not a protocol field. */
  _at: number;
  [field: string]: unknown;
}

type Direction = 'sent' | 'received';

export class SignalingLog {
  private constructor(private readonly page: Page) {}

  /** Starts recording `page`'s signaling; call before the page opens its WebSocket (before joining). */
  static async attach(page: Page): Promise<SignalingLog> {
    await page.addInitScript(() => {
      const log: Record<'sent' | 'received', unknown[]> = { sent: [], received: [] };
      (window as any).__signaling = log;
      const record = (into: unknown[], data: unknown) => {
        if (typeof data !== 'string') return;
        try {
          into.push({ ...JSON.parse(data), _at: Date.now() });
        } catch {
          // not a protocol message
        }
      };
      const Native = window.WebSocket;
      class Recorded extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('message', (e) => record(log.received, e.data));
        }
        send(data: string | ArrayBufferLike | Blob | ArrayBufferView) {
          record(log.sent, data);
          super.send(data);
        }
      }
      window.WebSocket = Recorded;
    });
    return new SignalingLog(page);
  }

  /** Every message recorded in `direction` so far, in order. */
  async messages(direction: Direction): Promise<SignalingMessage[]> {
    return this.page.evaluate((d) => ((window as any).__signaling?.[d] ?? []) as SignalingMessage[], direction);
  }

  /** The messages of `type` recorded in `direction` so far. */
  async of(direction: Direction, type: string): Promise<SignalingMessage[]> {
    return (await this.messages(direction)).filter((m) => m.type === type);
  }
}
