//! Empowered staff: comps and refunds within limits, approvals, the audit log, the floor,
//! guests calling for help and leaving feedback, the daily report.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{ADMIN_TOKEN, CARD_OK, TestApp, Venue, backend_tests, bill_with_qr, spawn_app_with};
use crate::receiver::Receiver;
use crate::stripe::{WEBHOOK_SECRET, deliver, now, stripe_app, stripe_venue};

/// Stripe reports the intent succeeded, through a signed webhook.
async fn succeed(app: &TestApp, intent: &str) {
    let event = serde_json::to_vec(
        &json!({"id": format!("evt_{intent}"), "type": "payment_intent.succeeded", "data": {"object": {"id": intent}}}),
    )
    .unwrap();
    let t = now();
    deliver(app, &event, &format!("t={t},v1={}", tablepay_payments::stripe::sign(&event, WEBHOOK_SECRET, t)))
        .await
        .expect(200);
}

/// A venue with limits (comps 10.00, refunds 5.00 per bill), two servers and its manager.
pub async fn venue_with_staff(app: &TestApp) -> (Venue, String, String) {
    let body = app
        .post(
            "/v1/venues",
            Some(ADMIN_TOKEN),
            json!({"name": "Brasserie", "currency": "EUR", "tax_mode": "exclusive", "tax_rate_bps": 1000,
                   "limits": {"server_comp_limit": 1000, "server_refund_limit": 500}}),
        )
        .await
        .expect(201);
    let venue = Venue {
        id: body["venue"]["id"].as_str().unwrap().to_owned(),
        pos_key: body["api_key"]["key"].as_str().unwrap().to_owned(),
        manager_key: body["manager_key"]["key"].as_str().unwrap().to_owned(),
        body,
    };
    let mut keys = Vec::new();
    for name in ["Ana", "Ben"] {
        let s = app
            .post(
                &format!("/v1/venues/{}/staff", venue.id),
                Some(&venue.manager_key),
                json!({"name": name, "role": "server"}),
            )
            .await
            .expect(201);
        keys.push(s["key"].as_str().unwrap().to_owned());
    }
    (venue, keys[0].clone(), keys[1].clone())
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// A guest pays the bill's first line, by card.
async fn pay_first_line(app: &TestApp, bill: &Value, qr: &str) {
    let p = app
        .pay(
            qr,
            json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": bill["items"][0]["id"]}]}}),
        )
        .await
        .expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
}

async fn total(app: &TestApp, venue: &Venue, bill: &Value) -> i64 {
    app.get(&format!("/v1/bills/{}", id(bill)), Some(&venue.pos_key)).await.expect(200)["totals"]["total"]
        .as_i64()
        .unwrap()
}

async fn comps_apply_within_the_limit_and_wait_above_it(app: TestApp) {
    let (venue, ana, ben) = venue_with_staff(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", json!([{"name": "Entrecôte", "quantity": 1, "unit_price": 2000}, {"name": "Wine", "quantity": 1, "unit_price": 1500}])).await;
    assert_eq!(bill["totals"]["total"], 3850);
    let path = format!("/v1/bills/{}/adjustments", id(&bill));
    let app_ref = &app;
    let adjust = |key: &str, body: Value| {
        let (path, key) = (path.clone(), key.to_owned());
        async move { app_ref.post(&path, Some(&key), body).await }
    };
    // Within the limit: applied at once, and the total follows (tax included).
    let applied = adjust(
        &ana,
        json!({"type": "discount", "item_id": bill["items"][0]["id"], "amount": 500, "reason": "slow kitchen"}),
    )
    .await
    .expect(201);
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["created_by"]["name"], "Ana");
    assert_eq!(applied["created_by"]["role"], "server");
    assert_eq!(total(&app, &venue, &bill).await, 3850 - 550);
    // Above what is left of Ana's limit: it waits, and nothing changes yet.
    let waiting = adjust(&ana, json!({"type": "comp", "item_id": bill["items"][1]["id"], "reason": "corked wine"}))
        .await
        .expect(202);
    assert_eq!(waiting["status"], "pending_approval");
    assert_eq!(waiting["amount"], 1500);
    assert_eq!(total(&app, &venue, &bill).await, 3300);
    // Neither the requester nor another server may approve; a manager does.
    let approve = format!("/v1/adjustments/{}/approve", id(&waiting));
    app.post(&approve, Some(&ana), json!({})).await.assert_problem(403, "forbidden");
    app.post(&approve, Some(&ben), json!({})).await.assert_problem(403, "forbidden");
    app.post(&approve, Some(&venue.pos_key), json!({})).await.assert_problem(403, "forbidden");
    let approved = app.post(&approve, Some(&venue.manager_key), json!({})).await.expect(200);
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["approved_by"]["name"], "Manager");
    assert_eq!(total(&app, &venue, &bill).await, 3300 - 1650);
    app.post(&approve, Some(&venue.manager_key), json!({})).await.assert_problem(409, "conflict");
    // A rejected request changes nothing.
    let asked = adjust(&ben, json!({"type": "discount", "percent_bps": 9000, "reason": "regulars"})).await.expect(202);
    assert_eq!(asked["amount"], 1350, "90 % of the 15.00 still discountable");
    let rejected = app
        .post(&format!("/v1/adjustments/{}/reject", id(&asked)), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(total(&app, &venue, &bill).await, 1650);
    // A manager is not limited. The bill lists every adjustment.
    adjust(&venue.manager_key, json!({"type": "discount", "amount": 500, "reason": "birthday"})).await.expect(201);
    let now = app.get(&format!("/v1/bills/{}", id(&bill)), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(now["totals"]["total"], 1100);
    assert_eq!(now["totals"]["discounts"], 500 + 1500 + 500);
    assert_eq!(now["adjustments"].as_array().unwrap().len(), 4);
    // Guests see names, not staff ids.
    let guest = app.guest(&qr).await;
    assert!(guest["bill"]["adjustments"][0]["created_by"].get("id").is_none());
    // The POS is no staff member; bad input is refused.
    adjust(&venue.pos_key, json!({"type": "comp", "reason": "x"})).await.assert_problem(403, "forbidden");
    adjust(&ana, json!({"type": "gift", "reason": "x"})).await.assert_problem(422, "validation_failed");
    adjust(&ana, json!({"type": "discount", "reason": "x"})).await.assert_problem(422, "validation_failed");
    adjust(&ana, json!({"type": "discount", "amount": 10, "percent_bps": 10, "reason": "x"}))
        .await
        .assert_problem(422, "validation_failed");
    adjust(&ana, json!({"type": "discount", "amount": 10, "reason": ""}))
        .await
        .assert_problem(422, "validation_failed");
    // The audit log holds each of those actions, with who acted and who approved.
    let log =
        app.get(&format!("/v1/venues/{}/audit-log?limit=6", venue.id), Some(&venue.manager_key)).await.expect(200);
    let entries: Vec<(String, String, Value, Value)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"]["name"].as_str().unwrap().to_owned(),
                e["amount"].clone(),
                e["approved_by"].clone(),
            )
        })
        .collect();
    let entry =
        |a: &str, who: &str, amount: i64, approver: Value| (a.to_owned(), who.to_owned(), json!(amount), approver);
    assert_eq!(
        entries,
        vec![
            entry("adjustment.applied", "Ana", 500, Value::Null),
            entry("adjustment.requested", "Ana", 1500, Value::Null),
            entry("adjustment.approved", "Manager", 1500, json!("Manager")),
            entry("adjustment.requested", "Ben", 1350, Value::Null),
            entry("adjustment.rejected", "Manager", 1350, json!("Manager")),
            entry("adjustment.applied", "Manager", 500, Value::Null),
        ]
    );
    assert_eq!(log["data"][0]["bill_id"], bill["id"]);
    assert_eq!(log["data"][0]["reason"], "birthday");
}

