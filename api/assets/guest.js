// tablepay guest page: the live bill; split, tip, pay, receipt. Plain script, no build.
(() => {
'use strict';
const $ = (id) => document.getElementById(id);
const qs = (sel, root = document) => root.querySelector(sel);
const qsa = (sel, root = document) => [...root.querySelectorAll(sel)];
const I18N = window.TABLEPAY_I18N || { en: {} };
const params = new URLSearchParams(location.search), qlang = params.get('lang') || '';
const prim = (c) => String(c || '').toLowerCase().split('-')[0];
const lang = [qlang, ...(navigator.languages || []), navigator.language].map(prim).find((p) => I18N[p]) || 'en';
const locale = [I18N[prim(qlang)] && qlang, navigator.language, lang].find((c) => {
  try { return c && Intl.NumberFormat.supportedLocalesOf([c]).length; } catch (e) { return false; }
}) || lang;
const S = I18N[lang] || {}, plural = new Intl.PluralRules(locale);
function t(key, v) {
  const s = (v && S[key + '_other'] && (S[key + '_' + plural.select(v.n)] || S[key + '_other'])) || S[key] || I18N.en[key] || key;
  return v ? s.replace(/\{(\w+)\}/g, (m, k) => (k in v ? v[k] : m)) : s;
}

// ISO 4217 exponents, as the server's (Intl's CLDR ones differ for HUF, IDR, IQD...).
const EXP = { CLF: 4, UYW: 4 };
for (const c of 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ')) EXP[c] = 0;
for (const c of 'BHD IQD JOD KWD LYD OMR TND'.split(' ')) EXP[c] = 3;
let cur = '', exp = 2, nf = null, dec = '.';
function setCurrency(c, e) {
  if (c === cur) return;
  cur = c; exp = Number.isInteger(e) ? e : EXP[c] ?? 2;
  try {
    nf = new Intl.NumberFormat(locale, { style: 'currency', currency: c, minimumFractionDigits: exp, maximumFractionDigits: exp });
    dec = new Intl.NumberFormat(locale).formatToParts(1.5)[1].value;
  } catch (e) { nf = null; }
}
function money(minor) {
  let s = String(Math.abs(minor)).padStart(exp + 1, '0');
  if (exp) s = s.slice(0, -exp) + '.' + s.slice(-exp);
  s = (minor < 0 ? '-' : '') + s;
  return nf ? nf.format(Number(s)) : s + ' ' + cur;
}
// v × num / den, half up, as the server rounds tips and parts of a line.
const halfUp = (v, num, den) => Number((2n * BigInt(v) * BigInt(num) + BigInt(den)) / (2n * BigInt(den)));
// "12,5" → 1250 for EUR, by string construction: never a float multiplication.
function parseMinor(text) {
  const s = String(text).replace(/[\s\u00a0\u202f']/g, ''), m = /^(\d{0,11})(?:([.,])(\d{0,8}))?$/.exec(s);
  if (!s) return { value: 0 };
  const frac = (m && m[3]) || '';
  // Another mark before three digits separates thousands ("1,000" en, "1.000" fr).
  if (!m || !(m[1] + frac) || (m[2] !== dec && frac.length === 3)) return { error: t('am_bad', { example: exp ? '12' + dec + '5'.padEnd(exp, '0') : '12' }) };
  if (frac.length > exp) return { error: exp ? t('am_dec', { cur, n: exp }) : t('am_bad', { example: '12' }) };
  return { value: Number((m[1] || '0') + frac.padEnd(exp, '0')) };
}

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
  e.append(...kids.flat(9).filter((c) => c != null && c !== false && c !== ''));
  return e;
}
// Unchanged text is not replaced: Chrome's scroll anchoring would jump (and a tap miss).
const setText = (e, s) => { if (e.textContent !== s) e.textContent = s; };
const text = (id, s) => setText($(id), s);
const showEl = (id, on) => { $(id).hidden = !on; };
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
function uuid() { // randomUUID needs a secure context; a phone on a LAN demo may not have one
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  return [...b].map((v, i) => ([4, 6, 8, 10].includes(i) ? '-' : '') + v.toString(16).padStart(2, '0')).join('');
}

let msgTimer = 0, msgKind = '', msgAt = 0;
function say(s, kind = 'info') {
  const fresh = Date.now() - msgAt < 8000;
  // "The bill was updated" never hides a fresher message (often its cause).
  if ((kind === 'soft' && msgKind && fresh) || (kind === 'info' && msgKind === 'error' && fresh)) return;
  const m = $('message');
  m.textContent = s; m.dataset.kind = msgKind = kind; msgAt = Date.now();
  clearTimeout(msgTimer);
  msgTimer = setTimeout(() => { m.textContent = msgKind = ''; }, kind === 'error' ? 30000 : 10000);
}

// Errors thrown: {status, code, detail, retry} from problem+json, or {network}.
const token = decodeURIComponent((location.pathname.match(/\/t\/([^/]+)/) || [])[1] || '');
const base = '/v1/t/' + encodeURIComponent(token);
const payUrl = (id, tail = '') => `${base}/payments/${encodeURIComponent(id)}${tail}`;
async function api(method, url, body, key) {
  const headers = { Accept: 'application/json' };
  if (body) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  let res, d = {};
  try { res = await fetch(url, { method, headers, cache: 'no-store', body: body && JSON.stringify(body) }); } catch (e) { throw { network: true }; }
  try { d = JSON.parse(await res.text()) || {}; } catch (e) { /* not JSON */ }
  if (res.ok) return d;
  throw { status: res.status, code: d.code || '', detail: String(d.detail || ''), retry: parseInt(res.headers.get('Retry-After'), 10) || 0 };
}
const TAKEN = ['items_unavailable', 'amount_exceeds_remaining', 'bill_not_open', 'bill_changed', 'split_in_progress'];
// May the same request be sent again with the same Idempotency-Key?
const retryable = (e) => e.network || e.status >= 500 || e.status === 429 || e.code === 'idempotency_key_in_use';
function errorText(e) {
  if (e.network) return t('offline');
  if (e.status === 429) return t('rate', { n: e.retry || 10 });
  if (e.code === 'bill_not_open') return t('not_open');
  if (e.code === 'bill_changed') return t('changed');
  if (e.code === 'split_in_progress') return t('eq_running');
  if (TAKEN.includes(e.code)) return t('taken');
  if (e.code === 'idempotency_key_in_use') return t('busy');
  const d = e.status < 500 ? e.detail.trim() : '';
  return d ? d[0].toUpperCase() + d.slice(1) + (/[.!?]$/.test(d) ? '' : '.') : t('error');
}
// "No connection" goes as soon as the server answers again.
function online() { if ($('message').textContent === t('offline')) { $('message').textContent = msgKind = ''; } }
function fail(e) {
  say(errorText(e), 'error');
  if (TAKEN.includes(e.code) || e.code === 'conflict' || e.status === 404) refresh();
}
async function busy(btn, fn) {
  if (btn.getAttribute('aria-busy')) return;
  btn.setAttribute('aria-busy', 'true'); btn.disabled = true;
  try { await fn(); } finally { btn.removeAttribute('aria-busy'); btn.disabled = false; syncPay(); }
}

const st = {
  view: 'loading', guest: null, bill: null, json: '', sig: '', sawPaid: false, mode: 'remaining', eqParts: 2, eqCount: 1,
  eqSeen: false, sel: new Map(), amountText: '', tip: { bps: 0, custom: false, text: '' }, attempt: null, pay: null, receiptFor: '', fbKey: null,
};
const VIEWS = {
  loading: ['v-loading'], error: ['v-error'], empty: ['v-empty'], bill: ['v-bill', 'v-split', 'v-summary'],
  settled: ['v-settled', 'v-bill'], paying: ['v-summary'], receipt: ['v-receipt'],
};
function show(view, focusId) {
  const changed = st.view !== view, paying = view === 'paying';
  st.view = view;
  document.body.dataset.state = view === 'empty' ? 'bill' : view;
  for (const s of qsa('main > section')) s.hidden = !VIEWS[view].includes(s.id);
  showEl('v-paying', paying); showEl('pay', !paying); showEl('pay-note', !paying);
  text('summary-h', t(paying ? 'paying_h' : 'you_pay'));
  if (view === 'bill') renderSplit();
  if (changed && focusId) { scrollTo(0, 0); $(focusId).focus({ preventScroll: true }); }
}
const restingView = () => {
  showEl('mine', !!paidHere());
  return restingView0();
};
const restingView0 = () => (!st.bill ? (st.sawPaid ? 'settled' : 'empty') : st.bill.status === 'paid' ? 'settled' : 'bill');

// The bill: loaded at once, then live.
let pollTimer = 0, fetching = null, backoff = 0, stopped = false;
function refresh() {
  if (stopped) return Promise.resolve();
  return (fetching = fetching || api('GET', base).then((g) => { backoff = 0; online(); applyGuest(g); if (!live) recheckCall(); }, (e) => {
    const early = st.view === 'loading' || st.view === 'error';
    if (e.status === 404) { stopped = true; fatal(true); } // rotated: stop asking
    else if (e.status === 429) { backoff = (e.retry || 10) * 1000; if (early) fatal(false, errorText(e)); else say(errorText(e), 'error'); }
    else if (early) fatal(false);
  }).finally(() => { fetching = null; }));
}
function schedule() {
  clearTimeout(pollTimer);
  if (!stopped && !live && document.visibilityState === 'visible') pollTimer = setTimeout(() => refresh().then(schedule), backoff || 30000);
}
// Live stream; a 30 s poll only while it is down.
let live = 0, es;
function listen() {
  if (stopped || es) return;
  es = new EventSource(base + '/events');
  es.addEventListener('bill.updated', (e) => applyGuest(JSON.parse(e.data)));
  es.onopen = () => { live = 1; online(); recheckCall(); schedule(); };
  es.addEventListener('assistance.resolved', (e) => { const a = JSON.parse(e.data).assistance; if (st.call && a.id === st.call.id) showCall(a); });
  es.onerror = () => { live = 0; if (es.readyState > 1) { es = null; setTimeout(listen, 5e3); } schedule(); };
}
const now = () => refresh().then(schedule);
document.addEventListener('visibilitychange', () => { clearTimeout(pollTimer); if (document.visibilityState === 'visible') now(); });
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
  setCurrency((g.bill && g.bill.currency) || g.venue.currency, g.venue.currency_exponent);
  text('venue', g.venue.name); text('table', tableName(g.table.label));
  document.title = g.venue.name + ' · ' + t('doc_title');
  renderTipOptions();
  const b = g.bill || null, json = JSON.stringify(b);
  if (json !== st.json) {
    const sig = b ? JSON.stringify([b.id, b.items, b.adjustments, b.totals]) : '';
    const moved = st.bill && b && st.sig !== sig && st.bill.id === b.id;
    Object.assign(st, { bill: b, json, sig });
    if (b) st.sawPaid = b.status === 'paid';
    renderBill();
    if (st.view === 'bill') renderSplit();
    if (moved && st.view === 'bill' && b.status === 'open') say(t('updated'), 'soft');
  }
  if (st.view === 'paying' || st.view === 'receipt') return;
  const next = restingView();
  if (next === 'settled' && st.view === 'bill') say(t('settled_h'), 'ok');
  if (next !== st.view) show(next);
}

function itemState(i) {
  if (i.amount === 0 && i.unit_price > 0) return 'comped';
  const taken = i.paid_amount + i.held_amount;
  if (i.amount > 0 && taken >= i.amount) return i.held_amount > 0 ? 'held' : 'paid';
  return taken > 0 ? 'partly_paid' : 'payable';
}
const badge = (s) => s !== 'payable' && h('span', { class: 'badge ' + s }, t(s === 'comped' ? 'adj_comp' : 'st_' + s));
const nameOf = (i) => [i.quantity > 1 && h('span', { class: 'qty' }, i.quantity + ' × '), i.name];
const line = (name, amount, attrs) => h('li', Object.assign({ class: 'line' }, attrs), h('span', { class: 'nm' }, name), h('span', { class: 'amt' }, money(amount)));
const active = () => st.bill.items.filter((i) => i.status === 'active');
function renderBill() {
  const b = st.bill;
  if (!b) return;
  $('items').replaceChildren(...active().map((i) => {
    const s = itemState(i);
    // Menu prices: lines sum to the subtotal; discounts, service and tax follow.
    return line([nameOf(i), badge(s)], i.unit_price * i.quantity, { 'data-testid': 'item', 'data-item-id': i.id, 'data-state': s, class: 'line ' + s });
  }));
  $('adjustments').replaceChildren(...(b.adjustments || []).filter((a) => a.status === 'applied')
    .map((a) => line(t(a.type === 'comp' ? 'adj_comp' : 'adj_discount'), -a.amount)));
  const T = b.totals, row = (id, v, on = true) => { showEl(id, on); setText(qs(`#${id} dd`), money(v)); };
  // Tax on top (exclusive) is in the sum; tax inside prices is only shown.
  const mode = st.guest && st.guest.venue.tax_mode;
  const added = T.tax > 0 && (mode ? mode === 'exclusive' : T.subtotal - T.discounts + T.service_charge + T.tax === T.total);
  row('t-subtotal', T.subtotal); row('t-discounts', -T.discounts, T.discounts > 0); row('t-service', T.service_charge, T.service_charge > 0);
  row('t-tax', T.tax, T.tax > 0); $('t-tax').classList.toggle('muted', !added); setText(qs('#t-tax dt'), t(added ? 'tax' : 'tax_incl'));
  row('t-total', T.total); row('t-paid', T.paid); row('t-pending', T.pending, T.pending > 0); row('t-due', T.remaining);
}

// What the guest pays.
function eqInfo() {
  const b = st.bill, sp = b.split, rem = b.totals.remaining;
  if (sp && !st.eqSeen) { st.eqSeen = true; st.eqParts = clamp(sp.parts, 2, 20); }
  // A running split's shares are the server's; a new split divides what is left.
  const running = !!sp && (sp.taken_parts < sp.parts || sp.taken_parts > sp.paid_parts);
  const fixed = running ? sp.parts : 0, N = fixed || clamp(st.eqParts, 2, 20), done = running ? sp.taken_parts : 0;
  const shares = running ? sp.open_shares || [] : Array.from({ length: N }, (_, x) => Math.floor(rem / N) + (x < rem % N ? 1 : 0));
  const free = shares.length, k = clamp(st.eqCount, 1, Math.max(1, free));
  const amount = shares.slice(0, k).reduce((a, x) => a + x, 0);
  return { N, k, free, fixed, done, amount, each: shares[0] || 0 };
}
function pickables() {
  return active().map((i) => {
    const left = Math.max(0, i.amount - i.paid_amount - i.held_amount);
    return { i, left, state: itemState(i), partial: left < i.amount, ok: left > 0 };
  });
}
// A picked line: its claim and cost (of a partly taken line: the rest or a share).
function claim(p, s) {
  const i = p.i, id = i.id;
  if (s.share) return { req: { item_id: id, share: { parts: s.share } }, cost: Math.min(p.left, halfUp(i.amount, 1, s.share)) };
  if (p.partial) return { req: { item_id: id }, cost: p.left };
  return { req: { item_id: id, quantity: s.q }, cost: s.q === i.quantity ? i.amount : halfUp(i.amount, s.q, i.quantity) };
}
function compute() {
  const b = st.bill, T = st.tip;
  if (!b || b.status !== 'open') return { amount: 0, tip: {} };
  const rem = b.totals.remaining;
  let amount = rem, split = { type: 'remaining' }, err = '';
  const running = eqInfo().fixed > 0;
  if (st.mode === 'equal') {
    const e = eqInfo();
    amount = e.amount; split = { type: 'equal', parts: e.N, count: e.k };
    if (e.free <= 0) err = t('eq_full');
  } else if (running && st.mode !== 'remaining') {
    amount = 0; err = t('eq_running');
  } else if (st.mode === 'items') {
    const items = [];
    amount = 0;
    for (const p of pickables()) {
      const s = st.sel.get(p.i.id);
      if (s && p.ok) { const c = claim(p, s); items.push(c.req); amount += c.cost; }
    }
    split = { type: 'items', items };
  } else if (st.mode === 'amount') {
    const p = parseMinor(st.amountText);
    amount = p.value || 0; err = p.error || '';
    split = { type: 'amount', amount };
  }
  if (!err && amount > rem) err = t('am_much', { amount: money(rem) });
  let tip = { amount: 0 };
  if (T.custom) {
    const p = parseMinor(T.text);
    tip = p.error ? { amount: 0, err: p.error } : { amount: p.value, body: p.value > 0 && { amount: p.value } };
  } else if (T.bps > 0) tip = { amount: halfUp(amount, T.bps, 10000), body: { percent_bps: T.bps } };
  return { ok: !err && !tip.err && amount > 0, amount, split, err, tip };
}

function syncSteps(root) {
  for (const b of qsa('.step', root)) {
    const inp = $(b.dataset.for), v = Number(inp.value);
    b.disabled = inp.readOnly || (b.dataset.step > 0 ? v >= inp.max : v <= inp.min);
  }
}
const setNum = (inp, v) => { if (document.activeElement !== inp) inp.value = v; };
function renderSplit() {
  const b = st.bill;
  if (!b || b.status !== 'open') return;
  const open = b.totals.remaining > 0, a = st.attempt; // to retry: may hold the rest
  showEl('others', !open && !a); showEl('split-body', open);
  if (st.view === 'bill') showEl('v-summary', open || !!a);
  for (const r of qsa('[name=split]')) r.checked = r.value === st.mode;
  for (const m of ['equal', 'items', 'amount']) showEl('p-' + m, st.mode === m);
  const e = eqInfo(), parts = $('eq-parts'), count = $('eq-count');
  parts.max = Math.max(20, e.N); parts.readOnly = !!e.fixed; setNum(parts, e.N);
  count.max = Math.max(1, e.free); setNum(count, e.k);
  syncSteps($('p-equal'));
  showEl('eq-fixed', !!e.fixed);
  if (e.fixed) text('eq-fixed', t('eq_fixed', { n: e.N }) + ' ' + t('eq_taken', { n: e.done }));
  text('eq-each', e.free > 0 ? t('eq_each', { amount: money(e.each) }) : t('eq_full'));
  renderPicks();
  const c = compute(), bad = st.mode === 'amount' && st.amountText.trim() && c.err, tipErr = st.tip.custom && c.tip.err;
  text('amount-label', t('am_label', { cur }));
  text('amount-hint', bad || t('am_hint', { amount: money(b.totals.remaining) }));
  $('amount').setAttribute('aria-invalid', !!bad);
  $('amount-hint').classList.toggle('bad', !!bad);
  for (const el of $('tip-options').children) {
    const bps = el.dataset.bps && Number(el.dataset.bps);
    el.setAttribute('aria-pressed', bps == null ? st.tip.custom : !st.tip.custom && bps === st.tip.bps);
    setText(qs('.tip-a', el), bps > 0 && c.amount > 0 ? money(halfUp(c.amount, bps, 10000)) : '');
  }
  showEl('tip-custom-field', st.tip.custom);
  text('tip-amount-label', t('tip_amount', { cur }));
  text('tip-hint', tipErr || '');
  $('tip-amount').setAttribute('aria-invalid', !!tipErr);
  if (st.view === 'paying') return;
  const total = a ? a.total : c.amount + c.tip.amount;
  text('pay-amount', money(total));
  const why = c.err && st.mode !== 'amount' ? c.err : '';
  text('pay-detail', a ? t('retry_same') : why || (c.tip.amount > 0 ? t('incl_tip', { amount: money(c.amount), tip: money(c.tip.amount) }) : ''));
  text('pay', t(a ? 'pay_retry' : 'pay', { amount: money(total) }));
  syncPay();
}
function syncPay() { if (!$('pay').getAttribute('aria-busy')) $('pay').disabled = !st.attempt && !compute().ok; }
const update = () => { if (st.view === 'bill') renderSplit(); };

let picksSig = '';
function renderPicks() {
  const list = pickables();
  for (const id of st.sel.keys()) if (!list.some((p) => p.ok && p.i.id === id)) st.sel.delete(id); // taken meanwhile
  const sig = JSON.stringify([list.map((p) => [p.i.id, p.i.name, p.i.quantity, p.left, p.state]), [...st.sel].map(([k, v]) => k + !!v.share)]);
  if (sig !== picksSig) { // rebuild, keeping the focus on the same control
    picksSig = sig;
    const k = document.activeElement?.dataset?.k;
    $('picks').replaceChildren(...list.map(pickRow));
    const f = k && qs(`[data-k="${CSS.escape(k)}"]`, $('picks'));
    if (f) f.focus();
  }
  showEl('picks-none', !list.some((p) => p.ok));
  for (const p of list) {
    const s = st.sel.get(p.i.id), row = $('pk-' + p.i.id).closest('li'), c = s ? claim(p, s).cost : p.left;
    if (s) setText(qs('.cost', row), c !== p.left ? money(c) : '');
    for (const inp of qsa('[type=number]', row)) setNum(inp, inp.dataset.k[0] === 'q' ? s.q : s.share);
    syncSteps(row);
  }
}
function stepper(id, k, value, min, max, label, name, testid) {
  const of = name ? ` (${name})` : '';
  const btn = (d, sym, key) => h('button', { type: 'button', class: 'step', 'data-step': d, 'data-for': id, 'data-k': k + d, 'aria-label': t(key, { what: label + of }) }, sym);
  return h('div', { class: 'field inline' }, h('label', { for: id }, label, of && h('span', { class: 'sr' }, of)), h('div', { class: 'stepper' },
    btn(-1, '−', 'less'), h('input', { id, type: 'number', inputmode: 'numeric', min, max, value, 'data-k': k, 'data-testid': testid }), btn(1, '+', 'more')));
}
function pickRow(p) {
  const i = p.i, id = i.id, s = st.sel.get(id), opts = [];
  if (s) {
    if (!s.share && !p.partial && i.quantity > 1) opts.push(stepper('q-' + id, 'q:' + id, s.q, 1, i.quantity, t('it_qty'), i.name));
    opts.push(h('div', { class: 'check' }, h('input', { type: 'checkbox', id: 'sh-' + id, 'data-k': 'share:' + id, checked: !!s.share }),
      h('label', { for: 'sh-' + id }, t('it_share'))));
    if (s.share) opts.push(stepper('n-' + id, 'n:' + id, s.share, 2, 10, t('it_parts'), i.name));
  }
  return h('li', { class: 'pick ' + p.state },
    h('div', { class: 'pick-main' },
      h('input', { type: 'checkbox', id: 'pk-' + id, 'data-testid': 'pick-item', 'data-item-id': id, 'data-k': 'pick:' + id, checked: !!s, disabled: !p.ok }),
      h('label', { for: 'pk-' + id }, h('span', { class: 'nm' }, nameOf(i), badge(p.state)), h('span', { class: 'amt' }, money(p.ok ? p.left : i.amount)))),
    s && h('div', { class: 'pick-opts' }, opts, h('p', { class: 'cost' })));
}
let tipSig = null;
function renderTipOptions() {
  const presets = st.guest.venue.tip_presets_bps || [];
  if (presets.join() === tipSig) return;
  tipSig = presets.join();
  const btn = (bps, label) => h('button', { type: 'button', class: 'tip', 'data-testid': bps == null ? 'tip-custom' : 'tip-option', 'data-bps': bps },
    label, h('span', { class: 'tip-a' }));
  const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 });
  $('tip-options').replaceChildren(btn(0, t('tip_none')), ...presets.map((b) => btn(b, pct.format(b / 10000))), btn(null, t('tip_custom')));
}

const split = $('v-split');
split.addEventListener('change', (ev) => {
  const el = ev.target, k = el.dataset.k || '', id = k.slice(k.indexOf(':') + 1), s = st.sel.get(id);
  if (el.name === 'split') st.mode = el.value;
  else if (k.startsWith('pick:')) {
    if (el.checked) st.sel.set(id, { q: active().find((i) => i.id === id).quantity, share: 0 }); else st.sel.delete(id);
  } else if (k.startsWith('share:')) s.share = el.checked ? 2 : 0;
  else if (el.type === 'number') numberInput(el, true);
  update();
});
split.addEventListener('input', (ev) => {
  const el = ev.target;
  if (el.id === 'amount') st.amountText = el.value;
  else if (el.id === 'tip-amount') st.tip.text = el.value;
  else if (el.type !== 'number') return; // radios and checkboxes: on change
  else numberInput(el, false);
  update();
});
// A number field: kept as typed; clamped once the guest is done (change).
function numberInput(el, done) {
  let v = parseInt(el.value, 10);
  const lo = Number(el.min), hi = Number(el.max);
  if (!done && !(v >= lo && v <= hi)) return; // mid-typing
  if (done) el.value = v = clamp(v >= 0 ? v : lo, lo, hi);
  const k = el.dataset.k || el.id, s = st.sel.get(k.slice(k.indexOf(':') + 1));
  if (k === 'eq-parts') { if (!el.readOnly) st.eqParts = v; } else if (k === 'eq-count') st.eqCount = v;
  else if (s) s[k[0] === 'q' ? 'q' : 'share'] = v;
}
split.addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.for) {
    const inp = $(b.dataset.for);
    if (inp.readOnly) return;
    inp.value = (parseInt(inp.value, 10) || 0) + Number(b.dataset.step);
    numberInput(inp, true);
  } else {
    st.tip.custom = !b.dataset.bps;
    if (b.dataset.bps) st.tip.bps = Number(b.dataset.bps);
  }
  update();
  if (!b.dataset.for && st.tip.custom) $('tip-amount').focus();
});

