// Nonstop in any page: load this script from your Nonstop server, then
//
//   const call = Nonstop.createFrame(document.getElementById('call'), {
//     url: 'https://meet.example.com/standup',  // the meeting link
//     token: '…',               // a meeting token (POST /api/meeting-tokens), for private rooms
//     userName: 'Ada',          // the name to join under when there is no token
//     showLeaveButton: true,    // false: your page offers leaving (call.leave())
//     theme: 'dark',            // or 'light'
//   });
//   call.on('participant-joined', (e) => console.log(e.name, 'joined'));
//   call.join();
//
// Methods: join(), leave(), setMicrophone(on), setCamera(on), on(event, fn), off(event, fn),
// destroy(). Events: ready, joined, participant-joined, participant-left, left, error,
// active-speaker, network-quality (README, "Embedding").
//
// The call runs in an <iframe> of the meeting page; the two talk over postMessage, each
// checking the other's origin. The server must name your site with --embed-origin, or the
// browser refuses the frame. No dependencies; plain ES2017.
(function () {
  'use strict';
  const EVENTS = ['ready', 'joined', 'participant-joined', 'participant-left', 'left', 'error', 'active-speaker', 'network-quality'];

  function createFrame(element, options) {
    if (!(element instanceof Element)) throw new TypeError('Nonstop.createFrame: the first argument must be an element');
    if (!options || typeof options.url !== 'string') throw new TypeError('Nonstop.createFrame: options.url (the meeting link) is required');
    const url = new URL(options.url, window.location.href);
    if (options.token) url.searchParams.set('t', options.token);
    const origin = url.origin;

    const frame = document.createElement('iframe');
    frame.src = url.href;
    frame.allow = 'camera; microphone; display-capture; autoplay';
    frame.title = 'Video call';
    frame.style.border = '0';
    frame.style.width = '100%';
    frame.style.height = '100%';
    element.append(frame);

    const handlers = new Map(EVENTS.map((e) => [e, new Set()]));
    let ready = false;
    const queued = [];

    function post(type, detail) {
      const msg = { nonstop: 1, type, ...detail };
      if (ready || type === 'hello') frame.contentWindow.postMessage(msg, origin);
      else queued.push(msg);
    }

    function emit(type, detail) {
      for (const fn of handlers.get(type) || []) {
        try {
          fn(detail);
        } catch (e) {
          setTimeout(() => { throw e; }); // a failing handler must not stop the others
        }
      }
    }

    function hello() {
      ready = false;
      post('hello', {
        options: {
          userName: options.userName,
          showLeaveButton: options.showLeaveButton !== false,
          theme: options.theme === 'light' ? 'light' : 'dark',
        },
      });
    }

    function onMessage(event) {
      if (event.source !== frame.contentWindow || event.origin !== origin) return;
      const msg = event.data;
      // Each load of the meeting page (a reload inside the frame too) gets the options.
      if (msg && msg.nonstop === 1 && msg.type === 'loaded') return hello();
      if (!msg || msg.nonstop !== 1 || !handlers.has(msg.type)) return;
      const { nonstop, type, ...detail } = msg;
      if (type === 'ready') {
        ready = true;
        for (const m of queued.splice(0)) frame.contentWindow.postMessage(m, origin);
      }
      emit(type, detail);
    }
    window.addEventListener('message', onMessage);

    return {
      iframe: frame,
      join: () => post('join', {}),
      leave: () => post('leave', {}),
      setMicrophone: (on) => post('microphone', { on: Boolean(on) }),
      setCamera: (on) => post('camera', { on: Boolean(on) }),
      on(event, fn) {
        if (!handlers.has(event)) throw new Error(`Nonstop: no event "${event}" (events: ${EVENTS.join(', ')})`);
        handlers.get(event).add(fn);
        return this;
      },
      off(event, fn) {
        if (handlers.has(event)) handlers.get(event).delete(fn);
        return this;
      },
      destroy() {
        window.removeEventListener('message', onMessage);
        frame.remove();
      },
    };
  }

  window.Nonstop = { createFrame };
})();
