// tablepay staff dashboard: a plain client of the public API (see API.md). No framework,
// no build step; strings live in /assets/i18n/staff.js.
'use strict';
(() => {
  const I18N = window.STAFF_I18N || { en: {} };
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  const base = (l) => String(l || '').toLowerCase().split('-')[0];
  const asked = new URLSearchParams(location.search).get('lang');
  const lang = asked && I18N[asked] ? asked : langs.map(base).find((l) => I18N[l]) || 'en';
  const locale = langs.find((l) => base(l) === lang) || lang;
  const t = (k, v) => {
    // {table} is a table as people name it: "Table 3" for a bare number, else its label.
    if (v && 'label' in v && !('table' in v)) v = { ...v, table: tableName(v.label) };
    return String(I18N[lang][k] ?? I18N.en[k] ?? k).replace(/\{(\w+)\}/g, (m, n) => (v && n in v ? v[n] : m));
  };
  const tableName = (label) => (/^\d+[a-z]?$/i.test(String(label)) ? t('tableLabel', { label, table: label }) : String(label));

  const $ = (id) => document.getElementById(id);
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid);
    return el;
  }

  const SESSION = 'tablepay.staff.key';
  const ORDER = ['partially_paid', 'open', 'paid', 'free'];
  const S = {
    gen: 0, key: null, me: null, venue: null, role: null, exp: 2,
    floor: new Map(), cards: new Map(), settled: new Map(), assist: [], approvals: null,
    billId: null, bill: null, opener: null, payRows: new Map(), lastEventId: null, dCursor: null,
  };
  const idem = new WeakMap();
  const timers = new Map();
  const soon = (name, fn, ms = 150) => {
    clearTimeout(timers.get(name));
    timers.set(name, setTimeout(() => { timers.delete(name); fn(); }, ms));
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // formatting
  let money, time, dateTime, decimal;
  const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 });
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const fmt = (minor) => money.format((Number(minor) || 0) / 10 ** S.exp);
  const toDec = (minor) => decimal.format(minor / 10 ** S.exp);
  const at = (iso) => (iso ? time.format(new Date(iso)) : '');
  const when = (iso) => (iso ? dateTime.format(new Date(iso)) : '');
  function ago(iso) {
    const s = (Date.now() - Date.parse(iso)) / 1000;
    if (!(s >= 45)) return t('justNow');
    if (s < 3600) return rtf.format(-Math.round(s / 60), 'minute');
    if (s < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
    return rtf.format(-Math.round(s / 86400), 'day');
  }
  function formats(venue) {
    // ISO 4217's decimals, from the server: browsers differ for some currencies (RSD, IQD…).
    S.exp = venue.currency_exponent ?? 2;
    money = new Intl.NumberFormat(locale, { style: 'currency', currency: venue.currency, minimumFractionDigits: S.exp, maximumFractionDigits: S.exp });
    decimal = new Intl.NumberFormat(locale, { minimumFractionDigits: S.exp, maximumFractionDigits: S.exp, useGrouping: false });
    const zone = (o) => { try { return new Intl.DateTimeFormat(locale, { ...o, timeZone: venue.timezone }); } catch { return new Intl.DateTimeFormat(locale, o); } };
    time = zone({ timeStyle: 'short' });
    dateTime = zone({ dateStyle: 'short', timeStyle: 'medium' });
  }
  // "12,5" or "12.50" → 1250 with exponent 2, exactly; null when it is not such a number.
  function parseDec(raw, exp) {
    const m = /^(\d+)(?:[.,](\d*))?$/.exec(String(raw).replace(/[\s']/g, ''));
    if (!m || (m[2] || '').length > exp) return null;
    const n = Number(m[1] + (m[2] || '').padEnd(exp, '0'));
    return Number.isSafeInteger(n) ? n : null;
  }

  // messages
  let toastTimer;
  function say(text, kind = 'info') {
    clearTimeout(toastTimer);
    $('message').textContent = text;
    $('toast').dataset.kind = kind;
    $('toast').classList.add('show');
    if (kind === 'ok') toastTimer = setTimeout(hideToast, 8000);
  }
  function hideToast() { $('toast').classList.remove('show'); }
  const announce = (text) => { $('announcer').textContent = text; };
  function alertBox(kind, id, text, ms, action) {
    const old = document.querySelector(`.alert[data-id="${CSS.escape(id)}"]`);
    if (old) old.remove();
    const box = h('div', { class: `alert ${kind}`, 'data-id': id },
      h('p', { text }), action || '',
      h('button', { type: 'button', class: 'close', 'aria-label': t('dismiss'), text: '×', onclick: () => box.remove() }));
    $('alerts').prepend(box);
    if (ms) setTimeout(() => box.remove(), ms);
  }

  // API
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }
  async function api(method, path, body, key) {
    const headers = { Authorization: `Bearer ${S.key}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (key) headers['Idempotency-Key'] = key;
    const gen = S.gen;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw Object.assign(new Error(t('networkError')), { status: 0 });
    }
    const data = /json/.test(res.headers.get('content-type') || '') ? await res.json().catch(() => null) : null;
    if (gen !== S.gen) throw Object.assign(new Error('signed out'), { status: res.status, stale: true });
    if (!res.ok) {
      if (res.status === 401 && S.me && gen === S.gen) signOut(t('sessionExpired'));
      const text = (data && (data.detail || data.title)) || t('httpError', { status: res.status });
      throw Object.assign(new Error(text), { status: res.status, code: data && data.code, stale: gen !== S.gen });
    }
    return { status: res.status, data };
  }
  // A create with its Idempotency-Key: kept for a retry of the same form while the outcome is
  // unknown (network, 5xx, in flight), dropped once answered or when the form changes.
  async function send(form, path, body) {
    const button = form.querySelector('[type=submit]');
    if (!idem.has(form)) idem.set(form, uuid());
    button.disabled = true;
    try {
      const res = await api('POST', path, body, idem.get(form));
      idem.delete(form);
      return res;
    } catch (e) {
      if (!(e.status === 0 || e.status >= 500 || e.code === 'idempotency_key_in_use')) idem.delete(form);
      if (!e.stale && e.status !== 401) say(e.message, 'error');
      return null;
    } finally {
      button.disabled = false;
    }
  }
  const report = (e) => { if (!e.stale && e.status !== 401) say(e.message, 'error'); };
  const venuePath = (rest) => `/v1/venues/${encodeURIComponent(S.venue.id)}/${rest}`;

  // sign in / out
  async function signIn(key, quiet) {
    S.key = key;
    let me;
    try {
      me = (await api('GET', '/v1/me')).data;
    } catch (e) {
      S.key = null;
      if (e.status === 401 || !quiet) sessionStorage.removeItem(SESSION);
      if (!quiet || e.status !== 401) say(e.status === 401 ? t('badKey') : e.message, 'error');
      $('staff-key').focus();
      return;
    }
    sessionStorage.setItem(SESSION, key);
    Object.assign(S, { me, venue: me.venue, role: me.role, lastEventId: null });
    formats(me.venue);
    $('adjust-amount-label').textContent = t('amountIn', { currency: me.venue.currency });
    $('staff-key').value = '';
    $('who-venue').textContent = me.venue.name;
    const role = t('role_' + me.role);
    $('who-name').textContent = me.staff && me.staff.name !== role ? t('whoAs', { name: me.staff.name, role }) : role;
    const l = me.venue.limits || {};
    $('limits').textContent = me.role === 'manager' ? t('limitsManager')
      : me.role === 'server' ? t('limitsServer', { comp: fmt(l.server_comp_limit), refund: fmt(l.server_refund_limit) })
        : t('limitsPos');
    const manager = me.role === 'manager';
    $('approvals-section').hidden = !manager;
    $('deliveries-section').hidden = !manager;
    $('report-section').hidden = !manager;
    $('audit-section').hidden = !manager;
    $('assistance-section').hidden = me.role === 'pos';
    $('signin').hidden = true;
    $('app').hidden = false;
    $('who').hidden = false;
    $('sign-out').hidden = false;
    head();
    hideToast();
    const gen = S.gen;
    await loadFloor();
    if (gen !== S.gen) return;
    document.body.dataset.state = 'floor';
    $('floor-h').focus();
    loadAssistance();
    loadFeedback();
    if (manager) { loadApprovals(); loadDeliveries(true); loadReport(); loadAudit(true); }
    stream(gen);
    S.tick = setInterval(() => {
      loadFloor();
      loadAssistance();
      if (manager) loadApprovals();
    }, 30000);
  }

  function signOut(message) {
    S.gen += 1;
    if (S.abort) S.abort.abort();
    clearInterval(S.tick);
    timers.forEach(clearTimeout);
    timers.clear();
    S.settled.forEach(clearTimeout);
    S.settled.clear();
    sessionStorage.removeItem(SESSION);
    closeBill(false);
    Object.assign(S, { key: null, me: null, venue: null, role: null, lastEventId: null, abort: null, assist: [], approvals: null, assistSig: '', approvalsSig: '', auditCursor: null });
    // Nothing of one person's session stays for the next.
    for (const id of ['feedback', 'audit', 'report']) $(id).replaceChildren();
    for (const id of ['feedback-section', 'report-section', 'audit-section']) $(id).hidden = true;
    S.floor.clear();
    S.cards.clear();
    for (const id of ['assistance', 'approvals', 'deliveries', 'alerts']) $(id).replaceChildren();
    for (const g of Object.values(groups)) { g.ul.replaceChildren(); g.section.hidden = true; }
    setLive(false);
    document.body.dataset.state = 'signin';
    $('app').hidden = true;
    $('who').hidden = true;
    $('sign-out').hidden = true;
    $('signin').hidden = false;
    if (message) say(message, 'info');
    $('staff-key').focus();
  }

  // live events
  function setLive(on) {
    $('live').dataset.connected = String(on);
    $('live-text').textContent = on ? t('live') : S.me ? t('reconnecting') : t('offline');
  }

  // fetch() instead of EventSource, which cannot send Authorization. Reconnects with
  // Last-Event-ID after 1 s, 2 s, 4 s … at most 15 s.
  async function stream(gen) {
    let delay = 1000;
    let before = false;
    while (gen === S.gen) {
      const ctrl = new AbortController();
      S.abort = ctrl;
      try {
        const headers = { Authorization: `Bearer ${S.key}`, Accept: 'text/event-stream' };
        if (S.lastEventId != null) headers['Last-Event-ID'] = S.lastEventId;
        const res = await fetch(venuePath('events'), { headers, signal: ctrl.signal, cache: 'no-store' });
        if (res.status === 401) { if (gen === S.gen) signOut(t('sessionExpired')); return; }
        if (!res.ok || !res.body) throw new Error(String(res.status));
        setLive(true);
        delay = 1000;
        if (before) { soon('floor', loadFloor); soon('assist', loadAssistance); }
        before = true;
        // The server says something at least every 15 s; silence for 45 s is a dead connection.
        let heard = Date.now();
        const watchdog = setInterval(() => { if (Date.now() - heard > 45000) ctrl.abort(); }, 5000);
        try { await readFrames(res.body.getReader(), gen, () => { heard = Date.now(); }); } finally { clearInterval(watchdog); }
      } catch {
        // a failed or dropped stream: retried below
      }
      if (gen !== S.gen) return;
      setLive(false);
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }

  async function readFrames(reader, gen, alive) {
    const decoder = new TextDecoder();
    let buf = '';
    let ev = { type: '', data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gen !== S.gen) return;
      alive();
      buf += decoder.decode(value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === '') {
          if (ev.data.length) dispatch(ev.type || 'message', ev.data.join('\n'));
          ev = { type: '', data: [] };
          continue;
        }
        if (line[0] === ':') continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? '' : line.slice(i + 1);
        if (val[0] === ' ') val = val.slice(1);
        if (field === 'data') ev.data.push(val);
        else if (field === 'event') ev.type = val;
        else if (field === 'id' && !val.includes('\0')) S.lastEventId = val;
      }
    }
  }

  function dispatch(type, raw) {
    let d = {};
    try { d = JSON.parse(raw).data || {}; } catch { /* not JSON: still a change */ }
    soon('floor', loadFloor);
    if (S.role === 'manager') soon('approvals', loadApprovals);
    if (type === 'table.settled') settle(d);
    if (type === 'assistance.requested') {
      const a = d.assistance || {};
      const text = a.reason ? t('assistAlert', { label: a.table_label, reason: a.reason }) : t('assistAlertNoReason', { label: a.table_label });
      if (S.role !== 'pos') alertBox('assist', a.id || String(Date.now()), text);
      announce(text);
      soon('assist', loadAssistance);
    }
    if (type === 'assistance.resolved') soon('assist', loadAssistance);
    if (type === 'feedback.received') {
      const f = d.feedback || {};
      if (f.rating <= 2 && S.role !== 'pos') {
        const text = t('lowRating', { label: d.table_label || f.table_label || '—', n: f.rating });
        alertBox('feedback', `feedback-${f.id}`, text);
        announce(text);
      }
      soon('feedback', loadFeedback);
    }
    if (type === 'webhook.delivery_failed') missed(d);
    const decided = /^(adjustment|refund)\.(approved|rejected)$/.exec(type);
    if (decided) tellRequester(decided[1], decided[2], d[decided[1]] || {});
    const bill = (d.bill && d.bill.id) || (d.payment && d.payment.bill_id) || (d.adjustment && d.adjustment.bill_id) ||
      (d.refund && d.refund.bill_id) || d.bill_id;
    if (S.billId && bill === S.billId) soon('bill', () => loadBill(S.billId), 200);
  }

  // The POS missed an event: staff see it at once; whoever keeps the webhooks retries it here.
  function missed(d) {
    const text = t('deliveryFailed', { type: d.event_type, label: d.table_label || '—', url: d.url });
    const retries = (S.role === 'pos' || S.role === 'manager') && d.delivery_id;
    const button = retries && h('button', { type: 'button', class: 'secondary', 'data-testid': 'delivery-retry', text: t('retry'),
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        try {
          await api('POST', `/v1/webhook-deliveries/${encodeURIComponent(d.delivery_id)}/retry`);
          say(t('retried'), 'ok');
          e.target.closest('.alert')?.remove();
        } catch (err) { report(err); e.target.disabled = false; }
      } });
    alertBox('missed', `missed-${d.delivery_id || d.event_id}`, text, 0, button);
    announce(text);
  }

  // A server hears at once what a manager decided on their request.
  function tellRequester(kind, outcome, x) {
    const mine = S.me && (S.me.staff ? S.me.staff.id : S.me.key_id);
    if (!x.created_by || x.created_by.id !== mine) return;
    const what = t('kind_' + (kind === 'refund' ? 'refund' : x.type));
    const text = t('decided_' + outcome, { name: (x.approved_by || {}).name, what, amount: fmt(x.amount), reason: x.reason });
    alertBox(outcome === 'approved' ? 'decision ok' : 'decision no', x.id, text);
    announce(text);
  }

  function settle(d) {
    if (!d.table_id) return;
    clearTimeout(S.settled.get(d.table_id));
    S.settled.set(d.table_id, setTimeout(() => unsettle(d.table_id), 10000));
    paintSettled(d.table_id);
    const text = t('settled', { label: d.table_label, amount: fmt(d.total) });
    announce(text);
    alertBox('settled', `settled-${d.table_id}`, text, 10000);
  }
  function unsettle(id) {
    clearTimeout(S.settled.get(id));
    S.settled.delete(id);
    paintSettled(id);
  }
  function paintSettled(id) {
    const c = S.cards.get(id);
    if (!c) return;
    const on = S.settled.has(id);
    c.btn.classList.toggle('settled', on);
    if (on) c.btn.dataset.settled = 'true';
    else delete c.btn.dataset.settled;
  }

  // floor
  const groups = {};
  for (const status of ORDER) {
    const count = h('span', { class: 'count' });
    const ul = h('ul', { class: 'grid' });
    const section = h('section', { class: 'group', hidden: true }, h('h2', null, t('status_' + status), ' ', count), ul);
    groups[status] = { section, count, ul };
    $('floor').append(section);
  }

  async function loadFloor() {
    if (!S.venue) return;
    try {
      const { data } = await api('GET', venuePath('floor'));
      renderFloor(data.tables || []);
    } catch (e) { report(e); }
  }

  const line = (label, value, cls) => h('span', { class: `kv ${cls || ''}` }, h('span', { text: label }), h('span', { class: 'num', text: value }));
  function card(tb) {
    let c = S.cards.get(tb.id);
    if (!c) {
      const btn = h('button', { type: 'button', class: 'card', 'data-testid': 'table', 'data-table-id': tb.id, onclick: () => openTable(tb.id, btn) });
      c = { btn, li: h('li', null, btn) };
      S.cards.set(tb.id, c);
    }
    const { btn } = c;
    btn.dataset.status = tb.status;
    btn.className = `card s-${tb.status}`;
    const b = tb.bill;
    btn.replaceChildren(...[
      h('span', { class: 'card-top' }, h('span', { class: 'label', text: tableName(tb.label) }), h('span', { class: 'pill', text: t('status_' + tb.status) })),
      tb.open_assistance > 0 ? h('span', { class: 'badge', text: t('assistBadge', { n: tb.open_assistance }) }) : null,
      b ? h('span', { class: 'nums' },
        line(t('total'), fmt(b.total)),
        line(t('paid'), fmt(b.paid)),
        b.pending > 0 ? line(t('pending'), fmt(b.pending)) : null,
        line(t('remaining'), fmt(b.remaining), 'strong'),
        b.tips > 0 ? line(t('tips'), fmt(b.tips)) : null,
        b.refunded > 0 ? line(t('refundedLine'), fmt(b.refunded)) : null)
        : h('span', { class: 'muted', text: t('noBillShort') }),
    ].filter(Boolean));
    paintSettled(tb.id);
  }

  function renderFloor(tables) {
    const seen = new Set();
    const by = Object.fromEntries(ORDER.map((s) => [s, []]));
    S.floor.clear();
    for (const tb of tables) {
      S.floor.set(tb.id, tb);
      seen.add(tb.id);
      card(tb);
      (by[tb.status] || by.open).push(tb);
    }
    for (const [id, c] of S.cards) if (!seen.has(id)) { c.li.remove(); S.cards.delete(id); }
    const byLabel = (a, b) => a.label.localeCompare(b.label, locale, { numeric: true });
    const focused = document.activeElement; // moving a card to another group drops its focus
    for (const s of ORDER) {
      const g = groups[s];
      const list = by[s].sort(byLabel);
      g.count.textContent = `(${list.length})`;
      g.section.hidden = !list.length;
      list.forEach((tb, i) => {
        const li = S.cards.get(tb.id).li;
        if (g.ul.children[i] !== li) g.ul.insertBefore(li, g.ul.children[i] || null);
      });
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus();
    $('floor-empty').hidden = tables.length > 0;
    const calls = tables.reduce((n, tb) => n + (tb.open_assistance || 0), 0);
    if (S.role !== 'pos' && calls !== S.assist.length) soon('assist', loadAssistance);
  }

  function openTable(id, btn) {
    const tb = S.floor.get(id);
    if (S.settled.has(id)) unsettle(id);
    if (!tb) return;
    if (!tb.bill) { say(t('noBill', { label: tb.label }), 'info'); return; }
    openBill(tb.bill.id, btn);
  }

  // Re-renders a list of rows without dropping keyboard focus: back to the same button of
  // the same row, else of the row now in its place, else to the section's heading.
  function keepFocus(list, heading, render) {
    const el = document.activeElement;
    const row = list.contains(el) ? el.closest('[data-id]') : null;
    if (!row) return render();
    const at = [...list.children].indexOf(row), which = [...row.querySelectorAll('button')].indexOf(el);
    render();
    const next = list.querySelector(`:scope > [data-id="${CSS.escape(row.dataset.id)}"]`) || list.children[Math.min(at, list.children.length - 1)];
    const buttons = next ? [...next.querySelectorAll('button:not([disabled])')] : [];
    (buttons[which] || buttons[0] || $(heading)).focus();
  }

  // assistance
  // Guests' ratings, newest first; 2 stars or fewer are flagged.
  async function loadFeedback() {
    if (!S.venue || S.role === 'pos') return;
    try {
      const { data } = await api('GET', venuePath('feedback') + '?limit=20');
      const list = data.data || [];
      $('feedback-section').hidden = false;
      $('feedback-empty').hidden = list.length > 0;
      $('feedback').replaceChildren(...list.map((f) => h('li', { class: 'row' + (f.flagged ? ' low' : ''), 'data-testid': 'feedback-item', 'data-rating': f.rating, 'data-flagged': f.flagged },
        h('div', { class: 'grow' },
          h('p', { class: 'title' }, h('span', { text: tableName(f.table_label) }), ' · ', h('strong', { text: t('stars', { n: f.rating }) }),
            f.flagged ? h('span', { class: 'flag', text: t('flagged') }) : null),
          f.comment ? h('p', { text: f.comment }) : null,
          h('p', { class: 'muted small' }, f.server ? f.server.name + ' · ' : '',
            h('time', { datetime: f.created_at, 'data-ago': '', text: ago(f.created_at) }))))));
    } catch (e) { report(e); }
  }

  async function loadAssistance() {
    if (!S.venue || S.role === 'pos') return;
    try {
      const { data } = await api('GET', venuePath('assistance'));
      S.assist = data.data || [];
      // Unchanged lists are left alone, so a focused button keeps its focus.
      const sig = JSON.stringify(S.assist);
      if (sig !== S.assistSig) { S.assistSig = sig; renderAssistance(); }
    } catch (e) { report(e); }
  }
  function renderAssistance() {
    const open = new Set(S.assist.map((a) => a.id));
    for (const box of document.querySelectorAll('.alert.assist')) if (!open.has(box.dataset.id)) box.remove();
    $('assist-empty').hidden = S.assist.length > 0;
    keepFocus($('assistance'), 'assist-h', () => $('assistance').replaceChildren(...S.assist.map((a) => h('li', { class: 'row', 'data-testid': 'assistance', 'data-id': a.id },
      h('div', { class: 'grow' },
        h('p', { class: 'title', text: tableName(a.table_label) }),
        h('p', { text: a.reason || t('noReason'), class: a.reason ? '' : 'muted' }),
        h('p', { class: 'muted small' }, h('time', { datetime: a.created_at, 'data-ago': '', text: ago(a.created_at) }))),
      h('button', { type: 'button', text: t('resolve'), onclick: (e) => resolve(a, e.currentTarget) })))));
  }
  // Busy buttons are marked, not disabled: disabling would drop the keyboard focus.
  async function resolve(a, button) {
    if (button.getAttribute('aria-busy')) return;
    button.setAttribute('aria-busy', 'true');
    try {
      await api('POST', `/v1/assistance/${encodeURIComponent(a.id)}/resolve`);
      say(t('resolved', { label: a.table_label }), 'ok');
      soon('floor', loadFloor);
      await loadAssistance();
    } catch (e) { report(e); }
    button.removeAttribute('aria-busy');
  }

  // approvals (managers)
  async function loadApprovals() {
    if (!S.venue || S.role !== 'manager') return;
    try {
      const { data } = await api('GET', venuePath('approvals'));
      const sig = JSON.stringify(data);
      if (sig !== S.approvalsSig) { S.approvalsSig = sig; S.approvals = data; renderApprovals(); }
    } catch (e) { report(e); }
  }
  function billLabel(billId) {
    for (const tb of S.floor.values()) if (tb.bill && tb.bill.id === billId) return tableName(tb.label);
    return '';
  }
  function renderApprovals() {
    const a = S.approvals || {};
    const rows = [
      ...(a.adjustments || []).map((x) => ({ ...x, kind: 'adjustment', label: t('kind_' + x.type) + ' · ' + (x.item_id ? t('oneItem') : t('wholeBill')) })),
      ...(a.refunds || []).map((x) => ({ ...x, kind: 'refund', label: t('kind_refund') })),
    ].sort((x, y) => String(x.created_at).localeCompare(String(y.created_at)));
    const me = S.me.staff ? S.me.staff.id : S.me.key_id;
    $('approvals-empty').hidden = rows.length > 0;
    keepFocus($('approvals'), 'approvals-h', () => $('approvals').replaceChildren(...rows.map((x) => {
      const where = billLabel(x.bill_id);
      const who = x.created_by || {};
      return h('li', { class: 'row', 'data-testid': 'approval', 'data-kind': x.kind, 'data-id': x.id },
        h('div', { class: 'grow' },
          h('p', { class: 'title' }, h('span', { text: x.label }), ' ', h('strong', { class: 'num', text: fmt(x.amount) }), where ? ` · ${where}` : ''),
          h('p', { text: x.reason }),
          h('p', { class: 'muted small', text: t('requestedBy', { name: who.name, role: t('role_' + who.role), ago: '' }) }, h('time', { datetime: x.created_at, 'data-ago': '', text: ago(x.created_at) })),
          who.id === me ? h('p', { class: 'muted small', text: t('yours') }) : null),
        // Another manager decides on one's own request: no buttons that can only fail.
        who.id === me ? null : h('div', { class: 'actions' },
          h('button', { type: 'button', text: t('approve'), onclick: (e) => decide(x, 'approve', e.currentTarget) }),
          h('button', { type: 'button', class: 'secondary', text: t('reject'), onclick: (e) => decide(x, 'reject', e.currentTarget) })));
    })));
  }
  async function decide(x, verb, button) {
    if (button.getAttribute('aria-busy')) return;
    button.setAttribute('aria-busy', 'true');
    try {
      await api('POST', `/v1/${x.kind === 'refund' ? 'refunds' : 'adjustments'}/${encodeURIComponent(x.id)}/${verb}`);
      say(t(verb === 'approve' ? 'approved' : 'rejected'), 'ok');
      soon('floor', loadFloor);
      if (S.billId === x.bill_id) loadBill(x.bill_id);
    } catch (e) { report(e); }
    button.removeAttribute('aria-busy');
    loadApprovals();
  }

  // webhook deliveries (managers)
  // The manager's day: sales, tips and refunds of the venue's local day, per server and provider.
  async function loadReport() {
    if (!S.venue || S.role !== 'manager') return;
    const input = $('report-date');
    // Today where the venue is, not where this screen is.
    if (!input.value) {
      try { input.value = new Intl.DateTimeFormat('en-CA', { timeZone: S.venue.timezone || 'UTC' }).format(new Date()); } catch { input.value = new Date().toISOString().slice(0, 10); }
    }
    try {
      const { data: r } = await api('GET', venuePath('reports/daily') + '?date=' + encodeURIComponent(input.value));
      const row = (name, f) => h('tr', null, h('th', { scope: 'row', text: name }), h('td', { class: 'num', text: String(f.payments) }),
        h('td', { class: 'num', text: fmt(f.sales) }), h('td', { class: 'num', text: fmt(f.tips) }), h('td', { class: 'num', text: fmt(f.refunds) }));
      const table = (caption, rows) => h('table', { class: 'figures' }, h('caption', { text: caption }),
        h('thead', null, h('tr', null, ...['', t('payments'), t('sales'), t('tips'), t('refunds')].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', null, ...rows));
      $('report').replaceChildren(
        table(t('reportDay', { date: r.date, zone: r.timezone }), [row(t('allDay'), r.totals)]),
        table(t('byServer'), r.by_server.map((s) => row(s.server ? s.server.name : t('noServer'), s))),
        table(t('byProvider'), r.by_provider.map((p) => row(p.provider, p))));
    } catch (e) { report(e); }
  }
  // An audit action in words ("refund.rejected" → "Refund rejected"), the code when unknown.
  const actionName = (action) => {
    const key = 'action_' + action.replace(/\./g, '_');
    return I18N.en[key] ? t(key) : action;
  };
  // Who did what: comps, refunds, approvals, staff changes and forced closes, newest first.
  async function loadAudit(reset) {
    if (!S.venue || S.role !== 'manager') return;
    if (reset) { S.auditCursor = null; $('audit').replaceChildren(); }
    try {
      const { data } = await api('GET', venuePath('audit-log') + '?limit=20' + (S.auditCursor ? '&cursor=' + encodeURIComponent(S.auditCursor) : ''));
      S.auditCursor = data.next_cursor || null;
      $('audit').append(...(data.data || []).map((e) => h('li', { class: 'row', 'data-testid': 'audit-entry', 'data-action': e.action },
        h('div', { class: 'grow' },
          h('p', { class: 'title' }, h('span', { text: actionName(e.action) }), e.amount != null ? h('strong', { class: 'num', text: ' ' + fmt(e.amount) }) : null),
          e.reason ? h('p', { text: e.reason }) : null,
          h('p', { class: 'muted small' }, [t('by', { name: e.actor.name }), e.approved_by ? t(e.action.endsWith('rejected') ? 'rejectedBy' : 'approvedBy', { name: e.approved_by }) : ''].filter(Boolean).join(' · ') + ' · ',
            h('time', { datetime: e.at, 'data-ago': '', text: ago(e.at) }))))));
      $('audit-empty').hidden = $('audit').children.length > 0;
      $('audit-more').hidden = !S.auditCursor;
    } catch (e) { report(e); }
  }

  async function loadDeliveries(reset) {
    if (!S.venue || S.role !== 'manager') return;
    const status = $('delivery-status').value;
    let url = venuePath('webhook-deliveries?limit=50');
    if (status) url += `&status=${encodeURIComponent(status)}`;
    if (!reset && S.dCursor) url += `&cursor=${encodeURIComponent(S.dCursor)}`;
    try {
      const { data } = await api('GET', url);
      if (reset) $('deliveries').replaceChildren();
      $('deliveries').append(...(data.data || []).map(deliveryRow));
      S.dCursor = data.next_cursor || null;
      $('delivery-more').hidden = !S.dCursor;
      $('deliveries-empty').hidden = $('deliveries').children.length > 0;
    } catch (e) { report(e); }
  }
  function deliveryRow(d) {
    const result = d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error;
    const li = h('li', { class: 'row', 'data-testid': 'delivery', 'data-status': d.status, 'data-id': d.id },
      h('div', { class: 'grow' },
        h('p', { class: 'title' }, h('code', { text: d.event_type }), ' ', h('span', { class: `pill d-${d.status}`, text: t('dstatus_' + d.status) })),
        h('p', { class: 'muted small' }, h('time', { datetime: d.created_at, text: when(d.created_at) }), ' · ', t('attempts', { n: d.attempts }),
          result ? ` · ${t('lastResult', { result })}` : '',
          d.next_attempt_at ? ` · ${t('nextAttempt', { time: at(d.next_attempt_at) })}` : '')),
      h('button', { type: 'button', class: 'secondary', text: t('retry'), onclick: (e) => retry(d, li, e.currentTarget) }));
    return li;
  }
  async function retry(d, li, button) {
    button.disabled = true;
    try {
      const { data } = await api('POST', `/v1/webhook-deliveries/${encodeURIComponent(d.id)}/retry`);
      li.replaceWith(deliveryRow(data));
      say(t('retried'), 'ok');
    } catch (e) { report(e); button.disabled = false; }
  }

  // bill detail
  const dialog = $('bill');
  async function openBill(id, opener) {
    if (S.billId !== id) {
      S.payRows.forEach((r) => r.li.remove());
      S.payRows.clear();
      $('adjust-form').reset();
      idem.delete($('adjust-form'));
      for (const n of ['bill-items', 'bill-totals', 'bill-adjustments']) $(n).replaceChildren();
      $('bill-h').textContent = t('loading');
      $('bill-meta').textContent = '';
    }
    S.billId = id;
    S.opener = opener;
    if (!dialog.open) dialog.show();
    document.body.classList.add('has-bill');
    covering();
    $('bill-h').focus();
    await loadBill(id);
    adjustMode();
  }
  // On a phone the panel covers the floor: keep keyboard and screen reader out of what is hidden.
  const narrow = matchMedia('(max-width: 36rem)');
  function covering() { document.querySelector('main').inert = dialog.open && narrow.matches; }
  narrow.addEventListener('change', covering);
  function closeBill(refocus = true) {
    if (dialog.open) dialog.close();
    document.body.classList.remove('has-bill');
    covering();
    S.billId = null;
    S.bill = null;
    if (refocus && S.opener && S.opener.isConnected) S.opener.focus();
  }
  async function loadBill(id) {
    try {
      const { data } = await api('GET', `/v1/bills/${encodeURIComponent(id)}`);
      if (S.billId !== id) return;
      S.bill = data;
      renderBill(data);
    } catch (e) { if (S.billId === id) report(e); }
  }

  function renderBill(b) {
    const tot = b.totals || {};
    const itemName = new Map(b.items.map((i) => [i.id, i.name]));
    $('bill-h').textContent = tableName(b.table_label);
    $('bill-meta').textContent = [t('billStatus_' + b.status), b.server ? t('serverName', { name: b.server.name }) : '', t('openedAt', { time: at(b.opened_at) })].filter(Boolean).join(' · ');
    $('bill-items').replaceChildren(...b.items.map((i) => h('tr', { class: i.status === 'void' ? 'void' : '' },
      h('td', null, `${i.quantity} × ${i.name}`, i.status === 'void' ? ` (${t('void')})` : ''),
      h('td', { class: 'num', text: fmt(i.amount) }),
      h('td', { class: 'num', text: fmt(i.paid_amount) }),
      h('td', { class: 'num', text: fmt(i.held_amount) }))));
    const rows = [
      ['subtotal', tot.subtotal], ['discounts', tot.discounts ? -tot.discounts : 0, !tot.discounts],
      [S.venue.tax_mode === 'inclusive' ? 'taxIncluded' : 'tax', tot.tax], ['serviceCharge', tot.service_charge, !tot.service_charge],
      ['total', tot.total, false, 'strong'], ['paid', tot.paid], ['pending', tot.pending, !tot.pending],
      ['remaining', tot.remaining, false, 'strong'], ['tips', tot.tips, !tot.tips],
    ];
    $('bill-totals').replaceChildren(...rows.filter((r) => !r[2]).map(([k, v, , cls]) =>
      h('div', { class: cls || '' }, h('dt', { text: t(k) }), h('dd', { class: 'num', text: fmt(v) }))));
    $('bill-adjustments').replaceChildren(...(b.adjustments.length ? b.adjustments.map((a) => h('li', { class: 'row', 'data-testid': 'adjustment', 'data-status': a.status, 'data-id': a.id },
      h('div', { class: 'grow' },
        h('p', { class: 'title' }, `${t('kind_' + a.type)} · ${a.item_id ? itemName.get(a.item_id) || t('oneItem') : t('wholeBill')} · `,
          h('strong', { class: 'num', text: `−${fmt(a.amount)}` }), a.percent_bps ? ` (${pct.format(a.percent_bps / 10000)})` : ''),
        h('p', { class: 'muted small', text: [a.reason, t('by', { name: a.created_by.name }), a.approved_by ? t(a.status === 'rejected' ? 'rejectedBy' : 'approvedBy', { name: a.approved_by.name }) : ''].filter(Boolean).join(' · ') })),
      h('span', { class: `pill a-${a.status}`, text: t('adjStatus_' + a.status) })))
      : [h('li', { class: 'muted', text: t('none') })]));

    // The adjustment form stays as typed; only its choices and limits follow the bill.
    const sel = $('adjust-item');
    const keep = sel.value;
    sel.replaceChildren(h('option', { value: '', text: t('wholeBill') }),
      ...b.items.filter((i) => i.status === 'active').map((i) => h('option', { value: i.id, text: `${i.quantity} × ${i.name} — ${fmt(i.amount)}` })));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
    const staff = S.role === 'server' || S.role === 'manager';
    const open = b.status === 'open';
    $('adjust-section').hidden = !staff;
    $('adjust-fields').disabled = !open;
    $('adjust-form').hidden = !open;
    $('adjust-closed').hidden = open;
    $('adjust-closed').textContent = t('notOpen', { status: t('billStatus_' + b.status).toLowerCase() });
    const limits = S.venue.limits || {};
    if (S.role === 'server') {
      const mine = S.me.staff ? S.me.staff.id : S.me.key_id;
      const used = b.adjustments.filter((a) => a.status === 'applied' && a.created_by.id === mine).reduce((n, a) => n + a.amount, 0);
      $('adjust-limit').textContent = t('compLimit', { amount: fmt(limits.server_comp_limit), left: fmt(Math.max(0, limits.server_comp_limit - used)) });
      $('refund-limit').textContent = t('refundLimit', { amount: fmt(limits.server_refund_limit) });
    } else {
      $('adjust-limit').textContent = t('noLimit');
      $('refund-limit').textContent = staff ? t('noLimit') : t('posReadOnly');
    }
    renderPayments(b, staff);
    renderTenders(b, open);
    renderTableActions(b, open);
  }

  // Move the party, merge another table's bill into this one, close the table: the choices
  // come from the floor (free tables; other open bills).
  function renderTableActions(b, open) {
    const seated = open || b.status === 'paid';
    $('table-section').hidden = !seated;
    if (!seated) return;
    const byLabel = (x, y) => x.label.localeCompare(y.label, locale, { numeric: true });
    const options = (sel, list, ofBill) => {
      const keep = sel.value;
      sel.replaceChildren(...list.sort(byLabel).map((tb) => h('option', { value: ofBill ? tb.bill.id : tb.id, text: tb.label })));
      if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
      sel.disabled = !list.length;
    };
    const tables = [...S.floor.values()];
    options($('move-to'), tables.filter((tb) => tb.status === 'free'), false);
    options($('merge-from'), open ? tables.filter((tb) => tb.bill && tb.bill.id !== b.id && tb.status !== 'paid') : [], true);
    $('move').disabled = $('move-to').disabled;
    $('merge').disabled = $('merge-from').disabled;
    // A server closes a paid table; a manager any, with a reason; the POS a paid one.
    $('close-table').hidden = !(b.status === 'paid' || S.role === 'manager');
  }

  async function tableAction(button, path, body, done) {
    const b = S.bill;
    if (!b) return;
    button.disabled = true;
    try {
      await api('POST', `/v1/bills/${encodeURIComponent(b.id)}/${path}`, body);
      say(done, 'ok');
      soon('floor', loadFloor);
      if (S.billId === b.id) await loadBill(b.id);
    } catch (e) { report(e); } finally { button.disabled = false; }
  }
  $('move').addEventListener('click', (e) => {
    const to = S.floor.get($('move-to').value);
    if (to) tableAction(e.currentTarget, 'move', { table_id: to.id }, t('moved', { label: to.label }));
  });
  $('merge').addEventListener('click', (e) => {
    const from = [...S.floor.values()].find((tb) => tb.bill && tb.bill.id === $('merge-from').value);
    if (from) tableAction(e.currentTarget, 'merge', { bill_id: from.bill.id }, t('merged', { label: from.label }));
  });
  $('close-table').addEventListener('click', (e) => {
    const b = S.bill;
    if (!b) return;
    let body = {};
    if (b.status === 'open') {
      const reason = prompt(t('closeReason'));
      if (!reason || !reason.trim()) return;
      body = { reason: reason.trim() };
    }
    tableAction(e.currentTarget, 'close', body, t('tableClosed', { label: b.table_label }));
  });

  // Money taken outside tablepay: listed with who recorded it; recorded in two taps (the
  // amount starts as what is left); voided by the POS or a manager while the bill is open.
  function renderTenders(b, open) {
    const voids = open && (S.role === 'pos' || S.role === 'manager');
    $('bill-tenders').replaceChildren(...(b.tenders.length ? b.tenders.map((x) => h('li', { class: 'row', 'data-testid': 'tender', 'data-status': x.status, 'data-id': x.id },
      h('div', { class: 'grow' },
        h('p', { class: 'title' }, `${t('tender_' + x.type)} · `, h('strong', { class: 'num', text: fmt(x.amount) }), x.tip_amount ? ` + ${t('tips').toLowerCase()} ${fmt(x.tip_amount)}` : ''),
        h('p', { class: 'muted small', text: [x.reference, t('by', { name: x.recorded_by.name }), x.status === 'void' ? t('void') : ''].filter(Boolean).join(' · ') })),
      voids && x.status === 'recorded' ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'tender-void', text: t('voidTender'), onclick: (e) => voidTender(x, e.currentTarget) }) : ''))
      : [h('li', { class: 'muted', text: t('none') })]));
    $('tender-section').hidden = !open;
    const left = b.totals.remaining;
    if (S.tenderFor !== b.id + ':' + left) { S.tenderFor = b.id + ':' + left; $('tender-amount').value = left > 0 ? toDec(left) : ''; }
  }

  async function voidTender(x, button) {
    const reason = prompt(t('voidReason'));
    if (!reason || !reason.trim()) return;
    button.disabled = true;
    try {
      await api('POST', `/v1/tenders/${encodeURIComponent(x.id)}/void`, { reason: reason.trim() });
      say(t('tenderVoided'), 'ok');
      soon('floor', loadFloor);
      if (S.billId) await loadBill(S.billId);
    } catch (e) { report(e); } finally { button.disabled = false; }
  }

  $('tender-form').addEventListener('input', () => idem.delete($('tender-form')));
  $('tender-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const b = S.bill;
    if (!b) return;
    const amount = parseDec($('tender-amount').value.trim(), S.exp);
    if (!amount) { say(t('invalidAmount', { example: toDec(1250) }), 'error'); $('tender-amount').focus(); return; }
    const res = await send($('tender-form'), `/v1/bills/${encodeURIComponent(b.id)}/tenders`, { type: $('tender-type').value, amount });
    if (!res) return;
    say(t('tenderRecorded', { amount: fmt(amount) }), 'ok');
    S.tenderFor = null;
    soon('floor', loadFloor);
    if (S.billId === b.id) await loadBill(b.id);
  });

  function renderPayments(b, staff) {
    const list = $('bill-payments');
    const seen = new Set();
    $('bill-nopay').hidden = b.payments.length > 0;
    b.payments.forEach((p, i) => {
      seen.add(p.id);
      let r = S.payRows.get(p.id);
      if (!r) {
        r = { li: h('li', { class: 'pay', 'data-id': p.id }), info: h('div', { class: 'pay-info' }), form: null };
        r.li.append(r.info);
        S.payRows.set(p.id, r);
      }
      if (list.children[i] !== r.li) list.insertBefore(r.li, list.children[i] || null);
      r.info.replaceChildren(
        h('p', { class: 'title' }, h('strong', { class: 'num', text: fmt(p.amount) }),
          p.tip_amount ? ` + ${t('tip', { amount: fmt(p.tip_amount) })}` : '',
          h('span', { class: `pill p-${p.status}`, text: t('pstatus_' + p.status) })),
        h('p', { class: 'muted small', text: [t('split_' + p.split_type), at(p.created_at)].filter(Boolean).join(' · ') }));
      r.li.dataset.status = p.status;
      const refundable = staff && (p.status === 'succeeded' || p.status === 'partially_refunded');
      if (refundable && !r.form) {
        r.form = refundForm(p);
        r.li.append(r.form);
      } else if (!refundable && r.form) {
        r.form.remove();
        r.form = null;
      }
      if (r.form) r.form.payment = p;
    });
    for (const [id, r] of S.payRows) if (!seen.has(id)) { r.li.remove(); S.payRows.delete(id); }
  }

  let formSeq = 0;
  function refundForm(p) {
    const n = ++formSeq;
    const amount = h('input', { id: `ra-${n}`, name: 'amount', inputmode: 'decimal', autocomplete: 'off', placeholder: t('refundAllLeft') });
    const reason = h('input', { id: `rr-${n}`, name: 'reason', maxlength: 500, required: true, autocomplete: 'off' });
    const form = h('form', { class: 'refund', 'data-testid': 'refund-form', 'data-payment-id': p.id, novalidate: true },
      h('p', null, h('label', { for: amount.id, text: t('refundAmount', { currency: S.venue.currency }) }), amount),
      h('p', null, h('label', { for: reason.id, text: t('reason') }), reason),
      h('button', { type: 'submit', class: 'danger', text: t('refund') }));
    const fill = () => { amount.value = form.payment.status === 'succeeded' ? toDec(form.payment.amount + form.payment.tip_amount) : ''; };
    form.payment = p;
    fill();
    form.addEventListener('input', () => idem.delete(form));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { reason: reason.value.trim() };
      if (!body.reason) { say(t('reasonRequired'), 'error'); reason.focus(); return; }
      if (amount.value.trim()) {
        body.amount = parseDec(amount.value, S.exp);
        if (!body.amount) { say(t('invalidAmount', { example: toDec(1250) }), 'error'); amount.focus(); return; }
      }
      const res = await send(form, `/v1/payments/${encodeURIComponent(form.payment.id)}/refunds`, body);
      if (!res) return;
      say(res.status === 202 ? t('sentForApproval') : t('refundDone'), res.status === 202 ? 'info' : 'ok');
      reason.value = '';
      if (S.bill) await loadBill(S.bill.id);
      if (form.isConnected) fill();
      if (S.role === 'manager') soon('approvals', loadApprovals);
    });
    return form;
  }

  function adjustMode() {
    const comp = $('adjust-type').value === 'comp';
    $('adjust-amount').disabled = comp;
    $('adjust-percent').disabled = comp;
    if (comp) { $('adjust-amount').value = ''; $('adjust-percent').value = ''; }
    $('adjust-hint').textContent = comp ? t('compHint') : t('discountHint');
  }

  $('adjust-form').addEventListener('input', (e) => {
    idem.delete($('adjust-form'));
    if (e.target.id === 'adjust-type') adjustMode();
  });
  $('adjust-type').addEventListener('change', adjustMode);
  $('adjust-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const b = S.bill;
    if (!b) return;
    const fail = (text, field) => { say(text, 'error'); field.focus(); };
    const body = { type: $('adjust-type').value, reason: $('adjust-reason').value.trim() };
    if ($('adjust-item').value) body.item_id = $('adjust-item').value;
    if (body.type === 'discount') {
      const amount = $('adjust-amount').value.trim();
      const percent = $('adjust-percent').value.trim();
      if (amount && percent) return fail(t('amountOrPercent'), $('adjust-amount'));
      if (!amount && !percent) return fail(t('needAmount'), $('adjust-amount'));
      if (amount) {
        body.amount = parseDec(amount, S.exp);
        if (!body.amount) return fail(t('invalidAmount', { example: toDec(1250) }), $('adjust-amount'));
      } else {
        body.percent_bps = parseDec(percent, 2);
        if (!body.percent_bps || body.percent_bps > 10000) return fail(t('invalidPercent'), $('adjust-percent'));
      }
    }
    if (!body.reason) return fail(t('reasonRequired'), $('adjust-reason'));
    const res = await send($('adjust-form'), `/v1/bills/${encodeURIComponent(b.id)}/adjustments`, body);
    if (!res) return;
    const pending = res.status === 202 || (res.data && res.data.status === 'pending_approval');
    say(pending ? t('sentForApproval') : t('applied'), pending ? 'info' : 'ok');
    for (const f of ['adjust-amount', 'adjust-percent', 'adjust-reason']) $(f).value = '';
    soon('floor', loadFloor);
    if (S.role === 'manager') soon('approvals', loadApprovals);
    if (S.billId === b.id) await loadBill(b.id);
  });

  // wiring
  document.documentElement.lang = lang;
  document.title = t('appTitle');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  adjustMode();

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('staff-key').value.trim();
    if (!key) { say(t('keyRequired'), 'error'); $('staff-key').focus(); return; }
    const button = $('signin-form').querySelector('button');
    button.disabled = true;
    try { await signIn(key); } finally { button.disabled = false; }
  });
  $('sign-out').addEventListener('click', () => signOut(t('signedOut')));
  $('toast-close').addEventListener('click', hideToast);
  $('bill-close').addEventListener('click', () => closeBill());
  dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); closeBill(); } });
  dialog.addEventListener('close', () => { if (S.billId) closeBill(false); });
  $('delivery-status').addEventListener('change', () => loadDeliveries(true));
  $('report-date').addEventListener('change', loadReport);
  $('audit-refresh').addEventListener('click', () => loadAudit(true));
  $('audit-more').addEventListener('click', () => loadAudit(false));
  $('delivery-refresh').addEventListener('click', () => loadDeliveries(true));
  $('delivery-more').addEventListener('click', () => loadDeliveries(false));
  setInterval(() => { for (const el of document.querySelectorAll('time[data-ago]')) el.textContent = ago(el.dateTime); }, 30000);
  const head = () => document.documentElement.style.setProperty('--head', `${document.querySelector('.top').offsetHeight}px`);
  addEventListener('resize', head);
  head();

  const saved = sessionStorage.getItem(SESSION);
  if (saved) signIn(saved, true);
  else $('staff-key').focus();
})();