// Paying.
const SESSION = 'tablepay:' + token;
function remember(v) { try { sessionStorage[v ? 'setItem' : 'removeItem'](SESSION, JSON.stringify(v)); } catch (e) { /* storage off */ } }
// One Idempotency-Key per attempt, re-sent after a network error, kept across a reload (its
// payment may exist and hold the bill).
function setAttempt(a) { st.attempt = a; try { sessionStorage[a ? 'setItem' : 'removeItem'](SESSION + ':a', JSON.stringify(a)); } catch (e) { /* storage off */ } }
async function create(body, total) {
  const json = JSON.stringify(body);
  if (!st.attempt || st.attempt.json !== json) setAttempt({ json, key: uuid(), total });
  try {
    const p = await api('POST', base + '/payments', body, st.attempt.key);
    setAttempt(null);
    return p;
  } catch (e) {
    if (!retryable(e)) setAttempt(null);
    throw e;
  }
}
// An attempt awaiting its retry (it may hold the bill) is re-sent as it was.
$('pay').addEventListener('click', () => busy($('pay'), async () => {
  const c = compute(), a = st.attempt;
  if (!a && !c.ok) return;
  const body = a ? JSON.parse(a.json) : { bill_id: st.bill.id, bill_version: st.bill.version, split: c.split };
  if (!a && c.tip.body) body.tip = c.tip.body;
  try { enterPaying(await create(body, c.amount + c.tip.amount), body); } catch (e) { fail(e); update(); }
}));
function timeFmt(iso, long) {
  try { return new Intl.DateTimeFormat(locale, long ? { dateStyle: 'medium', timeStyle: 'short' } : { timeStyle: 'short' }).format(new Date(iso)); } catch (e) { return ''; }
}
const kind = (p) => (p.next_action || {}).type;
function setPayment(p, body) {
  st.pay = Object.assign(st.pay || {}, { payment: p, body, failed: false });
  remember({ id: p.id, body });
  text('held', t('held_until', { time: timeFmt(p.expires_at) }));
  text('cancel', t('cancel'));
}
function enterPaying(p, body, back) {
  st.pay = null;
  setPayment(p, body);
  payError('');
  text('pay-amount', money(p.total_amount));
  text('pay-detail', p.tip_amount > 0 ? t('incl_tip', { amount: money(p.amount), tip: money(p.tip_amount) }) : '');
  text('confirm', t('pay', { amount: money(p.total_amount) }));
  showEl('sandbox', kind(p) === 'sandbox_confirm'); showEl('stripe', kind(p) === 'stripe_confirm');
  $('card').value = ''; $('confirm').disabled = !!back;
  show('paying', 'summary-h');
  if (back) { remember({ id: p.id, body, sent: 1 }); text('stripe-status', t('processing')); say(t('processing')); pollPayment(); } // sent to Stripe
  else if (kind(p) === 'stripe_confirm') mountStripe(p);
  else if (kind(p) !== 'sandbox_confirm') pollPayment();
}
function payError(s) {
  text('pay-error', s); showEl('pay-error', !!s);
  if (s) say(s, 'error');
}
const FAIL = { card_declined: 'declined', insufficient_funds: 'insufficient' };
function outcome(p) {
  if (!st.pay || st.pay.payment.id !== p.id) return;
  st.pay.payment = p;
  if (p.status === 'pending') return pollPayment();
  clearTimeout(payPoll); remember(null);
  text('held', ''); // the hold is gone with the pending payment
  if (/succeeded|refunded/.test(p.status)) { say(t('succeeded'), 'ok'); showReceipt(p); }
  else if (p.status === 'failed') {
    st.pay.failed = true;
    text('cancel', t('back'));
    payError(t(FAIL[p.failure_code] || 'failed'));
    $('card').value = '';
    if (!$('stripe').hidden) renew().catch(fail); else $('card').focus();
  } else {
    st.pay = null;
    say(t(p.status === 'expired' ? 'expired' : 'canceled'), p.status === 'expired' ? 'error' : 'info');
    backToBill();
  }
}
// A failed payment released its hold: trying again is a new payment.
async function renew() {
  const pay = st.pay, old = pay.payment;
  if (old.status === 'pending') await api('POST', payUrl(old.id, '/cancel')).catch(() => null);
  const p = await create(pay.body, old.total_amount);
  if (p.total_amount !== old.total_amount) { // the bill moved: show the new amount first
    enterPaying(p, pay.body);
    return payError(t('changed', { amount: money(p.total_amount) }));
  }
  setPayment(p, pay.body);
  if (kind(p) === 'stripe_confirm') await mountStripe(p);
  return p;
}
$('sandbox').addEventListener('submit', (ev) => { ev.preventDefault(); $('confirm').click(); });
$('confirm').addEventListener('click', () => busy($('confirm'), async () => {
  const pay = st.pay;
  try {
    if (kind(pay.payment) === 'stripe_confirm') return await (pay.stripe ? confirmStripe() : mountStripe(pay.payment));
    const digits = $('card').value.replace(/\D/g, '');
    if (digits.length < 12 || digits.length > 19) { payError(t('card_bad')); return $('card').focus(); }
    payError('');
    if ((pay.failed || pay.payment.status !== 'pending') && !(await renew())) return;
    say(t('processing'));
    outcome(await api('POST', pay.payment.next_action.url, { card_number: digits }));
  } catch (e) {
    if (TAKEN.includes(e.code)) { st.pay = null; remember(null); backToBill(); }
    else if (e.code === 'conflict' && (await settled(pay))) return; // expired or cancelled meanwhile
    fail(e);
    if (st.view === 'paying') payError(errorText(e));
  }
}));
async function settled(pay) {
  const p = await api('GET', payUrl(pay.payment.id)).catch(() => null);
  if (!p || p.status === 'pending') return false;
  outcome(p);
  return true;
}
$('cancel').addEventListener('click', () => busy($('cancel'), async () => {
  const pay = st.pay;
  clearTimeout(payPoll);
  if (pay && !pay.failed && pay.payment.status === 'pending') {
    try {
      const p = await api('POST', payUrl(pay.payment.id, '/cancel'));
      if (p.status !== 'canceled') return outcome(p);
      say(t('canceled'));
    } catch (e) {
      if (e.code !== 'conflict' || !(await settled(pay))) fail(e);
      return;
    }
  }
  st.pay = null; remember(null);
  backToBill();
}));
function backToBill() { show(restingView(), 'bill-h'); refresh(); }
let payPoll = 0;
function pollPayment() { // every 1.5 s until the provider has decided
  const pay = st.pay;
  clearTimeout(payPoll);
  payPoll = setTimeout(() => api('GET', payUrl(pay.payment.id)).then(outcome, () => { if (st.pay === pay) pollPayment(); }), 1500);
}

