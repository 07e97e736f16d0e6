// A guest on a Stripe venue pays, is sent away for 3-D Secure and comes back before Stripe's
// webhook has arrived. Run by tests/api/browser.rs, which seeds a Stripe venue (Stripe's API
// faked by wiremock) and passes: BASE_URL, QR_TOKEN, STRIPE_WEBHOOK_SECRET, SHOTS_DIR, CHROMIUM.
//
// Stripe.js cannot be fetched here (no network), so https://js.stripe.com/v3/ is answered by a
// stand-in with the three calls the page makes; its confirmPayment redirects back as Stripe
// does after a 3-D Secure check. The page's Content-Security-Policy still applies to it.
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { STEP_TIMEOUT, env, launch, shotsDir, watch } from './scenario.mjs';

const base = env('BASE_URL');
const shots = shotsDir();
const problems = [];

const STRIPE_JS = `window.Stripe = function () {
  return {
    elements: function (options) {
      return { secret: options.clientSecret, create: function () {
        return { mount: function (at) { document.querySelector(at).textContent = 'Card (Stripe stand-in)'; } };
      } };
    },
    confirmPayment: function (args) {
      var secret = args.elements.secret, url = new URL(args.confirmParams.return_url);
      url.searchParams.set('payment_intent', secret.split('_secret_')[0]);
      url.searchParams.set('payment_intent_client_secret', secret);
      url.searchParams.set('redirect_status', 'succeeded');
      location.assign(url.href);
      return new Promise(function () {});
    }
  };
};`;

/// Stripe's event for the intent, signed as Stripe signs (`t=…,v1=HMAC-SHA256("{t}.{body}")`).
async function stripeSays(type, intent) {
  const body = JSON.stringify({ id: `evt_${intent}`, object: 'event', type, data: { object: { id: intent, object: 'payment_intent' } } });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', env('STRIPE_WEBHOOK_SECRET')).update(`${t}.${body}`).digest('hex');
  const res = await fetch(`${base}/v1/providers/stripe/webhook`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` }, body,
  });
  if (res.status !== 200) throw new Error(`the webhook answered ${res.status}: ${await res.text()}`);
}

const browser = await launch();
let step = 'start';
try {
  step = 'the guest opens the page of a Stripe venue';
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-GB' });
  let stripeLoads = 0;
  await context.route('https://js.stripe.com/v3/**', (route) => {
    stripeLoads++;
    return route.fulfill({ status: 200, contentType: 'application/javascript', body: STRIPE_JS });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  watch(page, 'guest', problems);
  await page.goto(`${base}/t/${env('QR_TOKEN')}`);
  await page.waitForSelector('body[data-state="bill"]');
  if (stripeLoads) throw new Error('Stripe.js was loaded before the guest chose to pay');

  step = 'the guest pays everything; the Stripe form appears';
  await page.click('[data-testid="tip-option"][data-bps="0"]');
  await page.click('[data-testid="pay"]');
  await page.waitForFunction(() => document.querySelector('#stripe-el')?.textContent.includes('Stripe stand-in'));
  await page.waitForFunction(() => !document.querySelector('[data-testid="confirm-card"]').disabled);

  step = 'Stripe sends the guest away for 3-D Secure and back';
  await Promise.all([page.waitForURL(/payment_intent=/), page.click('[data-testid="confirm-card"]')]);
  await page.waitForURL((url) => !url.searchParams.has('payment_intent'));

  step = 'back before the webhook: the page waits for the outcome, with no second card form';
  await page.waitForFunction(() => /Processing/i.test(document.querySelector('#stripe-status')?.textContent));
  if (!(await page.isDisabled('[data-testid="confirm-card"]'))) throw new Error('the pay button is live again');
  if ((await page.textContent('#stripe-el')).trim()) throw new Error('a fresh Stripe form was mounted');
  await page.screenshot({ path: join(shots, 'guest-stripe-return.png') });
  // A reload while waiting must not offer the card form again either.
  await page.reload();
  await page.waitForFunction(() => /Processing/i.test(document.querySelector('#stripe-status')?.textContent));
  if ((await page.textContent('#stripe-el')).trim()) throw new Error('a reload mounted a fresh Stripe form');

  step = "Stripe's webhook arrives: the guest sees the receipt";
  const intent = await page.evaluate(async () => {
    const entry = Object.entries(sessionStorage).find(([key]) => /^tablepay:[^:]+$/.test(key));
    const saved = entry && JSON.parse(entry[1]);
    return saved && 'pi_' + saved.id.replaceAll('-', '');
  });
  if (!intent) throw new Error('the pending payment was not remembered across the redirect');
  await stripeSays('payment_intent.succeeded', intent);
  await page.waitForSelector('[data-testid="receipt"]');
  await page.waitForSelector('body[data-state="receipt"]');

  step = 'the receipt of the whole bill lists what was eaten, not "the rest of the bill"';
  await page.waitForFunction(() => document.querySelector('#r-lines')?.textContent.includes('Menu'));
  const totals = await page.textContent('#r-totals');
  if (!totals.includes('The whole bill')) throw new Error(`the receipt's totals read: ${totals}`);

  if (problems.length) throw new Error(problems.join('\n'));
  console.log('back from 3-D Secure: ok');
} catch (e) {
  console.error(`failed at: ${step}\n${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
