//! Stripe venues, with Stripe's HTTP API faked by wiremock and webhooks signed in the test.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tablepay_payments::stripe::sign;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, Venue, backend_tests, bill_with_qr, spawn_app_with};

pub const WEBHOOK_SECRET: &str = "whsec_tablepay_test";

pub async fn stripe_app(backend: Backend, stripe: &MockServer) -> TestApp {
    let base = stripe.uri();
    spawn_app_with(
        backend,
        &[
            ("TABLEPAY_STRIPE_SECRET_KEY", "sk_test_tablepay"),
            ("TABLEPAY_STRIPE_PUBLISHABLE_KEY", "pk_test_tablepay"),
            ("TABLEPAY_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("TABLEPAY_STRIPE_API_BASE", &base),
            ("TABLEPAY_STRIPE_TIMEOUT_MS", "500"),
        ],
    )
    .await
    .expect("app starts")
}

pub async fn stripe_venue(app: &TestApp, currency: &str, tax_mode: &str, tax_rate_bps: i64) -> Venue {
    let body = app
        .post(
            "/v1/venues",
            Some(ADMIN_TOKEN),
            json!({"name": "Stripe bistro", "currency": currency, "tax_mode": tax_mode, "tax_rate_bps": tax_rate_bps, "payment_provider": "stripe"}),
        )
        .await
        .expect(201);
    assert_eq!(body["venue"]["payment_provider"], "stripe");
    Venue {
        id: body["venue"]["id"].as_str().unwrap().to_owned(),
        pos_key: body["api_key"]["key"].as_str().unwrap().to_owned(),
        manager_key: body["manager_key"]["key"].as_str().unwrap().to_owned(),
        body,
    }
}

/// Answers PaymentIntent creation with an intent named after our payment id.
fn intent_responder(req: &Request) -> ResponseTemplate {
    let form = String::from_utf8_lossy(&req.body).to_string();
    let field = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_owned()))
            .unwrap_or_default()
    };
    let payment = field("metadata[tablepay_payment_id]");
    let id = format!("pi_{}", payment.replace('-', ""));
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "object": "payment_intent", "amount": field("amount").parse::<i64>().unwrap_or(0),
        "amount_capturable": 0, "amount_received": 0, "capture_method": "automatic", "confirmation_method": "automatic",
        "created": 1_700_000_000, "currency": field("currency"), "livemode": false, "metadata": {},
        "payment_method_types": ["card"], "status": "requires_payment_method", "client_secret": format!("{id}_secret_xyz")
    }))
}

/// PaymentIntent creation answered after `delay`.
fn slow_create(delay: Duration) -> Mock {
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(move |req: &Request| intent_responder(req).set_delay(delay))
}

pub async fn mount_create(stripe: &MockServer) {
    Mock::given(method("POST")).and(path("/v1/payment_intents")).respond_with(intent_responder).mount(stripe).await;
}

/// Answers PaymentIntent cancellation, expecting `times` calls.
async fn mount_cancel(stripe: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/payment_intents/pi_[0-9a-f]+/cancel$"))
        .respond_with(|req: &Request| {
            let id = req.url.path().split('/').nth(3).unwrap_or_default().to_owned();
            ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "object": "payment_intent", "amount": 4000, "amount_capturable": 0, "amount_received": 0,
                "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000,
                "currency": "eur", "livemode": false, "metadata": {}, "payment_method_types": ["card"], "status": "canceled"
            }))
        })
        .expect(times)
        .mount(stripe)
        .await;
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn event(id: &str, kind: &str, intent: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "object": "event", "type": kind, "data": {"object": {"id": intent, "object": "payment_intent"}}})).unwrap()
}