async fn an_adjustment_never_goes_below_what_is_paid(app: TestApp) {
    let (venue, _ana, _) = venue_with_staff(&app).await;
    let (bill, qr) = bill_with_qr(
        &app,
        &venue,
        "T1",
        json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}, {"name": "Tea", "quantity": 1, "unit_price": 400}]),
    )
    .await;
    pay_first_line(&app, &bill, &qr).await;
    let path = format!("/v1/bills/{}/adjustments", id(&bill));
    app.post(
        &path,
        Some(&venue.manager_key),
        json!({"type": "comp", "item_id": bill["items"][0]["id"], "reason": "x"}),
    )
    .await
    .assert_problem(409, "conflict");
    app.post(&path, Some(&venue.manager_key), json!({"type": "discount", "amount": 401, "reason": "x"}))
        .await
        .assert_problem(409, "conflict");
    // A bill-wide discount lands on what is still open: the tea.
    let d = app
        .post(&path, Some(&venue.manager_key), json!({"type": "discount", "amount": 200, "reason": "x"}))
        .await
        .expect(201);
    assert_eq!(d["amount"], 200);
    let now = app.get(&format!("/v1/bills/{}", id(&bill)), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(now["items"][0]["amount"], 2200, "the paid line is untouched");
    assert_eq!(now["items"][1]["amount"], 220);
    assert_eq!(now["totals"]["remaining"], 220);
}

