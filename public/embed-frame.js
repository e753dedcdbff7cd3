// The meeting page's half of the embedding bridge (the host page's half is embed.js).
//
// Loaded by index.html only when the page is inside a frame. The server serves it at
// /embed-frame.js with the origins of --embed-origin filled in below: the same sites
// the browser lets frame the page (Content-Security-Policy: frame-ancestors).
//
// It talks to the host page over postMessage, and only to it: a message counts only
// when it comes from the parent window and from an allowed origin, and answers go to
// that origin alone. It drives the page the way a person does, through its controls,
// and reports what the page shows: the accessible names and data attributes below are
// the contract (the end-to-end tests hold the page to them, e2e/tests/embed.spec.ts).
// So the app carries no code for embedding, and a call in a frame behaves exactly like
// one in a tab.
(function () {
  'use strict';
  const ALLOWED_ORIGINS = /*ORIGINS*/[];
  if (window.parent === window) return;

  let host = null; // the host's origin, once it said hello
  let options = {};
  let pending = null; // what the host asked for that the page cannot do yet
  let last = { inCall: false, you: null, remotes: new Map(), speaker: null, quality: new Map(), alerts: new Set() };

  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => Array.from(document.querySelectorAll(selector));

  function send(type, detail) {
    if (host) window.parent.postMessage({ nonstop: 1, type, ...detail }, host);
  }

  // Tells the host page the bridge is listening (to each allowed origin: only the
  // host's own receives it).
  for (const origin of ALLOWED_ORIGINS) window.parent.postMessage({ nonstop: 1, type: 'loaded' }, origin);

  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || !ALLOWED_ORIGINS.includes(event.origin)) return;
    const msg = event.data;
    if (!msg || msg.nonstop !== 1 || typeof msg.type !== 'string') return;
    if (msg.type === 'hello') {
      if (host) return; // once: the options hold for the page's life
      host = event.origin;
      options = msg.options || {};
      applyOptions();
      send('ready', {});
      observe();
      return;
    }
    if (event.origin !== host) return;
    switch (msg.type) {
      case 'join': pending = 'join'; break;
      case 'leave': pending = 'leave'; break;
      case 'microphone': toggle('microphone', msg.on === true); return;
      case 'camera': toggle('camera', msg.on === true); return;
      default: send('error', { message: `unknown command "${msg.type}"` }); return;
    }
    act();
  });

  // What the host page configures away, and the theme.
  function applyOptions() {
    const css = [];
    if (options.showLeaveButton === false) css.push('.controls .leave:not(.owner-only) { display: none !important; }');
    if (options.theme === 'light') {
      css.push(':root { color-scheme: light; --bg: #f4f5f7; --panel: #fff; --tile: #dfe3ea; --text: #1d2330; --muted: #5b6475; }');
    }
    if (css.length) {
      const style = document.createElement('style');
      style.textContent = css.join('\n');
      document.head.append(style);
    }
  }

  // Join and leave wait for the page to be able to (the camera is still starting, say).
  function act() {
    if (pending === 'join') {
      const name = $('input[aria-label="Your name"]');
      if (name && !name.value && typeof options.userName === 'string') {
        name.value = options.userName;
        name.dispatchEvent(new Event('input', { bubbles: true }));
      }
      const button = $('form button[type="submit"]');
      // After leaving: "Rejoin" brings the pre-join screen back; the join waits for it.
      const rejoin = $$('main button').find((b) => b.textContent.trim() === 'Rejoin');
      if (rejoin) rejoin.click();
      else if (inCall()) pending = null;
      else if (button && !button.disabled && button.textContent.includes('Join')) {
        pending = null;
        button.click();
      }
    } else if (pending === 'leave') {
      pending = null;
      const button = $('button[aria-label="Leave meeting"]');
      if (button) button.click();
    }
  }

  function toggle(device, on) {
    const [onLabel, offLabel] = device === 'microphone' ? ['Mute microphone', 'Unmute microphone'] : ['Turn off camera', 'Turn on camera'];
    const button = $(`button[aria-label="${on ? offLabel : onLabel}"]`);
    if (button) button.click();
  }

  const inCall = () => $('[data-testid="tile"][data-local="true"]') !== null;
  const tileName = (tile) => (tile.querySelector('.tile-name') || {}).textContent || '';
  const idOf = (tile) => Number(tile.dataset.participant);

  // Compares what the page shows now with what was last reported, and reports the change.
  function report() {
    act();
    const nowInCall = inCall();
    if (nowInCall && !last.inCall) {
      const you = $('[data-testid="tile"][data-local="true"]');
      last.you = idOf(you);
      send('joined', { participant: last.you, name: tileName(you) });
    }
    const remotes = new Map();
    if (nowInCall) {
      for (const tile of $$('[data-testid="tile"][data-local="false"][data-kind="camera"]')) remotes.set(idOf(tile), tileName(tile));
    }
    for (const [id, name] of remotes) if (!last.remotes.has(id)) send('participant-joined', { participant: id, name });
    for (const [id, name] of last.remotes) if (!remotes.has(id)) send('participant-left', { participant: id, name });
    last.remotes = remotes;

    const speaking = $('[data-testid="tile"][data-kind="camera"][data-speaking="true"]');
    const speaker = speaking ? idOf(speaking) : null;
    if (speaker !== last.speaker && nowInCall) send('active-speaker', { participant: speaker });
    last.speaker = speaker;

    const quality = new Map();
    for (const tile of $$('[data-testid="tile"][data-local="false"][data-kind="camera"]')) {
      const badge = tile.querySelector('[data-testid="quality"]');
      if (badge) quality.set(idOf(tile), [badge.dataset.level, badge.getAttribute('aria-label') || '']);
    }
    for (const [id, [level, label]] of quality) {
      const before = last.quality.get(id);
      if (!before || before[0] !== level) {
        const reason = (label.match(/\((.*)\)/) || [])[1] || null;
        send('network-quality', { participant: id, level, reason });
      }
    }
    last.quality = quality;

    const alerts = new Set($$('[role="alert"]').map((a) => a.textContent.trim()).filter(Boolean));
    for (const message of alerts) if (!last.alerts.has(message)) send('error', { message });
    last.alerts = alerts;

    if (!nowInCall && last.inCall) send('left', {});
    last.inCall = nowInCall;
  }

  let scheduled = false;
  let observing = false;
  function observe() {
    if (observing) return;
    observing = true;
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        report();
      });
    };
    new MutationObserver(schedule).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
      attributeFilter: ['data-speaking', 'data-level', 'disabled', 'data-participant'],
    });
    schedule();
  }
})();