pub async fn deliver(app: &TestApp, body: &[u8], signature: &str) -> crate::helpers::Answer {
    let response = app
        .client
        .post(app.url("/v1/providers/stripe/webhook"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    crate::helpers::read(response).await
}

fn intent_of(payment: &Value) -> String {
    format!("pi_{}", payment["id"].as_str().unwrap().replace('-', ""))
}

async fn stripe_payment_settles_through_a_signed_webhook(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 1000).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 2, "unit_price": 2500}])).await;
    let payment = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 500}}))
        .await
        .expect(201);
    assert_eq!(payment["provider"], "stripe");
    let intent = intent_of(&payment);
    assert_eq!(
        payment["next_action"],
        json!({"type": "stripe_confirm", "client_secret": format!("{intent}_secret_xyz"), "publishable_key": "pk_test_tablepay"})
    );
    // What Stripe was asked: share + tip, our ids as metadata, a key derived from our payment id.
    let requests = stripe.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let form = String::from_utf8_lossy(&requests[0].body).to_string();
    assert!(form.contains("amount=5500") && form.contains("currency=eur"), "{form}");
    assert!(form.contains(&format!("metadata[tablepay_bill_id]={}", bill["id"].as_str().unwrap())), "{form}");
    assert_eq!(
        requests[0].headers.get("idempotency-key").unwrap(),
        &format!("tablepay-payment-{}", payment["id"].as_str().unwrap())
    );

    let body = event("evt_ok", "payment_intent.succeeded", &intent);
    let t = now();
    // Forged, stale and tampered deliveries are refused and change nothing.
    deliver(&app, &body, &format!("t={t},v1={}", sign(&body, "whsec_someone_else", t)))
        .await
        .assert_problem(400, "validation_failed");
    deliver(&app, &body, &format!("t={},v1={}", t - 400, sign(&body, WEBHOOK_SECRET, t - 400)))
        .await
        .assert_problem(400, "validation_failed");
    let tampered = event("evt_ok", "payment_intent.succeeded", "pi_other");
    deliver(&app, &tampered, &format!("t={t},v1={}", sign(&body, WEBHOOK_SECRET, t)))
        .await
        .assert_problem(400, "validation_failed");
    deliver(&app, &body, "").await.assert_problem(400, "validation_failed");
    assert_eq!(app.guest(&qr).await["bill"]["status"], "open");

    // The valid one, with a stale v1 beside it, is applied once.
    let good = format!("t={t},v1={},v1={}", sign(&body, "whsec_old", t), sign(&body, WEBHOOK_SECRET, t));
    assert_eq!(deliver(&app, &body, &good).await.expect(200), json!({"received": true}));
    let paid = app.guest(&qr).await;
    assert_eq!(paid["bill"]["status"], "paid");
    assert_eq!(paid["bill"]["totals"]["paid"], 5000);
    assert_eq!(paid["bill"]["totals"]["tips"], 500);
    let version = paid["bill"]["version"].clone();
    deliver(&app, &body, &good).await.expect(200);
    // A late failure after success, and an event type we do not use, change nothing.
    let late = event("evt_late", "payment_intent.payment_failed", &intent);
    deliver(&app, &late, &format!("t={t},v1={}", sign(&late, WEBHOOK_SECRET, t))).await.expect(200);
    let other = event("evt_other", "customer.created", "cus_1");
    deliver(&app, &other, &format!("t={t},v1={}", sign(&other, WEBHOOK_SECRET, t))).await.expect(200);
    let after = app.guest(&qr).await;
    assert_eq!(after["bill"]["version"], version, "replays and late events changed nothing");
    assert_eq!(after["bill"]["payments"][0]["status"], "succeeded");
}

async fn a_payment_that_loses_the_race_creates_no_intent(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let answers =
        join_all((0..6).map(|_| app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})))).await;
    assert_eq!(answers.iter().filter(|a| a.status.as_u16() == 201).count(), 1);
    for lost in answers.iter().filter(|a| a.status.as_u16() != 201) {
        lost.assert_problem(409, "amount_exceeds_remaining");
    }
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1, "only the winner reached Stripe");
}