async fn refunds_follow_limits_and_never_exceed_the_capture(app: TestApp) {
    let (venue, ana, _) = venue_with_staff(&app).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}])).await;
    let pending = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 200}}))
        .await
        .expect(201);
    let refunds = format!("/v1/payments/{}/refunds", id(&pending));
    app.post(&refunds, Some(&ana), json!({"amount": 100, "reason": "x"})).await.assert_problem(409, "conflict");
    app.confirm(&id(&pending), CARD_OK).await.expect(200);
    let first = app.post(&refunds, Some(&ana), json!({"amount": 300, "reason": "cold soup"})).await.expect(201);
    assert_eq!(first["status"], "succeeded");
    let payment = app.get(&format!("/v1/t/{qr}/payments/{}", id(&pending)), None).await.expect(200);
    assert_eq!(payment["status"], "partially_refunded");
    assert_eq!(payment["refunded_amount"], 300);
    // 3.00 + 3.00 passes Ana's 5.00 limit: it waits for a manager.
    let second = app.post(&refunds, Some(&ana), json!({"amount": 300, "reason": "wrong wine"})).await.expect(202);
    assert_eq!(second["status"], "pending_approval");
    app.post(&format!("/v1/refunds/{}/approve", id(&second)), Some(&ana), json!({}))
        .await
        .assert_problem(403, "forbidden");
    let approved = app
        .post(&format!("/v1/refunds/{}/approve", id(&second)), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    assert_eq!(approved["status"], "succeeded");
    assert_eq!(approved["approved_by"]["name"], "Manager");
    // 24.00 captured (22.00 with tax, 2.00 tip), 6.00 refunded: 18.01 is too much, the rest (by default) is fine.
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1801, "reason": "x"}))
        .await
        .assert_problem(409, "conflict");
    let rest = app.post(&refunds, Some(&venue.manager_key), json!({"reason": "all of it"})).await.expect(201);
    assert_eq!(rest["amount"], 1800);
    let payment = app.get(&format!("/v1/t/{qr}/payments/{}", id(&pending)), None).await.expect(200);
    assert_eq!(payment["status"], "refunded");
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1, "reason": "x"}))
        .await
        .assert_problem(409, "conflict");
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 0, "reason": "x"}))
        .await
        .assert_problem(422, "validation_failed");

    // Every action is in the audit log with its actor and approver.
    let log = app.get(&format!("/v1/venues/{}/audit-log", venue.id), Some(&venue.manager_key)).await.expect(200);
    let actions: Vec<(String, String, Value)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"]["name"].as_str().unwrap().to_owned(),
                e["approved_by"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("refund.succeeded".to_owned(), "Manager".to_owned(), Value::Null),
            ("refund.succeeded".to_owned(), "Manager".to_owned(), json!("Manager")),
            ("refund.requested".to_owned(), "Ana".to_owned(), Value::Null),
            ("refund.succeeded".to_owned(), "Ana".to_owned(), Value::Null),
            ("staff.created".to_owned(), "Manager".to_owned(), Value::Null),
            ("staff.created".to_owned(), "Manager".to_owned(), Value::Null),
        ]
    );
    app.get(&format!("/v1/venues/{}/audit-log", venue.id), Some(&ana)).await.assert_problem(403, "forbidden");
    let page =
        app.get(&format!("/v1/venues/{}/audit-log?limit=2", venue.id), Some(&venue.manager_key)).await.expect(200);
    let next = page["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(&format!("/v1/venues/{}/audit-log?limit=2&cursor={next}", venue.id), Some(&venue.manager_key))
        .await
        .expect(200);
    assert_eq!(page2["data"][0]["action"], "refund.requested");
}

