// Guildhall moderator console: a plain client of the WebSocket protocol (protocol/README.md).
// Everything that comes from users is inserted as text, never as markup: chat is hostile.
'use strict';

(() => {
  const ROOMS_EVERY_MS = 3000;
  const $ = (id) => document.getElementById(id);

  let ws = null; // the open socket
  let nextId = 1;
  const pending = new Map(); // request id -> {resolve, reject}
  let me = null; // UserRef of the signed-in moderator
  let room = null; // the room watched, once joined
  let roomsTimer = null;
  let closeNote = null; // what to say when the socket closes on purpose

  // An element with attributes (undefined ones skipped) and children (strings become text).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c !== undefined && c !== null) node.append(c);
    }
    return node;
  }

  function button(label, action, onClick) {
    const b = el('button', { type: 'button', 'data-action': action }, label);
    b.addEventListener('click', onClick);
    return b;
  }

  function say(text, error) {
    $('status').textContent = text;
    $('status').dataset.state = error ? 'error' : 'ok';
  }

  const time = (ms) => new Date(ms).toLocaleString();
  const optional = (id) => $(id).value.trim() || undefined;

  // ---- the protocol ----

  function request(op, d) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject({ code: 'closed', msg: 'not connected' });
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, op, d: d || {} }));
    });
  }

  // Runs an op; a refusal goes to the status line and gives null. `done` words a success.
  async function call(op, d, done) {
    try {
      const result = await request(op, d);
      if (done) say(done(result));
      return result;
    } catch (e) {
      say(`${op} refused: ${e.code || 'error'}: ${e.msg || e}`, true);
      return null;
    }
  }

  function onFrame(text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (f.ev) {
      onPush(f);
      return;
    }
    const p = pending.get(f.id);
    if (!p) return;
    pending.delete(f.id);
    if (f.ok) p.resolve(f.d || {});
    else p.reject(f.err || { code: 'internal', msg: 'no error' });
  }

  function signIn(token) {
    if (ws) ws.close(1000); // a second click: only the newest socket counts
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const sock = new WebSocket(`${scheme}://${location.host}/ws?codec=json`);
    ws = sock;
    say('connecting…');
    sock.onmessage = (e) => onFrame(e.data);
    sock.onopen = async () => {
      try {
        me = (await request('hello', { token, v: 1 })).user;
      } catch (e) {
        hangUp(`sign-in refused: ${e.code}: ${e.msg}`, true);
        return;
      }
      // Only moderators may list rooms: a player's token stops here.
      const rooms = await call('mod.rooms');
      if (!rooms) {
        hangUp(`${$('status').textContent} (is the token a moderator's?)`, true);
        return;
      }
      $('token').value = '';
      $('whoami').textContent = `${me.name} (${me.id})`;
      show(true);
      renderRooms(rooms.rooms);
      say(`signed in as ${me.name}`);
      roomsTimer = setInterval(refreshRooms, ROOMS_EVERY_MS);
      loadReports();
      loadAudit();
    };
    sock.onclose = (e) => {
      if (ws !== sock) return;
      ws = null;
      for (const p of pending.values()) p.reject({ code: 'closed', msg: 'connection closed' });
      pending.clear();
      clearInterval(roomsTimer);
      room = null;
      me = null;
      show(false);
      const note = closeNote || { text: `disconnected (close ${e.code}${e.reason ? ': ' + e.reason : ''})`, error: true };
      closeNote = null;
      say(note.text, note.error);
    };
  }

  function hangUp(text, error) {
    closeNote = { text, error };
    if (ws) ws.close(1000);
  }

  function show(signedIn) {
    $('console').hidden = !signedIn;
    $('signin-form').hidden = signedIn;
    $('signout').hidden = !signedIn;
    if (!signedIn) {
      $('whoami').textContent = '';
      $('rooms').replaceChildren();
      $('messages').replaceChildren();
      $('room-title').textContent = '(none)';
      delete $('room-panel').dataset.joined;
    }
  }

  // ---- live rooms ----

  async function refreshRooms() {
    const r = await call('mod.rooms');
    if (r) renderRooms(r.rooms);
  }

  // Updates the list in place, so that an entry being clicked is never replaced under the pointer.
  function renderRooms(list) {
    const ul = $('rooms');
    const have = new Map([...ul.querySelectorAll('[data-room]')].map((b) => [b.dataset.room, b.parentElement]));
    const items = list.map((r) => {
      const li = have.get(r.room) ||
        el('li', {}, el('button', { type: 'button', 'data-room': r.room }, el('span', { class: 'name' }, r.room), el('span', { class: 'count' })));
      const b = li.firstChild;
      b.dataset.members = r.members;
      b.querySelector('.count').textContent = String(r.members);
      b.classList.toggle('current', r.room === room);
      return li;
    });
    ul.replaceChildren(...items);
  }

  async function openRoom(name) {
    if (!name || name === room) return;
    if (room) await call('room.leave', { room });
    room = null;
    delete $('room-panel').dataset.joined;
    $('messages').replaceChildren();
    $('room-title').textContent = name;
    const r = await call('room.join', { room: name });
    if (!r) {
      $('room-title').textContent = '(none)';
      return;
    }
    room = name;
    $('room-panel').dataset.joined = name;
    for (const m of r.history || []) addMessage(m);
    say(`watching ${name}`);
    for (const b of $('rooms').querySelectorAll('[data-room]')) b.classList.toggle('current', b.dataset.room === room);
  }

  // ---- the room's chat ----

  const msgEl = (id) => $('messages').querySelector(`[data-msg-id="${CSS.escape(String(id))}"]`);

  function note(text) {
    $('messages').append(el('li', { class: 'note' }, text));
    scrollDown();
  }

  function scrollDown() {
    const ul = $('messages');
    ul.scrollTop = ul.scrollHeight;
  }

  function addMessage(m) {
    if (msgEl(m.id)) return; // history and the first pushes may overlap
    const user = m.from.id;
    const where = room;
    const li = el('li', { 'data-msg-id': m.id, 'data-user': user },
      el('time', { datetime: new Date(m.ts).toISOString() }, new Date(m.ts).toLocaleTimeString()),
      el('span', { class: 'from', title: user }, m.from.name),
      el('span', { class: 'text' }, m.text),
      el('span', { class: 'actions' },
        button('Mute', 'mute', () => act('mod.mute', { room: where, user, duration: '1h', reason: optional('reason') },
          (r) => `muted ${user} in ${where} ${r.until ? 'until ' + time(r.until) : 'for good'}`)),
        button('Kick', 'kick', () => act('mod.kick', { room: where, user, reason: optional('reason') },
          () => `kicked ${user} from ${where}`)),
        button('Delete', 'delete', () => act('mod.delete', { room: where, id: m.id, reason: optional('reason') },
          () => `deleted message ${m.id}`)),
        button('History', 'history', () => loadPenalties(user))));
    $('messages').append(li);
    scrollDown();
  }

  function onPush(f) {
    if (f.room !== room) return;
    const d = f.d || {};
    switch (f.ev) {
      case 'chat.msg':
        addMessage(d);
        break;
      case 'chat.deleted': {
        const li = msgEl(d.id);
        if (li) li.remove();
        note(`message ${d.id} deleted${d.by ? ' by ' + d.by.name : ''}`);
        break;
      }
      case 'room.kicked':
        note(`${d.user.name} (${d.user.id}) was ${d.ban ? 'banned' : 'kicked'}${d.reason ? ': ' + d.reason : ''}`);
        if (me && d.user.id === me.id) {
          room = null;
          delete $('room-panel').dataset.joined;
        }
        break;
      case 'room.mode':
        showModes(d);
        note(`modes: slow ${d.slow_ms / 1000} s, members only ${d.members_only}, panic ${d.panic}`);
        break;
      default:
        break;
    }
  }

  function showModes(m) {
    $('mode-slow').value = String(Math.round(m.slow_ms / 1000));
    $('mode-members').checked = m.members_only;
    $('mode-panic').checked = m.panic;
  }

  // A moderation action; the audit log is reloaded after it.
  async function act(op, d, done) {
    const r = await call(op, d, done);
    if (r) loadAudit();
    return r;
  }

  // ---- reports ----

  async function loadReports() {
    const r = await call('mod.reports', { limit: 50 });
    if (!r) return;
    const items = r.reports.map(reportItem);
    $('reports').replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, 'no open reports')]));
  }

  function reportItem(rep) {
    const resolve = (action) => button(action[0].toUpperCase() + action.slice(1), action, async () => {
      if (await act('mod.resolve', { report: rep.id, action, note: optional('report-note') }, (x) => `report #${x.id} ${x.status}`)) loadReports();
    });
    return el('li', { 'data-report': rep.id, 'data-status': rep.status, 'data-priority': rep.priority, 'data-user': rep.user },
      el('div', { class: 'head' },
        el('span', { class: `priority ${rep.priority}` }, rep.priority),
        ` #${rep.id} ${rep.category}: `, el('strong', {}, rep.user),
        ` reported by ${rep.reporter.name} (${rep.reporter.id})${rep.room ? ' in ' + rep.room : ''}, ${time(rep.created)}, `,
        el('em', {}, rep.status + (rep.claimed_by ? ` by ${rep.claimed_by}` : ''))),
      el('p', { class: 'text' }, rep.text),
      el('ol', { class: 'context' }, ...rep.context.map((m) =>
        el('li', { 'data-context-id': m.id, class: m.id === rep.message ? 'reported' : undefined },
          el('span', { class: 'from' }, m.from.name), ' ', m.text))),
      el('div', { class: 'actions' },
        rep.status === 'pending' ? button('Claim', 'claim', async () => {
          if (await act('mod.claim', { report: rep.id }, (x) => `claimed report #${x.id}`)) loadReports();
        }) : null,
        resolve('dismiss'), resolve('warn'), resolve('penalize'),
        button('History', 'history', () => loadPenalties(rep.user))));
  }

  // ---- penalties ----

  async function loadPenalties(user) {
    if (!user) return;
    $('pen-user').value = user;
    const r = await call('mod.penalties', { user });
    if (!r) return;
    const list = $('penalties');
    list.dataset.user = user;
    const items = r.penalties.map((p) => el('li', { 'data-penalty': p.id, 'data-kind': p.kind },
      `#${p.id} step ${p.step} ${p.kind} (${p.category}) from ${time(p.starts)}${p.ends ? ' to ' + time(p.ends) : ''} by ${p.by.name}`,
      p.reason ? ` — ${p.reason}` : null,
      p.report ? ` (report #${p.report})` : null,
      p.appeal ? el('div', { class: 'appeal' }, `appeal: ${p.appeal}`) : null));
    list.replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, `${user} has no penalties`)]));
  }

  // ---- audit log ----

  async function loadAudit() {
    const r = await call('mod.audit', { limit: 50 });
    if (!r) return;
    $('audit').replaceChildren(...r.entries.map((a) =>
      el('li', { 'data-audit-id': a.id, 'data-audit-action': a.action, 'data-target': a.target },
        el('time', {}, time(a.at)), ' ', el('strong', {}, a.actor.name), ` ${a.action}`,
        a.target ? ` ${a.target}` : null, a.room ? ` in ${a.room}` : null,
        a.details ? ` (${a.details})` : null, a.reason ? ` — ${a.reason}` : null)));
  }

  // ---- wiring ----

  document.addEventListener('DOMContentLoaded', () => {
    const onSubmit = (id, fn) => $(id).addEventListener('submit', (e) => {
      e.preventDefault();
      fn();
    });
    onSubmit('signin-form', () => {
      const token = $('token').value.trim();
      if (token) signIn(token);
      else say('paste a moderator token first', true);
    });
    $('signout').addEventListener('click', () => hangUp('signed out', false));
    $('rooms').addEventListener('click', (e) => {
      const b = e.target.closest('[data-room]');
      if (b) openRoom(b.dataset.room);
    });
    onSubmit('room-form', () => openRoom($('room-name').value.trim()));
    onSubmit('modes', () => {
      if (!room) {
        say('open a room first', true);
        return;
      }
      const where = room;
      act('mod.mode', {
        room: where,
        slow_ms: Math.max(0, Math.round(Number($('mode-slow').value) * 1000)) || 0,
        members_only: $('mode-members').checked,
        panic: $('mode-panic').checked,
      }, (m) => `${where}: slow ${m.slow_ms / 1000} s, members only ${m.members_only}, panic ${m.panic}`)
        .then((m) => m && showModes(m));
    });
    $('reports-refresh').addEventListener('click', loadReports);
    $('audit-refresh').addEventListener('click', loadAudit);
    onSubmit('penalties-form', () => loadPenalties($('pen-user').value.trim()));
    onSubmit('penalize-form', async () => {
      const user = $('pen-user').value.trim();
      if (!user) {
        say('name a user first', true);
        return;
      }
      const p = await act('mod.penalize', { user, category: $('pen-category').value, reason: optional('pen-reason') },
        (x) => `${user}: step ${x.step}, ${x.kind}`);
      if (p) loadPenalties(user);
    });
  });
})();