// Stripe.js is loaded for a Stripe payment only, and only at that moment.
let stripeJs = null;
async function mountStripe(p) {
  const pay = st.pay;
  text('stripe-status', t('stripe_loading'));
  $('confirm').disabled = true;
  try {
    stripeJs = stripeJs || new Promise((ok, ko) => {
      const s = h('script', { src: 'https://js.stripe.com/v3/' });
      s.onload = () => ok(window.Stripe);
      s.onerror = () => { stripeJs = null; s.remove(); ko(); };
      document.head.append(s);
    });
    const stripe = (await stripeJs)(p.next_action.publishable_key, { locale: lang });
    const elements = stripe.elements({ clientSecret: p.next_action.client_secret });
    $('stripe-el').replaceChildren();
    elements.create('payment').mount('#stripe-el');
    pay.stripe = { stripe, elements };
    text('stripe-status', '');
  } catch (e) {
    text('stripe-status', t('stripe_error'));
    say(t('stripe_error'), 'error');
  }
  $('confirm').disabled = false;
}
async function confirmStripe() {
  const pay = st.pay;
  payError('');
  if (pay.failed && !(await renew())) return;
  const back = location.origin + location.pathname + location.search;
  remember({ id: pay.payment.id, body: pay.body, sent: 1 }); // a reload after this waits, not pays again
  const r = await pay.stripe.stripe.confirmPayment({ elements: pay.stripe.elements, redirect: 'if_required', confirmParams: { return_url: back } });
  if (!r.error) { say(t('processing')); return pollPayment(); }
  remember({ id: pay.payment.id, body: pay.body });
  const declined = r.error.code === 'card_declined' && t(FAIL[r.error.decline_code] || 'declined');
  payError(declined || r.error.message || t('failed'));
  if (r.error.type === 'card_error') { pay.failed = true; text('cancel', t('back')); renew().catch(fail); }
}