async fn stripe_refunds_go_through_stripe(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = stripe_app(app.backend, &stripe).await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_refundme", "object": "payment_intent", "amount": 3000, "amount_capturable": 0, "amount_received": 0,
            "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000, "currency": "eur",
            "livemode": false, "metadata": {}, "payment_method_types": ["card"], "status": "requires_payment_method", "client_secret": "s"
        })))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(body_string_contains("payment_intent=pi_refundme"))
        .and(body_string_contains("amount=1000"))
        .and(header_regex("idempotency-key", "^tablepay-refund-[0-9a-f-]{36}$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_1", "object": "refund", "amount": 1000, "created": 1_700_000_000, "currency": "eur", "status": "succeeded", "payment_intent": "pi_refundme"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(402).set_body_json(
                json!({"error": {"type": "invalid_request_error", "message": "Charge already disputed"}}),
            ),
        )
        .mount(&stripe)
        .await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let payment = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    succeed(&app, "pi_refundme").await;
    let refunds = format!("/v1/payments/{}/refunds", id(&payment));
    let done = app
        .post(&refunds, Some(&venue.manager_key), json!({"amount": 1000, "reason": "overcharged"}))
        .await
        .expect(201);
    assert_eq!(done["status"], "succeeded");
    // Stripe refuses the next one: reported, and nothing more counts as refunded.
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 500, "reason": "again"}))
        .await
        .assert_problem(502, "provider_error");
    let now = app.get(&format!("/v1/t/{qr}/payments/{}", id(&payment)), None).await.expect(200);
    assert_eq!(now["refunded_amount"], 1000);
    assert_eq!(now["status"], "partially_refunded");
}

