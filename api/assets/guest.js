// tablepay guest page: the bill of the table behind the QR code, split, tip, pay, receipt.
// Plain script, no build step; every string comes from /assets/i18n/guest.js.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const I18N = window.TABLEPAY_I18N || { en: {} };
  const params = new URLSearchParams(location.search);
  const langParam = (params.get('lang') || '').trim();

  // ---- language and locale -------------------------------------------------------------
  const lang = (() => {
    for (const c of [langParam, ...(navigator.languages || []), navigator.language || '']) {
      const p = String(c || '').toLowerCase().split('-')[0];
      if (p && I18N[p]) return p;
    }
    return 'en';
  })();
  const locale = (() => {
    for (const c of [langParam && I18N[langParam.toLowerCase().split('-')[0]] ? langParam : '', navigator.language, lang]) {
      try { if (c && Intl.NumberFormat.supportedLocalesOf([c]).length) return c; } catch (e) { /* not a locale */ }
    }
    return lang;
  })();
  const S = I18N[lang] || {};
  const plural = new Intl.PluralRules(locale);
  function t(key, vars) {
    let s;
    if (vars && typeof vars.n === 'number' && S[key + '_other']) s = S[key + '_' + plural.select(vars.n)] || S[key + '_other'];
    s = s || S[key] || (I18N.en && I18N.en[key]) || key;
    return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
  }

  // ---- money: integers in minor units, ISO 4217 exponents (the server's table) -----------
  // Intl's digits are CLDR's, which differ from ISO for some codes (HUF, IDR, IQD, COP...):
  // the API's minor units follow ISO, so the exponent must too.
  const EXP = {};
  'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').forEach((c) => { EXP[c] = 0; });
  'BHD IQD JOD KWD LYD OMR TND'.split(' ').forEach((c) => { EXP[c] = 3; });
  EXP.CLF = 4; EXP.UYW = 4;
  let cur = '', exp = 2, nf = null, decSep = '.';
  function setCurrency(c) {
    if (c === cur) return;
    cur = c;
    exp = c in EXP ? EXP[c] : 2;
    try {
      nf = new Intl.NumberFormat(locale, { style: 'currency', currency: c, minimumFractionDigits: exp, maximumFractionDigits: exp });
      decSep = (new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal') || {}).value || '.';
    } catch (e) { nf = null; }
  }
  function decimal(minor) {
    let s = String(Math.abs(minor));
    if (exp > 0) { s = s.padStart(exp + 1, '0'); s = s.slice(0, -exp) + '.' + s.slice(-exp); }
    return (minor < 0 ? '-' : '') + s;
  }
  const money = (minor) => (nf ? nf.format(Number(decimal(minor))) : decimal(minor) + ' ' + cur);
  const pct = (bps) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(bps / 10000);
  // value × num / den, rounded half up, as the server rounds tips and parts of a line.
  const halfUp = (value, num, den) => Number((2n * BigInt(value) * BigInt(num) + BigInt(den)) / (2n * BigInt(den)));
  // "12,50" or "12.5" → 1250 for EUR, by string construction (no float multiplication).
  function parseMinor(text) {
    const s = String(text).replace(/[\s\u00a0\u202f']/g, '');
    if (!s) return { empty: true, value: 0 };
    const m = /^(\d{0,11})(?:[.,](\d{0,8}))?$/.exec(s);
    const example = exp ? '12' + decSep + '5'.padEnd(exp, '0') : '12';
    if (!m || !(m[1] + (m[2] || ''))) return { error: t('am_bad', { example }) };
    const frac = m[2] || '';
    if (/[1-9]/.test(frac.slice(exp))) return { error: exp ? t('am_dec', { cur, n: exp }) : t('am_bad', { example }) };
    return { value: Number((m[1] || '0') + frac.slice(0, exp).padEnd(exp, '0')) };
  }

  // ---- small DOM helpers ---------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat()) if (c != null && c !== false) e.append(c);
    return e;
  }
  // Text is replaced only when it changes: replacing the text node under the reader's eyes
  // makes Chrome's scroll anchoring jump (and the tap that caused it can miss its button).
  const setText = (e, s) => { if (e.textContent !== s) e.textContent = s; };
  const text = (id, s) => setText($(id), s);
  const showEl = (id, on) => { $(id).hidden = !on; };
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  // ---- messages (one polite live region in the sticky footer) ----------------------------
  let msgTimer = 0, msgKind = '', msgAt = 0;
  function say(s, kind = 'info') {
    if (kind === 'info' && msgKind === 'error' && Date.now() - msgAt < 10000) return;
    const m = $('message');
    m.textContent = s; m.dataset.kind = kind;
    msgKind = kind; msgAt = Date.now();
    clearTimeout(msgTimer);
    msgTimer = setTimeout(() => { m.textContent = ''; msgKind = ''; }, kind === 'error' ? 30000 : 10000);
  }

  // ---- API ------------------------------------------------------------------------------
  const token = decodeURIComponent((location.pathname.match(/\/t\/([^/]+)/) || [])[1] || '');
  const base = '/v1/t/' + encodeURIComponent(token);
  async function api(method, url, body, headers) {
    let res;
    try {
      res = await fetch(url, {
        method,
        cache: 'no-store',
        credentials: 'same-origin',
        headers: Object.assign({ Accept: 'application/json' }, body === undefined ? {} : { 'Content-Type': 'application/json' }, headers),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) { throw { network: true }; }
    let data = null;
    try { data = JSON.parse(await res.text()); } catch (e) { data = null; }
    if (!res.ok) {
      const d = data || {};
      throw { status: res.status, code: d.code || '', detail: typeof d.detail === 'string' ? d.detail : '', retry: parseInt(res.headers.get('Retry-After'), 10) || 0 };
    }
    return data;
  }
  // Whether the same request may be sent again with the same Idempotency-Key.
  const retryable = (e) => e.network || e.status >= 500 || e.status === 429 || e.code === 'idempotency_key_in_use';
  function errorText(e) {
    if (e.network) return t('offline');
    if (e.status === 429) return t('rate', { n: e.retry || 10 });
    if (e.code === 'items_unavailable' || e.code === 'amount_exceeds_remaining') return t('taken');
    if (e.code === 'bill_not_open') return t('not_open');
    if (e.code === 'idempotency_key_in_use') return t('busy');
    if (e.detail && e.status < 500) { const d = e.detail.trim(); return d.charAt(0).toUpperCase() + d.slice(1) + (/[.!?]$/.test(d) ? '' : '.'); }
    return t('error');
  }
  function fail(e) {
    say(errorText(e), 'error');
    if (['items_unavailable', 'amount_exceeds_remaining', 'bill_not_open', 'conflict'].includes(e.code) || e.status === 404) refresh();
  }
  async function busy(btn, fn) {
    if (btn.getAttribute('aria-busy') === 'true') return;
    btn.setAttribute('aria-busy', 'true'); btn.disabled = true;
    try { await fn(); } finally { btn.removeAttribute('aria-busy'); btn.disabled = false; syncButtons(); }
  }

  // ---- state ----------------------------------------------------------------------------
  const st = {
    view: 'loading', guest: null, bill: null, billJson: '', billSig: '', sawPaid: false,
    mode: 'remaining', eqParts: 2, eqCount: 1, eqSeen: false, sel: new Map(), amountText: '',
    tip: { bps: 0, custom: false, text: '' }, tipSig: '',
    attempt: null, pay: null, receiptFor: '', fbKey: null,
  };
  const STATE = { loading: 'loading', error: 'error', empty: 'bill', bill: 'bill', settled: 'settled', paying: 'paying', receipt: 'receipt' };
  const VIEWS = {
    loading: ['v-loading'], error: ['v-error'], empty: ['v-empty'], bill: ['v-bill', 'v-split', 'v-summary'],
    settled: ['v-settled', 'v-bill'], paying: ['v-summary'], receipt: ['v-receipt'],
  };
  function show(view, focusId) {
    const changed = st.view !== view;
    st.view = view;
    document.body.dataset.state = STATE[view];
    const on = new Set(VIEWS[view]);
    for (const id of ['v-loading', 'v-error', 'v-empty', 'v-settled', 'v-bill', 'v-split', 'v-summary', 'v-receipt']) showEl(id, on.has(id));
    const paying = view === 'paying';
    showEl('v-paying', paying); showEl('pay', !paying); showEl('pay-note', !paying);
    text('summary-h', t(paying ? 'paying_h' : 'you_pay'));
    if (view === 'bill') renderSplit();
    if (changed && focusId) { window.scrollTo(0, 0); $(focusId).focus({ preventScroll: true }); }
  }
  function restingView() {
    const b = st.bill;
    if (!b) return st.sawPaid ? 'settled' : 'empty';
    return b.status === 'paid' ? 'settled' : 'bill';
  }

  // ---- loading the bill, polling every 3 s while visible ---------------------------------
  let pollTimer = 0, fetching = null, backoff = 0, stopped = false;
  function refresh() {
    if (stopped) return Promise.resolve();
    if (!fetching) {
      fetching = api('GET', base).then((g) => { backoff = 0; applyGuest(g); }, (e) => {
        if (e.status === 404) { stopped = true; fatal(true); } else if (e.status === 429) {
          backoff = (e.retry || 10) * 1000;
          if (st.view === 'loading' || st.view === 'error') fatal(false, errorText(e)); else say(errorText(e), 'error');
        } else if (st.view === 'loading' || st.view === 'error') fatal(false);
      }).finally(() => { fetching = null; });
    }
    return fetching;
  }
  function schedule() {
    clearTimeout(pollTimer);
    if (stopped || document.visibilityState !== 'visible') return;
    pollTimer = setTimeout(() => refresh().then(schedule), backoff || 3000);
  }
  document.addEventListener('visibilitychange', () => {
    clearTimeout(pollTimer);
    if (document.visibilityState === 'visible') refresh().then(schedule);
  });
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) refresh().then(schedule); });

  function fatal(badToken, detail) {
    text('error-h', t(badToken ? 'err_token_h' : 'err_load_h'));
    text('error-p', badToken ? t('err_token') : detail || t('err_load'));
    showEl('retry', !badToken);
    if (badToken) { text('venue', ''); text('table', t('doc_title')); }
    show('error', 'error-h');
  }

  const tableName = (label) => (/^\d+[a-z]?$/i.test(label) ? t('table', { label }) : label);
  function applyGuest(g) {
    st.guest = g;
    setCurrency((g.bill && g.bill.currency) || g.venue.currency);
    text('venue', g.venue.name);
    text('table', tableName(g.table.label));
    document.title = g.venue.name + ' · ' + t('doc_title');
    renderTipOptions();
    const b = g.bill || null;
    const json = JSON.stringify(b);
    const prev = st.bill;
    if (json !== st.billJson) {
      st.bill = b; st.billJson = json;
      if (b && b.status === 'paid') st.sawPaid = true;
      if (b && b.status === 'open') st.sawPaid = false;
      const sig = b ? JSON.stringify([b.id, b.status, b.items, b.adjustments, b.totals]) : '';
      const moved = prev && b && prev.id === b.id && sig !== st.billSig;
      st.billSig = sig;
      renderBill();
      if (st.view === 'bill' || st.view === 'loading') renderSplit();
      if (moved && st.view === 'bill' && b.status === 'open') say(t('updated'));
    }
    if (st.view === 'paying' || st.view === 'receipt') return;
    const next = restingView();
    if (next !== st.view) {
      if (next === 'settled' && st.view === 'bill') say(t('settled_h'), 'ok');
      show(next);
    }
  }

  // ---- the bill -------------------------------------------------------------------------
  function itemState(i) {
    const taken = i.paid_amount + i.held_amount;
    if (i.amount > 0 && taken >= i.amount) return i.held_amount > 0 ? 'held' : 'paid';
    return taken > 0 ? 'partly_paid' : 'payable';
  }
  const badge = (state) => (state === 'payable' ? null : h('span', { class: 'badge ' + state }, t('st_' + state)));
  const nameOf = (i) => [i.quantity > 1 ? h('span', { class: 'qty' }, i.quantity + ' × ') : null, i.name];
  function renderBill() {
    const b = st.bill;
    if (!b) return;
    $('items').replaceChildren(...b.items.filter((i) => i.status === 'active').map((i) => {
      const state = itemState(i);
      return h('li', { 'data-testid': 'item', 'data-item-id': i.id, 'data-state': state, class: 'line ' + state },
        h('span', { class: 'nm' }, nameOf(i), badge(state)), h('span', { class: 'amt' }, money(i.amount)));
    }));
    const names = new Map(b.items.map((i) => [i.id, i.name]));
    $('adjustments').replaceChildren(...(b.adjustments || []).filter((a) => a.status === 'applied').map((a) =>
      h('li', { class: 'line' }, h('span', { class: 'nm' }, t('adj_' + (a.type === 'comp' ? 'comp' : 'discount')),
        a.item_id && names.has(a.item_id) ? h('span', { class: 'sub' }, names.get(a.item_id)) : null),
      h('span', { class: 'amt' }, money(-a.amount)))));
    const T = b.totals;
    const row = (id, v, show) => { showEl(id, show); $(id).querySelector('dd').textContent = money(v); };
    row('t-subtotal', T.subtotal, true);
    row('t-discounts', -T.discounts, T.discounts > 0);
    row('t-service', T.service_charge, T.service_charge > 0);
    const exclusive = T.tax > 0 && T.subtotal - T.discounts + T.service_charge + T.tax === T.total;
    row('t-tax', T.tax, T.tax > 0);
    $('t-tax').classList.toggle('muted', !exclusive);
    $('t-tax').querySelector('dt').textContent = t(exclusive ? 'tax' : 'tax_incl');
    $('totals').querySelector('[data-testid=total]').textContent = money(T.total);
    row('t-paid', T.paid, true);
    row('t-pending', T.pending, T.pending > 0);
    $('totals').querySelector('[data-testid=remaining]').textContent = money(T.remaining);
  }

  // ---- choosing what to pay ---------------------------------------------------------------
  function eqInfo() {
    const b = st.bill, sp = b.split;
    const taken = sp ? (sp.taken_parts != null ? sp.taken_parts : sp.paid_parts || 0) : 0;
    if (sp && !st.eqSeen) { st.eqSeen = true; st.eqParts = clamp(sp.parts, 2, 20); }
    const fixed = sp && taken > 0 ? sp.parts : 0;
    const N = fixed || clamp(st.eqParts, 2, 20);
    const done = fixed ? taken : 0;
    const free = N - done;
    const k = clamp(st.eqCount, 1, Math.max(1, free));
    const total = b.totals.total, q = Math.floor(total / N), r = total % N;
    const share = (idx) => q + (idx < r ? 1 : 0);
    let amount = 0;
    if (free > 0) {
      if (done + k === N) amount = b.totals.remaining;
      else for (let x = done; x < done + k; x++) amount += share(x);
    }
    return { N, k, free, fixed, done, amount, each: share(Math.min(done, N - 1)) };
  }
  function pickables() {
    return st.bill.items.filter((i) => i.status === 'active').map((i) => {
      const left = Math.max(0, i.amount - i.paid_amount - i.held_amount);
      const partial = left < i.amount;
      const maxU = !partial ? i.quantity : i.amount > 0 ? Math.min(i.quantity, Math.floor(((left + 1) * i.quantity) / i.amount)) : 0;
      return { i, state: itemState(i), left, partial, maxU, ok: i.amount > 0 && left > 0 };
    });
  }
  // The claim for one picked item and what it should cost (the server prices it exactly).
  function claim(p, s) {
    const { i } = p;
    if (s.share) return { req: { item_id: i.id, share: { parts: s.share } }, cost: Math.min(p.left, halfUp(i.amount, 1, s.share)) };
    if (!p.partial) {
      const q = clamp(s.q, 1, i.quantity);
      return { req: { item_id: i.id, quantity: q }, cost: q === i.quantity ? i.amount : halfUp(i.amount, q, i.quantity) };
    }
    if (p.maxU < 1 || s.q >= p.maxU) return { req: { item_id: i.id }, cost: p.left };
    return { req: { item_id: i.id, quantity: s.q }, cost: Math.min(p.left, halfUp(i.amount, s.q, i.quantity)) };
  }
  function tipFor(amount) {
    if (st.tip.custom) {
      const p = parseMinor(st.tip.text);
      if (p.error) return { amount: 0, err: p.error };
      return { amount: p.value, body: p.value > 0 ? { amount: p.value } : null };
    }
    if (st.tip.bps > 0) return { amount: halfUp(amount, st.tip.bps, 10000), body: { percent_bps: st.tip.bps } };
    return { amount: 0, body: null };
  }
  function compute() {
    const b = st.bill;
    if (!b || b.status !== 'open') return { ok: false, amount: 0, tip: { amount: 0 } };
    const rem = b.totals.remaining;
    let amount = 0, split = null, err = '';
    if (st.mode === 'equal') {
      const e = eqInfo();
      amount = e.amount; split = { type: 'equal', parts: e.N, count: e.k };
      if (e.free <= 0) err = t('eq_full'); else if (amount > rem) err = t('am_much', { amount: money(rem) });
    } else if (st.mode === 'items') {
      const items = [];
      for (const p of pickables()) {
        const s = st.sel.get(p.i.id);
        if (s && p.ok) { const c = claim(p, s); items.push(c.req); amount += c.cost; }
      }
      split = { type: 'items', items };
    } else if (st.mode === 'amount') {
      const p = parseMinor(st.amountText);
      if (p.error) err = p.error;
      else { amount = p.value; if (amount > rem) err = t('am_much', { amount: money(rem) }); }
      split = { type: 'amount', amount };
    } else {
      amount = rem; split = { type: 'remaining' };
    }
    const tip = tipFor(amount);
    return { ok: !err && !tip.err && amount > 0 && amount <= rem, amount, split, err, tip };
  }

  function renderSplit() {
    const b = st.bill;
    if (!b || b.status !== 'open') return;
    const open = b.totals.remaining > 0;
    showEl('others', !open); showEl('split-body', open);
    if (st.view === 'bill') showEl('v-summary', open);
    for (const r of document.querySelectorAll('input[name=split]')) r.checked = r.value === st.mode;
    for (const m of ['equal', 'items', 'amount']) showEl('p-' + m, st.mode === m);
    // Equal shares.
    const e = eqInfo();
    const parts = $('eq-parts'), count = $('eq-count');
    parts.max = String(Math.max(20, e.N)); parts.readOnly = !!e.fixed;
    if (document.activeElement !== parts) parts.value = String(e.N);
    count.max = String(Math.max(1, e.free));
    if (document.activeElement !== count) count.value = String(e.k);
    for (const btn of document.querySelectorAll('#p-equal .step')) {
      const inp = $(btn.dataset.for), v = Number(inp.value), up = btn.dataset.step === '1';
      btn.disabled = inp.readOnly || (up ? v >= Number(inp.max) : v <= Number(inp.min));
    }
    showEl('eq-fixed', !!e.fixed);
    if (e.fixed) text('eq-fixed', t('eq_fixed', { n: e.N }) + ' ' + t('eq_taken', { n: e.done }));
    text('eq-each', e.free > 0 ? t('eq_each', { amount: money(e.each) }) : t('eq_full'));
    renderPicks();
    // Custom amount.
    text('amount-label', t('am_label', { cur }));
    const c = compute();
    const amountErr = st.mode === 'amount' && c.err && st.amountText.trim() ? c.err : '';
    text('amount-hint', amountErr || t('am_hint', { amount: money(b.totals.remaining) }));
    $('amount').setAttribute('aria-invalid', amountErr ? 'true' : 'false');
    $('amount-hint').classList.toggle('bad', !!amountErr);
    renderTip(c);
    renderSummary(c);
  }

  let picksSig = '';
  function renderPicks() {
    const list = pickables();
    for (const id of [...st.sel.keys()]) {
      const p = list.find((x) => x.i.id === id);
      if (!p || !p.ok) st.sel.delete(id);
      else { const s = st.sel.get(id); s.q = clamp(s.q, 1, Math.max(1, p.partial ? p.maxU : p.i.quantity)); }
    }
    const sig = JSON.stringify([list.map((p) => [p.i.id, p.i.name, p.i.quantity, p.i.amount, p.left, p.state]), [...st.sel].map(([k, v]) => [k, !!v.share]), lang]);
    if (sig !== picksSig) {
      picksSig = sig;
      const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.k : '';
      $('picks').replaceChildren(...list.map(pickRow));
      if (focused) { const f = $('picks').querySelector(`[data-k="${CSS.escape(focused)}"]`); if (f) f.focus(); }
    }
    showEl('picks-none', !list.some((p) => p.ok));
    for (const p of list) {
      const s = st.sel.get(p.i.id), row = $('pk-' + p.i.id).closest('li');
      const cost = row.querySelector('.cost');
      const c = s && p.ok ? claim(p, s).cost : p.left;
      if (cost) setText(cost, c !== p.left ? money(c) : '');
      for (const inp of row.querySelectorAll('input[type=number]')) {
        const v = inp.dataset.k.startsWith('q:') ? s && s.q : s && s.share;
        if (v && document.activeElement !== inp) inp.value = String(v);
      }
      for (const btn of row.querySelectorAll('.step')) {
        const inp = $(btn.dataset.for), v = Number(inp.value);
        btn.disabled = btn.dataset.step === '1' ? v >= Number(inp.max) : v <= Number(inp.min);
      }
    }
  }
  function stepper(id, k, value, min, max, label) {
    return h('div', { class: 'field inline' }, h('label', { for: id }, label),
      h('div', { class: 'stepper' },
        h('button', { type: 'button', class: 'step', 'data-step': '-1', 'data-for': id, 'data-k': k + '-', 'aria-label': t('less', { what: label }) }, '−'),
        h('input', { id, type: 'number', inputmode: 'numeric', min, max, step: 1, value, 'data-k': k }),
        h('button', { type: 'button', class: 'step', 'data-step': '1', 'data-for': id, 'data-k': k + '+', 'aria-label': t('more', { what: label }) }, '+')));
  }
  function pickRow(p) {
    const { i } = p, s = st.sel.get(i.id), id = i.id;
    const box = h('input', { type: 'checkbox', id: 'pk-' + id, 'data-testid': 'pick-item', 'data-item-id': id, 'data-k': 'pick:' + id, checked: !!s, disabled: !p.ok });
    const opts = [];
    if (s) {
      const units = p.partial ? p.maxU : i.quantity;
      if (!s.share && units > 1) opts.push(stepper('q-' + id, 'q:' + id, s.q, 1, units, t('it_qty') + ' (' + i.name + ')'));
      opts.push(h('div', { class: 'check' },
        h('input', { type: 'checkbox', id: 'sh-' + id + '-on', 'data-k': 'share:' + id, class: 'share', checked: !!s.share }),
        h('label', { for: 'sh-' + id + '-on' }, t('it_share'))));
      if (s.share) opts.push(stepper('sh-' + id, 'parts:' + id, s.share, 2, 10, t('it_parts') + ' (' + i.name + ')'));
    }
    return h('li', { class: 'pick ' + p.state + (s ? ' on' : '') },
      h('div', { class: 'pick-main' }, box,
        h('label', { for: 'pk-' + id }, h('span', { class: 'nm' }, nameOf(i), badge(p.state)),
        h('span', { class: 'amt' }, money(p.ok ? p.left : i.amount)))),
      opts.length ? h('div', { class: 'pick-opts' }, opts, h('p', { class: 'cost', 'aria-live': 'off' })) : null);
  }

  // ---- tip --------------------------------------------------------------------------------
  function renderTipOptions() {
    const presets = (st.guest && st.guest.venue.tip_presets_bps) || [];
    const sig = presets.join(',');
    if (sig === st.tipSig && $('tip-options').childElementCount) return;
    st.tipSig = sig;
    const btn = (bps, label) => h('button', { type: 'button', class: 'tip', 'data-testid': 'tip-option', 'data-bps': bps, 'aria-pressed': 'false' },
      h('span', { class: 'tip-l' }, label), h('span', { class: 'tip-a' }));
    $('tip-options').replaceChildren(btn(0, t('tip_none')), ...presets.map((b) => btn(b, pct(b))),
      h('button', { type: 'button', class: 'tip', 'data-testid': 'tip-custom', 'aria-pressed': 'false' }, h('span', { class: 'tip-l' }, t('tip_custom'))));
  }
  function renderTip(c) {
    for (const b of $('tip-options').children) {
      const bps = b.dataset.bps, on = bps == null ? st.tip.custom : !st.tip.custom && Number(bps) === st.tip.bps;
      b.setAttribute('aria-pressed', String(on));
      const a = b.querySelector('.tip-a');
      if (a) setText(a, Number(bps) > 0 && c.amount > 0 ? money(halfUp(c.amount, Number(bps), 10000)) : '');
    }
    showEl('tip-custom-field', st.tip.custom);
    text('tip-amount-label', t('tip_amount', { cur }));
    const err = st.tip.custom && c.tip.err ? c.tip.err : '';
    text('tip-hint', err);
    $('tip-amount').setAttribute('aria-invalid', err ? 'true' : 'false');
  }
  function renderSummary(c) {
    if (st.view === 'paying') return;
    const tip = c.tip.amount || 0;
    text('pay-amount', money(c.amount + tip));
    text('pay-detail', tip > 0 ? t('incl_tip', { amount: money(c.amount), tip: money(tip) }) : '');
    text('pay', t('pay', { amount: money(c.amount + tip) }));
    syncButtons();
  }
  function syncButtons() {
    const pay = $('pay');
    if (pay.getAttribute('aria-busy') !== 'true') pay.disabled = !compute().ok;
  }
  function update() { if (st.view === 'bill') renderSplit(); }

  // Controls of the split card: one set of delegated listeners.
  $('v-split').addEventListener('change', (ev) => {
    const el = ev.target;
    if (el.name === 'split') { st.mode = el.value; update(); return; }
    const k = el.dataset.k || '';
    if (k.startsWith('pick:')) {
      const id = k.slice(5), p = pickables().find((x) => x.i.id === id);
      if (el.checked && p) st.sel.set(id, { q: p.partial ? Math.max(1, p.maxU) : p.i.quantity, share: 0 });
      else st.sel.delete(id);
    } else if (k.startsWith('share:')) {
      const s = st.sel.get(k.slice(6));
      if (s) s.share = el.checked ? 2 : 0;
    }
    numberInput(el, true);
    update();
  });
  $('v-split').addEventListener('input', (ev) => {
    const el = ev.target;
    if (el.type === 'radio' || el.type === 'checkbox') return;
    if (el.id === 'amount') st.amountText = el.value;
    else if (el.id === 'tip-amount') st.tip.text = el.value;
    else numberInput(el, false);
    update();
  });
  // A number input changed: keep the state; clamp only when the guest is done (change).
  function numberInput(el, done) {
    if (el.type !== 'number') return;
    let v = parseInt(el.value, 10);
    if (!Number.isFinite(v)) { if (!done) return; v = Number(el.min); }
    if (done) { v = clamp(v, Number(el.min), Number(el.max)); el.value = String(v); }
    const k = el.dataset.k || el.id;
    if (k === 'eq-parts') { if (!el.readOnly) st.eqParts = v; } else if (k === 'eq-count') st.eqCount = v;
    else {
      const [kind, id] = [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)], s = st.sel.get(id);
      if (s && kind === 'q') s.q = v; else if (s && kind === 'parts') s.share = clamp(v, 2, 10);
    }
  }
  $('v-split').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    if (b.classList.contains('step')) {
      const inp = $(b.dataset.for);
      if (inp.readOnly) return;
      inp.value = String(clamp((parseInt(inp.value, 10) || 0) + Number(b.dataset.step), Number(inp.min), Number(inp.max)));
      numberInput(inp, true);
      update();
    } else if (b.classList.contains('tip')) {
      if (b.dataset.bps == null) { st.tip.custom = true; update(); $('tip-amount').focus(); } else { st.tip.custom = false; st.tip.bps = Number(b.dataset.bps); update(); }
    }
  });

  // ---- paying ---------------------------------------------------------------------------
  const SESSION = 'tablepay:' + token;
  function remember(p) {
    try { if (p) sessionStorage.setItem(SESSION, JSON.stringify(p)); else sessionStorage.removeItem(SESSION); } catch (e) { /* private mode */ }
  }
  async function create(body) {
    const json = JSON.stringify(body);
    if (!st.attempt || st.attempt.json !== json) st.attempt = { json, key: uuid() };
    try {
      const p = await api('POST', base + '/payments', body, { 'Idempotency-Key': st.attempt.key });
      st.attempt = null;
      return p;
    } catch (e) {
      if (!retryable(e)) st.attempt = null;
      throw e;
    }
  }
  $('pay').addEventListener('click', () => busy($('pay'), async () => {
    const c = compute();
    if (!c.ok) return;
    const body = { bill_id: st.bill.id, split: c.split };
    if (c.tip.body) body.tip = c.tip.body;
    try { enterPaying(await create(body), body); } catch (e) { fail(e); }
  }));

  const timeFmt = (iso, withDate) => {
    const d = new Date(iso);
    return isNaN(d) ? '' : new Intl.DateTimeFormat(locale, withDate ? { dateStyle: 'medium', timeStyle: 'short' } : { hour: '2-digit', minute: '2-digit' }).format(d);
  };
  function enterPaying(p, body) {
    st.pay = { payment: p, body, failed: false, stripe: null };
    remember({ id: p.id, body });
    showEl('pay-error', false);
    text('pay-amount', money(p.total_amount));
    text('pay-detail', p.tip_amount > 0 ? t('incl_tip', { amount: money(p.amount), tip: money(p.tip_amount) }) : '');
    text('held', p.expires_at ? t('held_until', { time: timeFmt(p.expires_at) }) : '');
    text('confirm', t('pay', { amount: money(p.total_amount) }));
    text('cancel', t('cancel'));
    const kind = p.next_action && p.next_action.type;
    showEl('sandbox', kind === 'sandbox_confirm');
    showEl('stripe', kind === 'stripe_confirm');
    $('card').value = '';
    $('confirm').disabled = false;
    show('paying', 'summary-h');
    if (kind === 'stripe_confirm') mountStripe(p);
    else if (kind !== 'sandbox_confirm') pollPayment();
  }
  function payError(s) {
    text('pay-error', s); showEl('pay-error', !!s);
    if (s) say(s, 'error');
  }
  const FAIL = { card_declined: 'declined', insufficient_funds: 'insufficient' };
  function outcome(p) {
    if (!st.pay || st.pay.payment.id !== p.id) return;
    st.pay.payment = p;
    if (p.status === 'pending') { pollPayment(); return; }
    stopPolling();
    remember(null);
    if (p.status === 'succeeded' || p.status === 'partially_refunded' || p.status === 'refunded') {
      say(t('succeeded'), 'ok');
      showReceipt(p);
    } else if (p.status === 'failed') {
      st.pay.failed = true;
      text('cancel', t('back'));
      payError(t(FAIL[p.failure_code] || 'failed'));
      $('card').value = '';
      if (st.pay.stripe) renew().catch(fail);
      else if (!$('sandbox').hidden) $('card').focus();
    } else {
      st.pay = null;
      say(t(p.status === 'expired' ? 'expired' : 'canceled'), p.status === 'expired' ? 'error' : 'info');
      backToBill();
    }
  }
  // A failed attempt's hold is gone: a new attempt is a new payment for the same request.
  async function renew() {
    const pay = st.pay, old = pay.payment;
    if (old.status === 'pending') await api('POST', `${base}/payments/${encodeURIComponent(old.id)}/cancel`).catch(() => null);
    const p = await create(pay.body);
    if (p.total_amount !== old.total_amount) {
      enterPaying(p, pay.body);
      payError(t('changed', { amount: money(p.total_amount) }));
      return null;
    }
    pay.payment = p; pay.failed = false;
    remember({ id: p.id, body: pay.body });
    text('held', t('held_until', { time: timeFmt(p.expires_at) }));
    text('cancel', t('cancel'));
    if (p.next_action && p.next_action.type === 'stripe_confirm') await mountStripe(p);
    return p;
  }
  $('sandbox').addEventListener('submit', (ev) => { ev.preventDefault(); $('confirm').click(); });
  $('confirm').addEventListener('click', () => busy($('confirm'), async () => {
    const pay = st.pay;
    if (!pay) return;
    try {
      if (pay.stripe || (pay.payment.next_action || {}).type === 'stripe_confirm') { await confirmStripe(); return; }
      const digits = $('card').value.replace(/\D/g, '');
      if (digits.length < 12 || digits.length > 19) { payError(t('card_bad')); $('card').focus(); return; }
      payError('');
      if (pay.failed || pay.payment.status !== 'pending') { if (!(await renew())) return; }
      say(t('processing'));
      outcome(await api('POST', pay.payment.next_action.url, { card_number: digits }));
    } catch (e) {
      if (['items_unavailable', 'amount_exceeds_remaining', 'bill_not_open'].includes(e.code)) { st.pay = null; remember(null); backToBill(); }
      else if (e.code === 'conflict' && st.pay) {
        const p = await api('GET', `${base}/payments/${encodeURIComponent(st.pay.payment.id)}`).catch(() => null);
        if (p && p.status !== 'pending') { outcome(p); return; }
      }
      fail(e);
      if (st.view === 'paying') payError(errorText(e));
    }
  }));
  $('cancel').addEventListener('click', () => busy($('cancel'), async () => {
    const pay = st.pay;
    stopPolling();
    if (pay && !pay.failed && pay.payment.status === 'pending') {
      try {
        const p = await api('POST', `${base}/payments/${encodeURIComponent(pay.payment.id)}/cancel`);
        if (p.status !== 'canceled') { outcome(p); return; }
        say(t('canceled'));
      } catch (e) {
        if (e.code === 'conflict') { await api('GET', `${base}/payments/${encodeURIComponent(pay.payment.id)}`).then(outcome, () => null); if (st.view !== 'paying') return; }
        fail(e); return;
      }
    }
    st.pay = null; remember(null);
    backToBill();
  }));
  function backToBill() {
    show(restingView(), 'bill-h');
    refresh();
  }

  let payPoll = 0;
  function stopPolling() { clearTimeout(payPoll); payPoll = 0; }
  function pollPayment() {
    stopPolling();
    payPoll = setTimeout(async () => {
      const pay = st.pay;
      if (!pay) return;
      try { outcome(await api('GET', `${base}/payments/${encodeURIComponent(pay.payment.id)}`)); } catch (e) { if (st.pay === pay) pollPayment(); }
    }, 1500);
  }

  // Stripe.js is loaded only for a Stripe payment, and only then.
  let stripeJs = null;
  function loadStripe() {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    if (!stripeJs) {
      stripeJs = new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = 'https://js.stripe.com/v3/';
        s.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('stripe')));
        s.onerror = () => { stripeJs = null; s.remove(); reject(new Error('stripe')); };
        document.head.append(s);
      });
    }
    return stripeJs;
  }
  async function mountStripe(p) {
    const pay = st.pay;
    text('stripe-status', t('stripe_loading'));
    $('confirm').disabled = true;
    try {
      const Stripe = await loadStripe();
      const stripe = Stripe(p.next_action.publishable_key, { locale: lang });
      const elements = stripe.elements({ clientSecret: p.next_action.client_secret });
      $('stripe-el').replaceChildren();
      elements.create('payment').mount('#stripe-el');
      if (st.pay === pay) pay.stripe = { stripe, elements };
      text('stripe-status', '');
      $('confirm').disabled = false;
    } catch (e) {
      text('stripe-status', t('stripe_error'));
      say(t('stripe_error'), 'error');
    }
  }
  async function confirmStripe() {
    const pay = st.pay;
    if (!pay.stripe) { await mountStripe(pay.payment); return; }
    payError('');
    if (pay.failed && !(await renew())) return;
    const url = new URL(location.href);
    url.search = langParam ? '?lang=' + encodeURIComponent(langParam) : '';
    const r = await pay.stripe.stripe.confirmPayment({ elements: pay.stripe.elements, redirect: 'if_required', confirmParams: { return_url: url.href } });
    if (r.error) {
      payError(r.error.message || t('failed'));
      if (r.error.type === 'card_error') { pay.failed = true; text('cancel', t('back')); renew().catch(fail); }
      return;
    }
    say(t('processing'));
    pollPayment();
  }

  // ---- receipt and feedback ---------------------------------------------------------------
  function receiptLine(l, type) {
    if (type === 'equal') { const m = /(\d+)\D+(\d+)/.exec(l.detail || ''); return [t('r_equal'), m ? t('r_equal_d', { k: m[1], n: m[2] }) : '']; }
    if (type === 'remaining') return [t('r_remaining'), t('r_remaining_d')];
    if (type === 'amount') return [t('r_amount'), t('r_amount_d')];
    let m = /^(\d+) × /.exec(l.detail || '');
    if (m) return [t('r_units', { n: m[1] }) + ' ' + l.name, ''];
    m = /^(\d+)\/(\d+)/.exec(l.detail || '');
    if (m) return [l.name, t('r_share', { n: m[1], d: m[2] })];
    return [l.name, l.detail === 'whole item' ? t('r_whole') : l.detail || ''];
  }
  async function showReceipt(p) {
    st.pay = null;
    st.receiptFor = p.id;
    st.fbKey = null;
    const url = `${base}/payments/${encodeURIComponent(p.id)}/receipt`;
    let r = null;
    try { r = await api('GET', url); } catch (e) { r = null; }
    r = r || { lines: [], amount: p.amount, tip_amount: p.tip_amount, total_amount: p.total_amount, refunded_amount: 0, paid_at: p.succeeded_at, split_type: p.split_type };
    const g = st.guest;
    text('r-meta', [r.venue || (g && g.venue.name), r.table ? tableName(r.table) : g && tableName(g.table.label), r.paid_at ? t('r_when', { time: timeFmt(r.paid_at, true) }) : ''].filter(Boolean).join(' · '));
    $('r-lines').replaceChildren(...(r.lines || []).map((l) => {
      const [name, detail] = receiptLine(l, r.split_type);
      return h('li', { class: 'line' }, h('span', { class: 'nm' }, name, detail ? h('span', { class: 'sub' }, detail) : null), h('span', { class: 'amt' }, money(l.amount)));
    }));
    const row = (label, v, cls) => h('div', { class: cls || null }, h('dt', null, label), h('dd', null, money(v)));
    $('r-totals').replaceChildren(...[row(t('r_part'), r.amount), r.tip_amount > 0 && row(t('r_tip'), r.tip_amount),
      row(t('r_total'), r.total_amount, 'grand'), r.refunded_amount > 0 && row(t('r_refunded'), -r.refunded_amount)].filter(Boolean));
    $('r-print').href = url;
    $('feedback').reset();
    showEl('feedback', true); showEl('fb-thanks', false);
    renderStars(0); counter();
    show('receipt', 'receipt-h');
    refresh();
  }
  function renderStars(rating) {
    if (!$('stars').childElementCount) {
      $('stars').replaceChildren(...[1, 2, 3, 4, 5].map((n) => h('span', { class: 'starw' },
        h('input', { type: 'radio', name: 'rating', id: 'star-' + n, value: n }),
        h('label', { for: 'star-' + n, class: 'star' }, h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'sr' }, t('fb_star', { n }))))));
    }
    for (const l of $('stars').querySelectorAll('label')) l.classList.toggle('on', Number(l.htmlFor.slice(5)) <= rating);
  }
  function counter() { text('comment-left', t('fb_left', { n: 1000 - $('comment').value.length })); }
  $('comment').addEventListener('input', counter);
  $('stars').addEventListener('change', (ev) => renderStars(Number(ev.target.value)));
  $('feedback').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const btn = $('feedback').querySelector('[type=submit]');
    busy(btn, async () => {
      const rated = $('feedback').querySelector('input[name=rating]:checked');
      if (!rated) { say(t('fb_need'), 'error'); $('star-1').focus(); return; }
      const body = { rating: Number(rated.value), payment_id: st.receiptFor };
      const comment = $('comment').value.trim();
      if (comment) body.comment = comment.slice(0, 1000);
      const json = JSON.stringify(body);
      if (!st.fbKey || st.fbKey.json !== json) st.fbKey = { json, key: uuid() };
      try {
        await api('POST', base + '/feedback', body, { 'Idempotency-Key': st.fbKey.key });
        showEl('feedback', false); showEl('fb-thanks', true);
        say(t('fb_thanks'), 'ok');
        $('fb-thanks').focus();
      } catch (e) { fail(e); }
    });
  });
  $('r-back').addEventListener('click', () => { st.receiptFor = ''; backToBill(); });
  $('retry').addEventListener('click', () => { show('loading'); refresh().then(schedule); });

  // ---- call a server: always in reach -------------------------------------------------------
  $('call').addEventListener('click', () => busy($('call'), async () => {
    const reason = $('reason').value;
    try { await api('POST', base + '/assistance', reason ? { reason } : {}); say(t('called'), 'ok'); } catch (e) { say(e.status === 404 ? t('err_token') : errorText(e), 'error'); }
  }));

  // ---- start ------------------------------------------------------------------------------
  document.documentElement.lang = lang;
  document.title = t('doc_title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const b of document.querySelectorAll('#p-equal .step')) {
    const what = document.querySelector(`label[for="${b.dataset.for}"]`).textContent;
    b.setAttribute('aria-label', t(b.dataset.step === '1' ? 'more' : 'less', { what }));
  }
  if (!token) { stopped = true; fatal(true); return; }
  // A payment in flight when the page was left (reload, Stripe redirect) is picked up again.
  async function resume() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(SESSION) || 'null'); } catch (e) { saved = null; }
    if (params.has('payment_intent')) history.replaceState(null, '', location.pathname + (langParam ? '?lang=' + encodeURIComponent(langParam) : ''));
    if (!saved || !saved.id) return;
    try {
      const p = await api('GET', `${base}/payments/${encodeURIComponent(saved.id)}`);
      if (p.status === 'pending') enterPaying(p, saved.body);
      else if (p.status === 'succeeded') { remember(null); showReceipt(p); } else remember(null);
    } catch (e) { remember(null); }
  }
  refresh().then(() => (stopped ? null : resume())).then(schedule);
})();