/// Six phones send one request with one key at once while Stripe is slow: one payment, asked
/// of Stripe once, never failed by the duplicates; each duplicate gets that payment or 409
/// `idempotency_key_in_use`, and a later retry gets the answer.
async fn one_key_sent_six_times_at_once_asks_stripe_once(app: TestApp) {
    let stripe = MockServer::start().await;
    slow_create(Duration::from_millis(300)).mount(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let path = format!("/v1/t/{qr}/payments");
    let body = json!({"bill_id": bill["id"], "split": {"type": "remaining"}});
    let key = [("Idempotency-Key", "phone-7")];
    let answers = join_all((0..6).map(|_| app.call_with(Method::POST, &path, None, Some(body.clone()), &key))).await;
    let made: Vec<&Value> = answers.iter().filter(|a| a.status.as_u16() == 201).map(|a| &a.body).collect();
    assert!(!made.is_empty(), "{:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
    for other in answers.iter().filter(|a| a.status.as_u16() != 201) {
        other.assert_problem(409, "idempotency_key_in_use");
    }
    assert!(made.iter().all(|p| p["id"] == made[0]["id"] && p["status"] == "pending"), "{made:?}");
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1, "Stripe asked once");
    let retry = app.call_with(Method::POST, &path, None, Some(body), &key).await;
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let retry = retry.expect(201);
    assert_eq!(retry["id"], made[0]["id"]);
    assert_eq!(retry["status"], "pending");
    assert!(retry["next_action"]["client_secret"].is_string(), "{retry}");
}

async fn a_retry_after_a_provider_timeout_finds_the_same_intent(app: TestApp) {
    let stripe = MockServer::start().await;
    // The first answer comes too late for our 500 ms timeout; Stripe created the intent anyway.
    slow_create(Duration::from_millis(1500)).up_to_n_times(1).mount(&stripe).await;
    mount_create(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let path = format!("/v1/t/{qr}/payments");
    let body = json!({"bill_id": bill["id"], "split": {"type": "remaining"}});
    let key = [("Idempotency-Key", "phone-42")];
    let first = app.call_with(Method::POST, &path, None, Some(body.clone()), &key).await;
    first.assert_problem(503, "provider_unavailable");
    let retry = app.call_with(Method::POST, &path, None, Some(body), &key).await;
    assert_eq!(retry.status.as_u16(), 201, "{:?}", retry.body);
    let requests = stripe.received_requests().await.unwrap();
    assert!(requests.len() >= 2);
    let keys: Vec<_> =
        requests.iter().map(|r| r.headers.get("idempotency-key").unwrap().to_str().unwrap().to_owned()).collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "every attempt carries one key: {keys:?}");
    assert_eq!(keys[0], format!("tablepay-payment-{}", retry.body["id"].as_str().unwrap()));
    assert_eq!(app.guest(&qr).await["bill"]["payments"].as_array().unwrap().len(), 1, "one payment, not two");
}

async fn cancelling_cancels_the_intent(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    mount_cancel(&stripe, 1).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let payment = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let canceled = app
        .post(&format!("/v1/t/{qr}/payments/{}/cancel", payment["id"].as_str().unwrap()), None, json!({}))
        .await
        .expect(200);
    assert_eq!(canceled["status"], "canceled");
    let requests = stripe.received_requests().await.unwrap();
    let cancel = requests.iter().find(|r| r.url.path().ends_with("/cancel")).unwrap();
    assert_eq!(cancel.url.path(), format!("/v1/payment_intents/{}/cancel", intent_of(&payment)));
    assert_eq!(cancel.headers.get("idempotency-key").unwrap(), &format!("tablepay-cancel-{}", intent_of(&payment)));
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 4000);
}

async fn three_decimal_charges_are_rounded_by_the_tip(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    mount_cancel(&stripe, 1).await;
    let venue = stripe_venue(&app, "KWD", "exclusive", 500).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "K1", json!([{"name": "Mandi", "quantity": 1, "unit_price": 4250}])).await;
    let payment = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    // 4.463 KWD is not chargeable on Stripe (multiples of 10 fils): the bill share stays exact
    // and the charge is rounded up through the tip.
    assert_eq!(payment["amount"], 4463);
    assert_eq!(payment["tip_amount"], 7);
    assert_eq!(payment["total_amount"], 4470);
    let form = String::from_utf8_lossy(&stripe.received_requests().await.unwrap()[0].body).to_string();
    assert!(form.contains("amount=4470") && form.contains("currency=kwd"), "{form}");
    app.post(&format!("/v1/t/{qr}/payments/{}/cancel", payment["id"].as_str().unwrap()), None, json!({}))
        .await
        .expect(200);
    // A part that would leave less than Stripe's minimum (0.200 KWD here), or is below it, is
    // refused before any intent: no share is ever left unchargeable.
    let leaves_too_little =
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 4300}})).await;
    leaves_too_little.assert_problem(422, "validation_failed");
    assert!(leaves_too_little.body["detail"].as_str().unwrap().contains("0.163 KWD"), "{:?}", leaves_too_little.body);
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 150}}))
        .await
        .assert_problem(422, "validation_failed");
    let creations =
        stripe.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v1/payment_intents").count();
    assert_eq!(creations, 1, "no intent for refused parts");
}