async fn guests_reach_staff_and_the_floor_shows_it(app: TestApp) {
    let app = spawn_app_with(app.backend, &[("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")]).await.unwrap();
    let receiver = Receiver::start().await;
    let (venue, ana, _) = venue_with_staff(&app).await;
    app.post(
        &format!("/v1/venues/{}/webhook-endpoints", venue.id),
        Some(&venue.pos_key),
        json!({"url": receiver.url, "event_types": ["assistance.requested", "feedback.received"]}),
    )
    .await
    .expect(201);
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}])).await;
    app.create_table(&venue, "T2").await;
    let call =
        app.post(&format!("/v1/t/{qr}/assistance"), None, json!({"reason": "more bread please"})).await.expect(201);
    assert_eq!(call["status"], "open");
    let again = app.post(&format!("/v1/t/{qr}/assistance"), None, json!({})).await.expect(201);
    assert_eq!(again["id"], call["id"], "pressing twice is one call");
    let heard = receiver.wait_for("assistance.requested", 1, Duration::from_secs(5)).await;
    assert_eq!(heard[0].json()["data"]["assistance"]["table_label"], "T1");
    assert_eq!(heard[0].json()["data"]["assistance"]["reason"], "more bread please");

    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await.expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
    let floor = app.get(&format!("/v1/venues/{}/floor", venue.id), Some(&ana)).await.expect(200);
    let tables = floor["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0]["label"], "T1");
    assert_eq!(tables[0]["status"], "partially_paid");
    assert_eq!(
        tables[0]["bill"],
        json!({"id": bill["id"], "total": 2200, "paid": 1000, "pending": 0, "remaining": 1200, "tips": 0, "refunded": 0})
    );
    assert_eq!(tables[0]["open_assistance"], 1);
    assert_eq!(tables[1]["status"], "free");
    assert_eq!(tables[1]["bill"], Value::Null);
    let resolved = app.post(&format!("/v1/assistance/{}/resolve", id(&call)), Some(&ana), json!({})).await.expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_by"], "Ana");
    let floor = app.get(&format!("/v1/venues/{}/floor", venue.id), Some(&ana)).await.expect(200);
    assert_eq!(floor["tables"][0]["open_assistance"], 0);

    for (rating, status) in [(json!(0), 422), (json!(6), 422), (json!(4.5), 400), (json!("5"), 400)] {
        app.post(&format!("/v1/t/{qr}/feedback"), None, json!({"rating": rating}))
            .await
            .assert_problem(status, "validation_failed");
    }
    app.post(&format!("/v1/t/{qr}/feedback"), None, json!({"rating": 3, "comment": "x".repeat(1001)}))
        .await
        .assert_problem(422, "validation_failed");
    let low = app
        .post(&format!("/v1/t/{qr}/feedback"), None, json!({"rating": 2, "comment": "too loud", "payment_id": p["id"]}))
        .await
        .expect(201);
    assert_eq!(low["flagged"], true);
    let good = app.post(&format!("/v1/t/{qr}/feedback"), None, json!({"rating": 5})).await.expect(201);
    assert_eq!(good["flagged"], false);
    // A retried submission with the same Idempotency-Key is the same feedback, not a second one.
    let key = [("Idempotency-Key", "feedback-phone-1")];
    let once =
        app.call_with(Method::POST, &format!("/v1/t/{qr}/feedback"), None, Some(json!({"rating": 4})), &key).await;
    let twice =
        app.call_with(Method::POST, &format!("/v1/t/{qr}/feedback"), None, Some(json!({"rating": 4})), &key).await;
    assert_eq!((once.status.as_u16(), twice.status.as_u16()), (201, 201));
    assert_eq!(once.body["id"], twice.body["id"]);
    assert_eq!(twice.headers["idempotent-replayed"], "true");
    let notes = receiver.wait_for("feedback.received", 3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.of_type("feedback.received").len(), 3);
    assert_eq!(notes[0].json()["data"]["feedback"]["flagged"], true);
    assert_eq!(notes[0].json()["data"]["feedback"]["comment"], "too loud");
}

