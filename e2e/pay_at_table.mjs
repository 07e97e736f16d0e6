// Pay at table in a real browser: a server's dashboard, then two guests' phones.
// Run by tests/api/browser.rs, which seeds the venue through the API and passes:
//   BASE_URL, VENUE_ID, TABLE_ID, QR_TOKEN, SERVER_KEY, MANAGER_KEY, PIZZA_ID, PASTA_ID, WATER_ID, SHOTS_DIR, CHROMIUM
// Exits non-zero, saying which step failed, when anything a user relies on goes wrong,
// including a Content-Security-Policy violation or a script error on any page.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { STEP_TIMEOUT, env, launch, shotsDir, watch } from './scenario.mjs';

const base = env('BASE_URL');
const shots = shotsDir();
const guestUrl = `${base}/t/${env('QR_TOKEN')}`;
const table = `[data-testid="table"][data-table-id="${env('TABLE_ID')}"]`;
const problems = [];
const browser = await launch();

async function open(name, url, viewport, locale = 'en-GB') {
  const context = await browser.newContext({ viewport, locale, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  // The one network error the scenario causes on purpose (an answer cut off) is expected.
  watch(page, name, problems, ['ERR_CONNECTION_RESET']);
  await page.goto(url);
  return page;
}

// Accessibility audit with axe-core (WCAG 2 A and AA rules). Injecting axe needs the page's
// CSP bypassed, so audits run in contexts of their own, after the CSP-enforced scenario.
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function audit(name, url, viewport, prepare, colorScheme = 'light') {
  const context = await browser.newContext({ viewport, locale: 'en-GB', bypassCSP: true, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  await page.goto(url);
  await prepare(page);
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  for (const v of result.violations) {
    problems.push(`${name} accessibility: ${v.id} (${v.impact}) ${v.help}: ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
  }
  await context.close();
}

let step = 'start';
try {
  step = 'the dashboard signs in and goes live';
  const staff = await open('dashboard', `${base}/staff`, { width: 1280, height: 800 });
  await staff.fill('[data-testid="staff-key"]', env('SERVER_KEY'));
  await staff.click('[data-testid="sign-in"]');
  await staff.waitForSelector('body[data-state="floor"]');
  await staff.waitForSelector('[data-testid="live"][data-connected="true"]');
  await staff.waitForSelector(`${table}[data-status="open"]`);

  step = 'the server comps the water within the limit';
  await staff.click(table);
  await staff.waitForSelector('[data-testid="bill-detail"][open]');
  await staff.selectOption('[data-testid="adjust-type"]', 'comp');
  await staff.selectOption('[data-testid="adjust-item"]', env('WATER_ID'));
  await staff.fill('[data-testid="adjust-reason"]', 'Served late');
  await staff.click('[data-testid="adjust-submit"]');
  await staff.waitForSelector('[data-testid="adjustment"][data-status="applied"]');
  await staff.screenshot({ path: join(shots, 'dashboard-bill.png') });
  await staff.keyboard.press('Escape');

  step = 'guest A sees the bill without the comped water';
  const a = await open('guest A', guestUrl, { width: 390, height: 844 });
  await a.waitForSelector('body[data-state="bill"]');
  await a.waitForFunction(() => document.querySelector('[data-testid="total"]')?.textContent.includes('44.00'));
  await a.screenshot({ path: join(shots, 'guest-bill.png') });

  step = 'guest B, whose phone speaks French, opens the bill too and leaves the page open';
  const b = await open('guest B', guestUrl, { width: 390, height: 844 }, 'fr-FR');
  await b.waitForSelector('body[data-state="bill"]');
  await b.waitForSelector('html[lang="fr"]');
  // From now on B's page must learn everything from the table's live stream, not by polling.
  let bPolls = 0;
  b.on('request', (r) => { if (r.method() === 'GET' && /^\/v1\/t\/[^/]+$/.test(new URL(r.url()).pathname)) bPolls++; });

  step = 'guest A types "1,000" as an amount: refused, not read as 1.00';
  await a.check('input[name="split"][value="amount"]');
  await a.fill('[data-testid="custom-amount"]', '1,000');
  await a.waitForSelector('#amount-hint.bad');
  if (!(await a.isDisabled('[data-testid="pay"]'))) throw new Error('Pay is enabled for "1,000"');
  await a.fill('[data-testid="custom-amount"]', '');

  step = 'guest A picks the pizza and the pasta and tips 10 %';
  await a.check('input[name="split"][value="items"]');
  await a.check(`[data-testid="pick-item"][data-item-id="${env('PIZZA_ID')}"]`);
  await a.check(`[data-testid="pick-item"][data-item-id="${env('PASTA_ID')}"]`);
  await a.click('[data-testid="tip-option"][data-bps="1000"]');
  await a.screenshot({ path: join(shots, 'guest-split.png') });
  // The server makes the payment and holds the items, but its answer never reaches the phone.
  let cut = 0, made;
  const answered = new Promise((resolve) => { made = resolve; });
  await a.route('**/v1/t/*/payments', async (route) => {
    if (route.request().method() !== 'POST' || cut++) return route.continue();
    await route.fetch();
    await route.abort('connectionreset');
    made();
  });
  await a.click('[data-testid="pay"]');

  step = 'the answer was lost: guest A retries the same payment (same Idempotency-Key), not a second one';
  // The bill now shows guest A's own hold, and guest A even reloads the page: the retry must
  // stay possible.
  await answered;
  await a.waitForFunction(() => /Retry.*29\.15/.test(document.querySelector('[data-testid="pay"]')?.textContent));
  await a.reload();
  await a.waitForSelector('body[data-state="bill"]');
  await a.waitForFunction(() => /Retry.*29\.15/.test(document.querySelector('[data-testid="pay"]')?.textContent));
  await a.click('[data-testid="pay"]');

  step = 'guest A pays 26.50 + 2.65 tip with the sandbox card';
  await a.waitForSelector('[data-testid="card-number"]');
  await a.waitForFunction(() => document.querySelector('[data-testid="pay-amount"]')?.textContent.includes('29.15'));
  await a.fill('[data-testid="card-number"]', '4242 4242 4242 4242');
  await a.click('[data-testid="confirm-card"]');
  await a.waitForSelector('[data-testid="receipt"]');
  await a.waitForSelector('body[data-state="receipt"]');
  await a.screenshot({ path: join(shots, 'guest-receipt.png') });
  const aLines = await a.locator('#r-lines').textContent();
  if (!aLines.includes('Margherita') || !aLines.includes('Carbonara')) throw new Error(`guest A's receipt lists: ${aLines}`);

  step = 'guest A has the receipt e-mailed';
  await a.fill('[data-testid="email"]', 'anna@example.com');
  await a.click('[data-testid="send-email"]');
  await a.waitForFunction(() => document.querySelector('#email-hint')?.textContent.includes('anna@example.com'));

  step = "guest B's open page shows guest A's payment, live, and B pays the rest as two equal shares";
  // French amounts: decimal comma, the euro sign after (with a narrow no-break space).
  await b.waitForFunction(() => /17,50\s?€/.test(document.querySelector('[data-testid="remaining"]')?.textContent), null, { timeout: 5000 });
  if (bPolls) throw new Error(`guest B's page polled the bill ${bPolls} times instead of living on the stream`);
  await b.check('input[name="split"][value="equal"]');
  await b.fill('[data-testid="equal-parts"]', '2');
  await b.fill('[data-testid="equal-count"]', '2');
  await b.click('[data-testid="tip-option"][data-bps="0"]');
  await b.click('[data-testid="pay"]');
  await b.waitForSelector('[data-testid="card-number"]');
  await b.waitForFunction(() => /17,50\s?€/.test(document.querySelector('[data-testid="pay-amount"]')?.textContent));
  await b.fill('[data-testid="card-number"]', '4242424242424242');
  await b.click('[data-testid="confirm-card"]');
  await b.waitForSelector('[data-testid="receipt"]');

  step = "guest B's receipt lists the lines her shares paid, in French, and prints in French with the venue's local time";
  await b.waitForFunction(() => document.querySelector('#r-totals')?.textContent.includes('égale'));
  const bLines = await b.locator('#r-lines').textContent();
  if (!bLines.includes('Tiramisu') || !bLines.includes('House red')) throw new Error(`guest B's receipt lists: ${bLines}`);
  const printed = await b.evaluate(() => fetch(document.querySelector('#r-print').href, { headers: { Accept: 'text/html' } }).then((r) => r.text()));
  for (const words of ['lang="fr"', 'Reçu n°', 'Payé le', '(Europe/Paris)', 'dont TVA 10']) {
    if (!printed.includes(words)) throw new Error(`the printable receipt lacks ${words}: ${printed}`);
  }

  step = 'the dashboard shows the table settled, without a reload';
  await staff.waitForSelector(`${table}[data-settled="true"]`, { timeout: 10_000 });
  await staff.waitForSelector(`${table}[data-status="paid"]`);
  await staff.screenshot({ path: join(shots, 'dashboard.png') });

  step = 'the server asks for a refund above their limit, and hears at once that a manager rejected it';
  await staff.click(table);
  await staff.waitForSelector('[data-testid="bill-detail"][open]');
  const refundForm = staff.locator('[data-testid="refund-form"]').first();
  await refundForm.locator('input[name="reason"]').fill('Wrong wine');
  await refundForm.locator('button[type="submit"]').click();
  const manager = { authorization: `Bearer ${env('MANAGER_KEY')}`, 'content-type': 'application/json' };
  let waiting = [];
  for (let i = 0; i < 50 && !waiting.length; i++) {
    const queue = await (await fetch(`${base}/v1/venues/${env('VENUE_ID')}/approvals`, { headers: manager })).json();
    waiting = queue.refunds;
    if (!waiting.length) await new Promise((r) => setTimeout(r, 100));
  }
  if (waiting.length !== 1) throw new Error(`expected one refund waiting, found ${waiting.length}`);
  const rejected = await fetch(`${base}/v1/refunds/${waiting[0].id}/reject`, { method: 'POST', headers: manager, body: '{}' });
  if (rejected.status !== 200) throw new Error(`rejecting the refund answered ${rejected.status}`);
  const told = staff.locator(`.alert[data-id="${waiting[0].id}"]`);
  await told.waitFor();
  const text = await told.textContent();
  if (!text.includes('Rejected by') || !text.includes('Wrong wine')) throw new Error(`the server was told: ${text}`);
  await staff.keyboard.press('Escape');

  step = 'guest B leaves 2 stars: the dashboard flags it at once';
  await b.check('[data-testid="feedback"] input[type="radio"][value="2"]');
  await b.click('[data-testid="send-feedback"]');
  await staff.waitForSelector('[data-testid="feedback-item"][data-rating="2"][data-flagged]', { timeout: 5000 });
  await staff.waitForSelector('.alert[data-id^="feedback-"]');
  await staff.screenshot({ path: join(shots, 'dashboard-feedback.png') });

  step = 'guest A leaves feedback';
  await a.check('[data-testid="feedback"] input[type="radio"][value="5"]');
  await a.click('[data-testid="send-feedback"]');
  await a.waitForFunction(() => !document.querySelector('[data-testid="send-feedback"]') ||
    document.querySelector('[data-testid="message"]')?.textContent.trim().length > 0);

  step = 'guest A calls a server for the bill, who sees why and resolves the call from the keyboard without losing focus';
  await a.click('[data-testid="call-server"]');
  await a.check('#r-bill');
  await a.click('[data-testid="send-call"]');
  const calling = a.locator('[data-testid="call-status"][data-status="open"]');
  await calling.waitFor();
  if (!(await calling.textContent()).includes('The bill')) throw new Error(`guest A reads: ${await calling.textContent()}`);
  const resolveButton = staff.locator('[data-testid="assistance"] button');
  await resolveButton.waitFor();
  const asked = await staff.locator('[data-testid="assistance"]').textContent();
  if (!asked.includes('The bill')) throw new Error(`the dashboard shows the call as: ${asked}`);
  await resolveButton.focus();
  await staff.keyboard.press('Enter');
  await staff.waitForFunction(() => !document.querySelector('[data-testid="assistance"]'));
  const focused = await staff.evaluate(() => document.activeElement?.id);
  if (focused !== 'assist-h') throw new Error(`focus went to ${focused || 'the page'}, not the list's heading`);
  if (!(await staff.locator('.alert.decision').count())) throw new Error('the rejection notice went with the call');
  step = 'guest A sees that the call was answered, and still after a reload';
  await a.waitForSelector('[data-testid="call-status"][data-status="resolved"]');
  await a.reload();
  await a.waitForSelector('[data-testid="call-status"][data-status="resolved"]');
  step = 'after the reload guest A finds her receipt and feedback again';
  await a.click('[data-testid="my-receipt"]');
  await a.waitForSelector('body[data-state="receipt"]');
  await a.click('#r-back');

  step = 'the pages pass an accessibility audit';
  await audit('guest page', guestUrl, { width: 390, height: 844 },
    (page) => page.waitForSelector('body[data-state="bill"], body[data-state="settled"]'));
  await audit('dashboard', `${base}/staff`, { width: 1280, height: 800 }, async (page) => {
    await page.fill('[data-testid="staff-key"]', env('SERVER_KEY'));
    await page.click('[data-testid="sign-in"]');
    await page.waitForSelector('body[data-state="floor"]');
    await page.click(table);
    await page.waitForSelector('[data-testid="bill-detail"][open]');
  });
  await audit('manager dashboard', `${base}/staff`, { width: 1280, height: 900 }, async (page) => {
    await page.fill('[data-testid="staff-key"]', env('MANAGER_KEY'));
    await page.click('[data-testid="sign-in"]');
    await page.waitForSelector('body[data-state="floor"]');
    await page.waitForSelector('[data-testid="report"] table.figures');
    await page.waitForSelector('[data-testid="audit-entry"][data-action="refund.rejected"]');
    await page.waitForSelector('[data-testid="feedback-item"][data-flagged]');
    const day = await page.locator('[data-testid="report"] table.figures').first().textContent();
    if (!day.includes('44.00') || !day.includes('2.65')) throw new Error(`the day's report reads: ${day}`);
    await page.screenshot({ path: join(shots, 'dashboard-manager.png'), fullPage: true });
  });
  await audit('sign-in', `${base}/staff`, { width: 390, height: 844 }, (page) => page.waitForSelector('[data-testid="staff-key"]'));
  await audit('API reference', `${base}/docs`, { width: 1280, height: 800 }, (page) => page.waitForSelector('details.op'));
  await audit('guest page, dark', guestUrl, { width: 390, height: 844 }, async (page) => {
    await page.waitForSelector('body[data-state="bill"], body[data-state="settled"]');
    await page.screenshot({ path: join(shots, 'guest-dark.png') });
  }, 'dark');
  await audit('API reference, dark', `${base}/docs`, { width: 390, height: 844 }, (page) => page.waitForSelector('details.op'), 'dark');
  await audit('dashboard, dark', `${base}/staff`, { width: 1280, height: 800 }, async (page) => {
    await page.fill('[data-testid="staff-key"]', env('SERVER_KEY'));
    await page.click('[data-testid="sign-in"]');
    await page.waitForSelector('body[data-state="floor"]');
    await page.screenshot({ path: join(shots, 'dashboard-dark.png') });
  }, 'dark');

  step = 'the API reference reads on a phone: full-sentence summaries, nested types explained, no sideways scrolling';
  const docs = await open('API reference on a phone', `${base}/docs`, { width: 390, height: 844 });
  await docs.waitForSelector('details.op');
  const pay = docs.locator('details.op', { has: docs.locator('.path', { hasText: /^\/v1\/t\/\{qr_token\}\/payments$/ }) }).first();
  const payBy = await pay.locator('.sum').textContent();
  if (!/^Pay part or all of the table's bill/.test(payBy)) throw new Error(`the payment's summary reads: ${payBy}`);
  await pay.locator('summary').click();
  await pay.locator('.nested').first().waitFor();
  const wide = await docs.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`the reference is ${wide} px wide on a 390 px phone`);
  await docs.screenshot({ path: join(shots, 'docs-phone.png') });

  step = 'the server closes the paid table from the dashboard';
  await staff.click(table);
  await staff.waitForSelector('[data-testid="bill-detail"][open]');
  await staff.click('[data-testid="close-table"]');
  await staff.waitForSelector(`${table}[data-status="free"]`, { timeout: 10_000 });

  if (problems.length) throw new Error(problems.join('\n'));
  console.log('pay at table in the browser: ok');
} catch (e) {
  console.error(`failed at: ${step}\n${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