async function showReceipt(p) {
  // What was just paid is no longer the guest's to choose: start afresh.
  Object.assign(st, { pay: null, receiptFor: p.id, fbKey: null, mode: 'remaining', eqCount: 1, amountText: '', tip: { bps: 0, custom: false, text: '' } });
  st.sel.clear();
  $('amount').value = $('tip-amount').value = '';
  // The server words the receipt in the page's language: lines, share, tax.
  const url = payUrl(p.id, '/receipt') + '?lang=' + lang, g = st.guest;
  const r = (await api('GET', url).catch(() => null)) || Object.assign({ lines: [], taxes: [], paid_at: p.succeeded_at }, p);
  text('r-meta', [r.number && t('r_number', { n: r.number }), r.venue || (g && g.venue.name), r.table || (g && tableName(g.table.label)), r.paid_at && t('r_when', { time: timeFmt(r.paid_at, 1) })].filter(Boolean).join(' · '));
  $('r-lines').replaceChildren(...r.lines.map((l) => line([l.name, l.detail && h('span', { class: 'sub' }, l.detail)], l.amount)));
  const row = (label, v, cls) => v && h('div', { class: cls }, h('dt', 0, label), h('dd', 0, money(v)));
  $('r-totals').replaceChildren(...[row(r.share ? r.share.text : t('r_part'), r.amount), ...r.taxes.map((x) => row(x.text, x.tax, 'tax')),
    row(t('r_tip'), r.tip_amount), row(t('r_total'), r.total_amount, 'grand'), row(t('r_refunded'), -r.refunded_amount)].filter(Boolean));
  $('r-print').href = url;
  try { sessionStorage.setItem(SESSION + ':paid', p.id); } catch (e) { /* storage off */ }
  showEl('r-email', true); text('email-hint', ''); st.mailKey = null;
  $('feedback').reset();
  showEl('feedback', true); showEl('fb-thanks', false);
  stars(0); counter();
  show('receipt', 'receipt-h');
  refresh();
}
function stars(rating) {
  if (!$('stars').firstChild) {
    $('stars').append(...[1, 2, 3, 4, 5].map((n) => h('span', { class: 'starw' }, h('input', { type: 'radio', name: 'rating', id: 'star-' + n, value: n }),
      h('label', { for: 'star-' + n, class: 'star' }, h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'sr' }, t('fb_star', { n }))))));
  }
  qsa('label', $('stars')).forEach((l, i) => l.classList.toggle('on', i < rating));
}
const counter = () => text('comment-left', t('fb_left', { n: 1000 - $('comment').value.length }));
$('comment').addEventListener('input', counter);
$('stars').addEventListener('change', (ev) => { stars(ev.target.value); if ($('message').textContent === t('fb_need')) $('message').textContent = msgKind = ''; });
$('feedback').addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(qs('[type=submit]', ev.target), async () => {
    const rated = qs('[name=rating]:checked'), comment = $('comment').value.trim();
    if (!rated) { say(t('fb_need'), 'error'); return $('star-1').focus(); }
    const body = { rating: Number(rated.value), payment_id: st.receiptFor };
    if (comment) body.comment = comment;
    const json = JSON.stringify(body);
    if (!st.fbKey || st.fbKey.json !== json) st.fbKey = { json, key: uuid() };
    try {
      await api('POST', base + '/feedback', body, st.fbKey.key);
      showEl('feedback', false); showEl('fb-thanks', true);
      say(t('fb_thanks'), 'ok');
      $('fb-thanks').focus();
    } catch (e) { fail(e); }
  });
});
$('r-back').addEventListener('click', backToBill);
// The receipt by e-mail: one request per address (its key is kept while the address is the same).
$('r-email').addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(qs('button', ev.target), async () => {
    const email = $('email').value.trim(), bad = !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
    $('email').setAttribute('aria-invalid', bad);
    text('email-hint', bad ? t('r_email_bad') : '');
    if (bad) return $('email').focus();
    if (!st.mailKey || st.mailKey.email !== email) st.mailKey = { email, key: uuid() };
    try {
      await api('POST', payUrl(st.receiptFor, '/receipt/email') + '?lang=' + lang, { email }, st.mailKey.key);
      text('email-hint', t('r_email_sent', { email }));
      say(t('r_email_sent', { email }), 'ok');
    } catch (e) {
      if (e.code === 'email_unavailable') { showEl('r-email', false); say(t('r_email_off'), 'error'); } else fail(e);
    }
  });
});
// The receipt of a payment made here before a reload, with its feedback form.
const paidHere = () => { try { return sessionStorage.getItem(SESSION + ':paid'); } catch (e) { return null; } };
$('mine').addEventListener('click', () => { const id = paidHere(); if (id) api('GET', payUrl(id)).then(showReceipt, fail); });
$('retry').addEventListener('click', () => { show('loading'); now(); });

