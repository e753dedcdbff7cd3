/**
 * Page object for one participant: the home page, the pre-join page of a room and the call itself, written
 * against the app's DOM contract (roles, aria-labels and data-testid; no whole-HTML assertions).
 */
import { expect, type Locator, type Page } from '@playwright/test';
import { ownId } from './media';

export class MeetingPage {
  readonly page: Page;
  readonly baseURL: string;
  /** The display name this participant joins with. */
  readonly name: string;
  /** Console lines of the page, attached to failing tests. */
  readonly consoleLines: string[] = [];

  // Every page
  readonly alerts: Locator;
  // Home
  readonly meetingNameInput: Locator;
  readonly joinButton: Locator;
  readonly newMeetingButton: Locator;
  // Pre-join
  readonly nameInput: Locator;
  readonly preview: Locator;
  readonly joinMeetingButton: Locator;
  readonly mediaError: Locator;
  readonly joinError: Locator;
  readonly passcodeInput: Locator;
  // In call
  readonly stage: Locator;
  readonly tiles: Locator;
  readonly localTile: Locator;
  readonly remoteTiles: Locator;
  readonly participantCount: Locator;
  readonly leaveButton: Locator;
  readonly copyLinkButton: Locator;
  // After leaving
  readonly rejoinButton: Locator;

  constructor(page: Page, baseURL: string, name: string) {
    this.page = page;
    this.baseURL = baseURL;
    this.name = name;
    page.on('console', (m) => this.consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.consoleLines.push(`[pageerror] ${e.message}`));

    this.alerts = page.getByRole('alert');
    this.meetingNameInput = page.getByLabel('Meeting name', { exact: true });
    this.joinButton = page.getByRole('button', { name: 'Join', exact: true });
    this.newMeetingButton = page.getByRole('button', { name: 'New meeting', exact: true });

    this.nameInput = page.getByLabel('Your name', { exact: true });
    this.preview = page.getByTestId('preview');
    this.joinMeetingButton = page.getByRole('button', { name: 'Join meeting', exact: true });
    this.mediaError = page.getByTestId('media-error');
    this.joinError = page.getByTestId('join-error');
    this.passcodeInput = page.getByTestId('passcode');

    this.stage = page.getByTestId('stage');
    this.tiles = this.stage.getByTestId('tile');
    this.localTile = this.stage.locator('[data-testid="tile"][data-local="true"]');
    this.remoteTiles = this.stage.locator('[data-testid="tile"][data-local="false"]');
    this.participantCount = page.getByTestId('participant-count');
    this.leaveButton = this.button('Leave meeting');
    this.copyLinkButton = this.button('Copy meeting link');
    this.rejoinButton = page.getByRole('button', { name: 'Rejoin', exact: true });
  }

  /** A button by its exact accessible name ("Mute microphone" must not match "Unmute microphone"). */
  button(label: string): Locator {
    return this.page.getByRole('button', { name: label, exact: true });
  }

  /** The tile of participant `id` as this page shows it. */
  tileOf(id: number): Locator {
    return this.stage.locator(`[data-testid="tile"][data-participant="${id}"]`);
  }

  async gotoHome(): Promise<void> {
    await this.page.goto(`${this.baseURL}/`);
  }

  /** Opens the pre-join page of `room`. */
  async gotoRoom(room: string): Promise<void> {
    await this.page.goto(`${this.baseURL}/${room}`);
    await expect(this.joinMeetingButton).toBeVisible();
  }

  /** Fills in the name and clicks "Join meeting" (does not wait for the call). */
  async clickJoin(): Promise<void> {
    await this.nameInput.fill(this.name);
    await this.joinMeetingButton.click();
  }

  /** Joins `room` from its pre-join page and waits until this participant is in the call; returns its id. */
  /** Opens the meeting, joins, and waits (up to `timeout` ms for the stage) to be in the call. */
  async join(room: string, { timeout = 15_000 }: { timeout?: number } = {}): Promise<number> {
    await this.gotoRoom(room);
    await this.clickJoin();
    return this.waitInCall(timeout);
  }

  /** Waits for the stage with this participant's own tile and its id from the debug hook. */
  async waitInCall(timeout = 15_000): Promise<number> {
    await expect(this.stage).toBeVisible({ timeout });
    await expect(this.localTile).toHaveCount(1);
    await expect(this.localTile.locator('.tile-name')).toContainText(this.name);
    await expect.poll(() => ownId(this.page), { message: 'window.__nonstop.you' }).not.toBeNull();
    return (await ownId(this.page))!;
  }

  /**
   * Waits until this page is in the call under an id other than `old` (a fresh join after its session was
   * dropped) and returns it. Between leaving and the new `welcome` the id is null, so "not `old`" alone is not it.
   */
  async waitForNewId(old: number, timeout = 30_000): Promise<number> {
    let id: number | null = null;
    await expect.poll(async () => {
      id = await ownId(this.page);
      return id !== null && id !== old;
    }, { message: `${this.name} in the call under a new id`, timeout }).toBe(true);
    return id!;
  }

  async id(): Promise<number> {
    const id = await ownId(this.page);
    if (id === null) throw new Error(`${this.name} is not in a call (window.__nonstop.you is null)`);
    return id;
  }

  /** Clicks a toggle and waits for its label to flip. */
  private async toggle(from: string, to: string): Promise<void> {
    await this.button(from).click();
    await expect(this.button(to)).toBeVisible();
  }
  muteMic() { return this.toggle('Mute microphone', 'Unmute microphone'); }
  unmuteMic() { return this.toggle('Unmute microphone', 'Mute microphone'); }
  cameraOff() { return this.toggle('Turn off camera', 'Turn on camera'); }
  cameraOn() { return this.toggle('Turn on camera', 'Turn off camera'); }

  async leave(): Promise<void> {
    await this.leaveButton.click();
  }

  /** "N participants" / "1 participant". */
  async expectParticipantCount(n: number, timeout?: number): Promise<void> {
    await expect(this.participantCount).toHaveText(n === 1 ? '1 participant' : `${n} participants`, { timeout });
  }
}