async fn a_declined_card_keeps_the_hold_for_another_try(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "S1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let payment = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let intent = intent_of(&payment);
    let t = now();
    // On Stripe a decline is not final: the guest may try another card on the same intent.
    let declined = event("evt_decline", "payment_intent.payment_failed", &intent);
    deliver(&app, &declined, &format!("t={t},v1={}", sign(&declined, WEBHOOK_SECRET, t))).await.expect(200);
    let after = app.get(&format!("/v1/t/{qr}/payments/{}", payment["id"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(after["status"], "pending");
    assert_eq!(after["failure_code"], "payment_failed");
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 0, "the part stays held");
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}}))
        .await
        .assert_problem(409, "amount_exceeds_remaining");
    let ok = event("evt_second_card", "payment_intent.succeeded", &intent);
    deliver(&app, &ok, &format!("t={t},v1={}", sign(&ok, WEBHOOK_SECRET, t))).await.expect(200);
    assert_eq!(app.guest(&qr).await["bill"]["status"], "paid");
}

/// Money Stripe captured after we released the hold: applied when its part is still payable,
/// refunded in full at once otherwise; `payment.captured_after_release` tells staff either way.
async fn money_captured_after_release_is_applied_or_refunded(app: TestApp) {
    let stripe = MockServer::start().await;
    mount_create(&stripe).await;
    mount_cancel(&stripe, 2).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(wiremock::matchers::body_string_contains("amount=4000"))
        .and(wiremock::matchers::header_regex("idempotency-key", "^tablepay-late-capture-[0-9a-f-]{36}$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_late", "object": "refund", "amount": 4000, "created": 1_700_000_000, "currency": "eur", "status": "succeeded"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let feed = app
        .client
        .get(app.url(&format!("/v1/venues/{}/events", venue.id)))
        .bearer_auth(&venue.manager_key)
        .send()
        .await
        .unwrap();
    let menu = json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}]);
    let succeeded = |n: &str, intent: &str| {
        let body = event(&format!("evt_{n}"), "payment_intent.succeeded", intent);
        let t = now();
        (body.clone(), format!("t={t},v1={}", sign(&body, WEBHOOK_SECRET, t)))
    };
    let cancel = |qr: &str, p: &Value| format!("/v1/t/{qr}/payments/{}/cancel", p["id"].as_str().unwrap());

    // The guest cancelled, but 3-D Secure completed anyway: nothing else took the bill, so it counts.
    let (bill, qr) = bill_with_qr(&app, &venue, "S1", menu.clone()).await;
    let late = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    app.post(&cancel(&qr, &late), None, json!({})).await.expect(200);
    let (body, signature) = succeeded("applied", &intent_of(&late));
    deliver(&app, &body, &signature).await.expect(200);
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["status"], "paid");
    assert_eq!(
        (view["bill"]["totals"]["paid"].clone(), view["bill"]["payments"][0]["status"].clone()),
        (json!(4000), json!("succeeded"))
    );

    // Another guest paid the part meanwhile: the late money goes back in full, the bill counts it once.
    let (bill, qr) = bill_with_qr(&app, &venue, "S2", menu).await;
    let late = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    app.post(&cancel(&qr, &late), None, json!({})).await.expect(200);
    let other = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let (body, signature) = succeeded("other", &intent_of(&other));
    deliver(&app, &body, &signature).await.expect(200);
    let (body, signature) = succeeded("refunded", &intent_of(&late));
    deliver(&app, &body, &signature).await.expect(200);
    let paid = app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), Some(&venue.pos_key)).await.expect(200);
    assert_eq!((paid["status"].clone(), paid["totals"]["paid"].clone()), (json!("paid"), json!(4000)));
    let refunded = paid["payments"].as_array().unwrap().iter().find(|p| p["id"] == late["id"]).unwrap().clone();
    assert_eq!((refunded["status"].clone(), refunded["refunded_amount"].clone()), (json!("canceled"), json!(4000)));
    // Replaying Stripe's event changes nothing and refunds nothing twice (the mock expects one refund).
    deliver(&app, &body, &signature).await.expect(200);

    let text = crate::webhooks::read_until(feed, "event: payment.refunded", Duration::from_secs(10)).await;
    assert_eq!(text.matches("event: payment.captured_after_release").count(), 2, "{text}");
    assert!(text.contains("\"outcome\":\"applied\"") && text.contains("\"outcome\":\"refunding\""), "{text}");
}

backend_tests!(
    one_key_sent_six_times_at_once_asks_stripe_once,
    money_captured_after_release_is_applied_or_refunded,
    a_declined_card_keeps_the_hold_for_another_try,
    stripe_payment_settles_through_a_signed_webhook,
    a_payment_that_loses_the_race_creates_no_intent,
    a_retry_after_a_provider_timeout_finds_the_same_intent,
    cancelling_cancels_the_intent,
    three_decimal_charges_are_rounded_by_the_tip,
);