async fn the_floor_costs_the_same_for_two_tables_or_two_hundred(app: TestApp) {
    let quiet = [("TABLEPAY_WEBHOOK_WORKER", "false"), ("TABLEPAY_SWEEP_INTERVAL_MS", "60000")];
    let app = spawn_app_with(app.backend, &quiet).await.unwrap();
    let small = app.create_venue("EUR", "inclusive", 0, 0).await;
    let large = app.create_venue("EUR", "inclusive", 0, 0).await;
    for (venue, tables) in [(&small, 2), (&large, 200)] {
        for i in 0..tables {
            let items = json!([{"name": "Dish", "quantity": 1, "unit_price": 1000 + i}, {"name": "Drink", "quantity": 2, "unit_price": 300}]);
            let (bill, qr) = bill_with_qr(&app, venue, &format!("T{i:03}"), items).await;
            if i % 2 == 0 {
                let p = app
                    .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 500}}))
                    .await
                    .expect(201);
                app.confirm(&id(&p), CARD_OK).await.expect(200);
            }
        }
    }
    let cost = |venue: &Venue| {
        let (path, key) = (format!("/v1/venues/{}/floor", venue.id), venue.manager_key.clone());
        let app = &app;
        async move {
            let before = app.db.queries_run();
            let floor = app.get(&path, Some(&key)).await.expect(200);
            (app.db.queries_run() - before, floor["tables"].as_array().unwrap().len())
        }
    };
    let (small_queries, small_tables) = cost(&small).await;
    let (large_queries, large_tables) = cost(&large).await;
    assert_eq!((small_tables, large_tables), (2, 200));
    assert_eq!(small_queries, large_queries, "the floor view's SQL does not grow with the tables");
    // Ten reads of the floor (two of them since tenders and refunds count toward `paid`), the
    // credential, and the transaction around them.
    assert!(small_queries <= 14, "{small_queries} queries");
}

async fn the_daily_report_adds_up_by_server_and_provider(app: TestApp) {
    let (venue, _, _) = venue_with_staff(&app).await;
    let ana = app.get(&format!("/v1/venues/{}/staff", venue.id), Some(&venue.manager_key)).await.expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Ana")
        .unwrap()["id"]
        .clone();
    let table = app.create_table(&venue, "T1").await;
    let bill = app
        .post(&format!("/v1/venues/{}/bills", venue.id), Some(&venue.pos_key), json!({"table_id": table["id"], "server_id": ana, "items": [{"name": "Menu", "quantity": 1, "unit_price": 2000}]}))
        .await
        .expect(201);
    let qr = table["qr_token"].as_str().unwrap();
    let p = app
        .pay(qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"percent_bps": 1000}}))
        .await
        .expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
    app.post(
        &format!("/v1/payments/{}/refunds", id(&p)),
        Some(&venue.manager_key),
        json!({"amount": 250, "reason": "x"}),
    )
    .await
    .expect(201);
    let today = chrono::Utc::now().date_naive();
    let report = app
        .get(&format!("/v1/venues/{}/reports/daily?date={today}", venue.id), Some(&venue.manager_key))
        .await
        .expect(200);
    assert_eq!(report["totals"], json!({"payments": 1, "sales": 2200, "tips": 220, "refunds": 250}));
    assert_eq!(report["by_server"][0]["server"]["name"], "Ana");
    assert_eq!(report["by_server"][0]["tips"], 220);
    assert_eq!(report["by_provider"][0]["provider"], "sandbox");
    let yesterday = today.pred_opt().unwrap();
    let empty = app
        .get(&format!("/v1/venues/{}/reports/daily?date={yesterday}", venue.id), Some(&venue.manager_key))
        .await
        .expect(200);
    assert_eq!(empty["totals"]["payments"], 0);
    app.get(&format!("/v1/venues/{}/reports/daily?date=2026-13-01", venue.id), Some(&venue.manager_key))
        .await
        .assert_problem(400, "validation_failed");
}

async fn a_discount_down_to_what_is_paid_settles_the_table(app: TestApp) {
    let (venue, _, _) = venue_with_staff(&app).await;
    let (bill, qr) = bill_with_qr(
        &app,
        &venue,
        "T1",
        json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}, {"name": "Tea", "quantity": 1, "unit_price": 400}]),
    )
    .await;
    pay_first_line(&app, &bill, &qr).await;
    app.post(
        &format!("/v1/bills/{}/adjustments", id(&bill)),
        Some(&venue.manager_key),
        json!({"type": "comp", "item_id": bill["items"][1]["id"], "reason": "on the house"}),
    )
    .await
    .expect(201);
    let now = app.get(&format!("/v1/bills/{}", id(&bill)), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(now["totals"]["remaining"], 0);
    assert_eq!(now["status"], "paid", "nothing left to pay: the table settled");
}