// "Call a server": in reach in every state.
const callOpen = (on) => { showEl('call-form', on); showEl('call', !on); $('call').setAttribute('aria-expanded', on); if (on) qs('[name=reason]:checked').focus(); };
$('call').addEventListener('click', () => callOpen(true));
$('call-close').addEventListener('click', () => { callOpen(false); $('call').focus(); });
$('call-form').addEventListener('change', () => showEl('why-field', qs('[name=reason]:checked').value === 'other'));
$('call-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(qs('[type=submit]', ev.target), async () => {
    const why = qs('[name=reason]:checked').value, reason = why === 'other' ? $('why').value.trim() || t('why_other') : t('why_' + why);
    try {
      const a = await api('POST', base + '/assistance', { reason }, uuid());
      showCall(a);
      callOpen(false);
      $('call').focus();
      say(t('called'), 'ok');
    } catch (e) { say(e.status === 404 ? t('err_token') : errorText(e), 'error'); }
  });
});
// A call stays on the page until staff answer it, across reloads.
// An answered call is still told for a minute, after a reload too.
function showCall(a) {
  st.call = a.status === 'open' ? a : null;
  if (!st.call && !(Date.now() - Date.parse(a.resolved_at) < 60000)) { showEl('call-status', false); a = null; }
  try { sessionStorage[a ? 'setItem' : 'removeItem'](SESSION + ':call', JSON.stringify(a)); } catch (e) { /* storage off */ }
  if (!a) return;
  text('call-status', a.status === 'open' ? t('calling', { reason: a.reason || t('why_other') }) : t('call_done'));
  $('call-status').dataset.status = a.status;
  showEl('call-status', true);
  if (a.status !== 'open') setTimeout(() => { if (!st.call) showEl('call-status', false); }, 30000);
}