/// A comp above the server's limit is tried in a savepoint that is always rolled back (would it
/// ever apply?). Tried on a bill it would settle, that trial settles the table in the
/// savepoint: nothing of it, `table.settled` included, may outlive the rollback. The table
/// settles once, when a manager approves.
async fn a_comp_waiting_for_approval_settles_nothing_until_approved(app: TestApp) {
    let app =
        spawn_app_with(app.backend, &[("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")]).await.expect("app starts");
    let (venue, ana, _) = venue_with_staff(&app).await;
    let receiver = crate::ledger::settled_hook(&app, &venue).await;
    let (bill, qr) = bill_with_qr(
        &app,
        &venue,
        "T1",
        json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}, {"name": "Wine", "quantity": 1, "unit_price": 1500}]),
    )
    .await;
    pay_first_line(&app, &bill, &qr).await;
    // The wine (16.50 with tax) is all that is left, and above Ana's limit of 10.00.
    let waiting = app
        .post(
            &format!("/v1/bills/{}/adjustments", id(&bill)),
            Some(&ana),
            json!({"type": "comp", "item_id": bill["items"][1]["id"], "reason": "corked"}),
        )
        .await
        .expect(202);
    assert_eq!(waiting["status"], "pending_approval");
    let open = app.get(&format!("/v1/bills/{}", id(&bill)), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(open["status"], "open");
    assert_eq!(open["totals"]["remaining"], 1650);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.of_type("table.settled").is_empty(), "the rolled-back trial settled nothing");
    app.post(&format!("/v1/adjustments/{}/approve", id(&waiting)), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    let settled = receiver.wait_for("table.settled", 1, Duration::from_secs(5)).await;
    assert_eq!(settled.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.of_type("table.settled").len(), 1, "table.settled once");
    let paid = app.get(&format!("/v1/bills/{}", id(&bill)), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(paid["status"], "paid");
}

async fn a_refund_with_an_unknown_outcome_is_retried_not_repeated(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = stripe_app(app.backend, &stripe).await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_slow", "object": "payment_intent", "amount": 3000, "amount_capturable": 0, "amount_received": 0,
            "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000, "currency": "eur",
            "livemode": false, "metadata": {}, "payment_method_types": ["card"], "status": "requires_payment_method", "client_secret": "s"
        })))
        .mount(&stripe)
        .await;
    let refund = json!({"id": "re_slow", "object": "refund", "amount": 700, "created": 1_700_000_000, "currency": "eur", "status": "succeeded", "payment_intent": "pi_slow"});
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund.clone()).set_delay(Duration::from_millis(1500)))
        .up_to_n_times(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund))
        .mount(&stripe)
        .await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 0).await;
    let manager = venue.manager_key.clone();
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let payment = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    succeed(&app, "pi_slow").await;
    let path_ = format!("/v1/payments/{}/refunds", id(&payment));
    let key = [("Idempotency-Key", "refund-table-1")];
    let request = json!({"amount": 700, "reason": "wrong dish"});
    let first = app.call_with(Method::POST, &path_, Some(&manager), Some(request.clone()), &key).await;
    first.assert_problem(503, "provider_unavailable");
    // While the outcome is unknown the amount stays reserved.
    app.post(&path_, Some(&manager), json!({"amount": 2301, "reason": "x"})).await.assert_problem(409, "conflict");
    let retry = app.call_with(Method::POST, &path_, Some(&manager), Some(request), &key).await;
    assert_eq!(retry.status.as_u16(), 201, "{:?}", retry.body);
    assert_eq!(retry.body["status"], "succeeded");
    let keys: Vec<String> = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/refunds")
        .map(|r| r.headers.get("idempotency-key").unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the retry asked Stripe with the same key: one refund");
    let now = app.get(&format!("/v1/t/{qr}/payments/{}", id(&payment)), None).await.expect(200);
    assert_eq!(now["refunded_amount"], 700);
}

async fn staff_list_the_feedback_newest_first(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let ana = app
        .post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": "Ana", "role": "server"}),
        )
        .await
        .expect(201);
    let ana_key = ana["key"].as_str().unwrap().to_owned();
    let t1 = app.create_table(&venue, "T1").await;
    app.post(
        &format!("/v1/venues/{}/bills", venue.id),
        Some(&venue.pos_key),
        json!({"table_id": t1["id"], "server_id": ana["staff"]["id"], "items": [{"name": "Menu", "quantity": 1, "unit_price": 2000}]}),
    )
    .await
    .expect(201);
    let t2 = app.create_table(&venue, "T2").await;
    let qr = |t: &Value| t["qr_token"].as_str().unwrap().to_owned();
    let low = app
        .post(&format!("/v1/t/{}/feedback", qr(&t1)), None, json!({"rating": 2, "comment": "Cold soup"}))
        .await
        .expect(201);
    let high = app.post(&format!("/v1/t/{}/feedback", qr(&t2)), None, json!({"rating": 5})).await.expect(201);
    let path = format!("/v1/venues/{}/feedback", venue.id);

    let all = app.get(&path, Some(&ana_key)).await.expect(200);
    let ids: Vec<&Value> = all["data"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    assert_eq!(ids, [&high["id"], &low["id"]], "newest first");
    let flagged = app.get(&format!("{path}?flagged=true"), Some(&venue.manager_key)).await.expect(200);
    assert_eq!(flagged["data"].as_array().unwrap().len(), 1);
    let f = &flagged["data"][0];
    assert_eq!(
        (f["rating"].clone(), f["comment"].clone(), f["flagged"].clone(), f["table_label"].clone()),
        (json!(2), json!("Cold soup"), json!(true), json!("T1"))
    );
    assert_eq!(f["server"]["name"], "Ana");
    assert!(f["bill_id"].is_string() && f["created_at"].is_string());
    let calm = app.get(&format!("{path}?flagged=false"), Some(&ana_key)).await.expect(200);
    assert_eq!((calm["data"].as_array().unwrap().len(), calm["data"][0]["server"].clone()), (1, Value::Null));
    // Pages.
    let first = app.get(&format!("{path}?limit=1"), Some(&ana_key)).await.expect(200);
    assert_eq!(first["data"][0]["id"], high["id"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("{path}?limit=1&cursor={cursor}"), Some(&ana_key)).await.expect(200);
    assert_eq!((second["data"][0]["id"].clone(), second["next_cursor"].clone()), (low["id"].clone(), Value::Null));
    // Staff only, of this venue; bad filters are refused.
    app.get(&path, Some(&venue.pos_key)).await.assert_problem(403, "forbidden");
    let other = app.create_venue("EUR", "inclusive", 0, 0).await;
    app.get(&path, Some(&other.manager_key)).await.assert_problem(404, "not_found");
    app.get(&format!("{path}?flagged=maybe"), Some(&ana_key)).await.assert_problem(400, "validation_failed");
}

backend_tests!(
    staff_list_the_feedback_newest_first,
    a_discount_down_to_what_is_paid_settles_the_table,
    a_comp_waiting_for_approval_settles_nothing_until_approved,
    a_refund_with_an_unknown_outcome_is_retried_not_repeated,
    comps_apply_within_the_limit_and_wait_above_it,
    an_adjustment_never_goes_below_what_is_paid,
    refunds_follow_limits_and_never_exceed_the_capture,
    stripe_refunds_go_through_stripe,
    guests_reach_staff_and_the_floor_shows_it,
    the_floor_costs_the_same_for_two_tables_or_two_hundred,
    the_daily_report_adds_up_by_server_and_provider,
);