// The sticky Pay summary sits just above the dock, however tall the dock grows.
if (window.ResizeObserver) new ResizeObserver(() => document.documentElement.style.setProperty('--dock-h', qs('.dock').offsetHeight + 'px')).observe(qs('.dock'));
document.documentElement.lang = lang;
document.title = t('doc_title');
for (const el of qsa('[data-i18n]')) el.textContent = t(el.dataset.i18n);
$('eq-fields').append(stepper('eq-parts', 'eq-parts', 2, 2, 20, t('eq_parts'), '', 'equal-parts'), stepper('eq-count', 'eq-count', 1, 1, 2, t('eq_count'), '', 'equal-count'));
if (!token) { stopped = true; return fatal(true); }
// A payment left pending by a reload or a Stripe redirect is picked up again.
async function resume() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(SESSION)); st.attempt = JSON.parse(sessionStorage.getItem(SESSION + ':a')); update(); } catch (e) { /* none */ }
  const back = params.has('payment_intent'); // Stripe's return: once only
  if (back) history.replaceState(null, '', location.pathname + (qlang && '?lang=' + encodeURIComponent(qlang)));
  const p = saved && (await api('GET', payUrl(saved.id)).catch(() => null));
  if (p && p.status === 'pending') return enterPaying(p, saved.body, back || !!saved.sent);
  remember(null);
  if (p && p.status === 'succeeded') showReceipt(p);
}
// The call's status, asked again whenever the stream (re)connects or the bill is read: an
// answer may have come while the page was not listening.
function recheckCall() {
  if (st.call) api('GET', base + '/assistance/' + encodeURIComponent(st.call.id)).then(showCall, (e) => { if (e.status === 404) showCall({ status: 'gone' }); });
}
function resumeCall() {
  let a = null;
  try { a = JSON.parse(sessionStorage.getItem(SESSION + ':call')); } catch (e) { /* none */ }
  if (a) { showCall(a); api('GET', base + '/assistance/' + encodeURIComponent(a.id)).then(showCall, () => {}); }
}
refresh().then(() => stopped || (resumeCall(), resume())).then(schedule).then(listen);
})();
