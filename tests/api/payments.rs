//! Guests split and pay: every split type, tips, holds and their release, idempotency, and
//! no double payment under concurrency.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    CARD_DECLINED, CARD_NO_FUNDS, CARD_OK, ServerProcess, TestApp, backend_tests, bill_with_qr, spawn_app_with,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn paying_everything_settles_the_table(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Steak", "quantity": 2, "unit_price": 2450}])).await;
    let payment = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"percent_bps": 1500}}))
        .await
        .expect(201);
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["amount"], 4900);
    assert_eq!(payment["tip_amount"], 735);
    assert_eq!(payment["total_amount"], 5635);
    assert_eq!(payment["currency"], "EUR");
    assert_eq!(payment["provider"], "sandbox");
    assert_eq!(payment["next_action"]["type"], "sandbox_confirm");
    assert!(payment["expires_at"].is_string());
    // While pending, the amount is held: nothing remains.
    let held = app.guest(&qr).await;
    assert_eq!(held["bill"]["totals"]["pending"], 4900);
    assert_eq!(held["bill"]["totals"]["remaining"], 0);
    assert_eq!(held["bill"]["status"], "open");

    let confirmed = app.confirm(&id(&payment), CARD_OK).await.expect(200);
    assert_eq!(confirmed["status"], "succeeded");
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["status"], "paid");
    assert_eq!(view["bill"]["totals"]["paid"], 4900);
    assert_eq!(view["bill"]["totals"]["tips"], 735, "tips are kept apart from the total");
    assert_eq!(view["bill"]["totals"]["total"], 4900);
    assert!(view["bill"]["paid_at"].is_string());
    assert_eq!(view["bill"]["payments"][0]["status"], "succeeded");
    // Confirming again changes nothing; paying a paid bill is refused.
    app.confirm(&id(&payment), CARD_OK).await.expect(200);
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}}))
        .await
        .assert_problem(409, "bill_not_open");
    // The POS may now close it.
    let closed = app.post(&format!("/v1/bills/{}/close", id(&bill)), Some(&venue.pos_key), json!({})).await.expect(200);
    assert_eq!(closed["status"], "closed");
}

async fn equal_shares_of_one_hundred_in_three(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 10000}])).await;
    let share = json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 3, "count": 1}});
    let mut amounts = Vec::new();
    for i in 0..3 {
        let p = app.pay(&qr, share.clone()).await.expect(201);
        amounts.push(p["amount"].as_i64().unwrap());
        if i == 0 {
            // The first equal payment fixed N = 3 for the bill while its share is held.
            app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 4, "count": 1}}))
                .await
                .assert_problem(409, "split_in_progress");
        }
        app.confirm(&id(&p), CARD_OK).await.expect(200);
    }
    assert_eq!(amounts, vec![3334, 3333, 3333]);
    let view = app.guest(&qr).await;
    assert_eq!(
        view["bill"]["split"],
        json!({"type": "equal", "parts": 3, "paid_parts": 3, "taken_parts": 3, "open_shares": []})
    );
    assert_eq!(view["bill"]["status"], "paid");
    assert_eq!(view["bill"]["totals"]["paid"], 10000);
}

async fn a_shared_dish_in_three_and_whole_units(app: TestApp) {
    let venue = app.create_venue("EUR", "exclusive", 1000, 0).await;
    let (bill, qr) = bill_with_qr(
        &app,
        &venue,
        "T1",
        json!([{"name": "Paella for the table", "quantity": 1, "unit_price": 3000},
               {"name": "Beer", "quantity": 3, "unit_price": 450}]),
    )
    .await;
    let paella = bill["items"][0]["id"].clone();
    let beer = bill["items"][1]["id"].clone();
    assert_eq!(bill["items"][0]["amount"], 3300, "price plus its 10 % tax");
    let third = json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": paella, "share": {"parts": 3}}]}});
    let mut paid = Vec::new();
    for _ in 0..3 {
        let p = app.pay(&qr, third.clone()).await.expect(201);
        paid.push(p["amount"].as_i64().unwrap());
        app.confirm(&id(&p), CARD_OK).await.expect(200);
    }
    assert_eq!(paid.iter().sum::<i64>(), 3300, "three thirds make the dish exactly");
    assert!(paid.iter().all(|a| (1099..=1101).contains(a)), "{paid:?}");
    app.pay(&qr, third).await.assert_problem(409, "items_unavailable");
    // Two of three beers, then the last.
    let two = app
        .pay(
            &qr,
            json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": beer, "quantity": 2}]}}),
        )
        .await
        .expect(201);
    assert_eq!(two["amount"], 990);
    assert_eq!(two["items"][0]["fraction"], json!({"num": 2, "den": 3}));
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["items"][1]["held_amount"], 990);
    assert_eq!(view["bill"]["items"][0]["paid_amount"], 3300);
    app.pay(
        &qr,
        json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": beer, "quantity": 2}]}}),
    )
    .await
    .assert_problem(409, "items_unavailable");
    let last = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": beer}]}}))
        .await
        .expect(201);
    assert_eq!(last["amount"], 495);
    app.confirm(&id(&two), CARD_OK).await.expect(200);
    app.confirm(&id(&last), CARD_OK).await.expect(200);
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["status"], "paid");
    assert_eq!(view["bill"]["totals"]["paid"], 3300 + 1485);
}

async fn jpy_and_kwd_split_exactly(app: TestApp) {
    let jpy = app.create_venue("JPY", "inclusive", 1000, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &jpy, "J1", json!([{"name": "Omakase", "quantity": 1, "unit_price": 10001}])).await;
    let a = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2}})).await.expect(201);
    let b = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2}})).await.expect(201);
    assert_eq!((a["amount"].as_i64(), b["amount"].as_i64()), (Some(5001), Some(5000)));
    assert_eq!(a["currency"], "JPY");

    let kwd = app.create_venue("KWD", "exclusive", 500, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &kwd, "K1", json!([{"name": "Mandi", "quantity": 1, "unit_price": 4250}])).await;
    assert_eq!(bill["totals"]["total"], 4463, "4.250 + 5 % = 4.4625 → 4.463");
    let third = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": bill["items"][0]["id"], "share": {"parts": 3}}]}, "tip": {"amount": 100}}))
        .await
        .expect(201);
    assert_eq!(third["amount"], 1488);
    assert_eq!(third["tip_amount"], 100);
    assert_eq!(third["currency"], "KWD");
    let rest = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    assert_eq!(rest["amount"], 4463 - 1488);
}

async fn a_hold_stops_a_second_payer_until_declined(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", json!([{"name": "Wine", "quantity": 1, "unit_price": 4000}, {"name": "Soup", "quantity": 1, "unit_price": 1000}])).await;
    let wine =
        json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": bill["items"][0]["id"]}]}});
    let a = app.pay(&qr, wine.clone()).await.expect(201);
    app.pay(&qr, wine.clone()).await.assert_problem(409, "items_unavailable");
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1001}}))
        .await
        .assert_problem(409, "amount_exceeds_remaining");
    // The card is declined: the hold is released and the wine is free again.
    let declined = app.confirm(&id(&a), CARD_DECLINED).await.expect(200);
    assert_eq!(declined["status"], "failed");
    assert_eq!(declined["failure_code"], "card_declined");
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 5000);
    let b = app.pay(&qr, wine.clone()).await.expect(201);
    let poor = app.confirm(&id(&b), CARD_NO_FUNDS).await.expect(200);
    assert_eq!(poor["failure_code"], "insufficient_funds");
    // A failed payment never succeeds later.
    app.confirm(&id(&b), CARD_OK).await.expect(200);
    let after = app.get(&format!("/v1/t/{qr}/payments/{}", id(&b)), None).await.expect(200);
    assert_eq!(after["status"], "failed");
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["paid"], 0);
}

async fn cancelling_releases_the_hold(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 2000}})).await.expect(201);
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 1000);
    let canceled = app.post(&format!("/v1/t/{qr}/payments/{}/cancel", id(&p)), None, json!({})).await.expect(200);
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 3000);
    // Cancelling again is harmless; confirming a cancelled payment is refused.
    app.post(&format!("/v1/t/{qr}/payments/{}/cancel", id(&p)), None, json!({})).await.expect(200);
    app.confirm(&id(&p), CARD_OK).await.assert_problem(409, "conflict");
    // Another table's token does not reach this payment.
    let (_, other_qr) = bill_with_qr(&app, &venue, "T2", json!([])).await;
    app.get(&format!("/v1/t/{other_qr}/payments/{}", id(&p)), None).await.assert_problem(404, "not_found");
}

async fn expired_holds_are_released(app: TestApp) {
    let app = spawn_app_with(app.backend, &[("TABLEPAY_HOLD_SECONDS", "1"), ("TABLEPAY_SWEEP_INTERVAL_MS", "100")])
        .await
        .unwrap();
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 0);
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status =
            app.get(&format!("/v1/t/{qr}/payments/{}", id(&p)), None).await.body["status"].as_str().unwrap().to_owned();
        if status == "expired" {
            break;
        }
    }
    assert_eq!(status, "expired");
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["remaining"], 3000);
    app.confirm(&id(&p), CARD_OK).await.assert_problem(409, "conflict");
}

async fn forty_concurrent_payers_never_take_more_than_the_total(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Banquet", "quantity": 1, "unit_price": 10000}])).await;
    let attempts = (0..40).map(|i| {
        let split = if i % 2 == 0 {
            json!({"type": "amount", "amount": 700})
        } else {
            json!({"type": "equal", "parts": 20, "count": 1})
        };
        app.pay(&qr, json!({"bill_id": bill["id"], "split": split}))
    });
    let answers = join_all(attempts).await;
    let mut created = Vec::new();
    for answer in answers {
        match answer.status.as_u16() {
            201 => created.push(answer.body),
            // Amounts wait while the equal split runs (`split_in_progress`), as API.md says.
            409 => assert!(
                ["amount_exceeds_remaining", "split_in_progress"].contains(&answer.body["code"].as_str().unwrap()),
                "{:?}",
                answer.body
            ),
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    let held: i64 = created.iter().map(|p| p["amount"].as_i64().unwrap()).sum();
    assert!(held <= 10000, "held {held} of 10000");
    // Everyone confirms at once; then whoever is left pays the rest.
    join_all(created.iter().map(|p| app.confirm(p["id"].as_str().unwrap(), CARD_OK))).await;
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["totals"]["paid"], held);
    if held < 10000 {
        let rest = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
        app.confirm(&id(&rest), CARD_OK).await.expect(200);
    }
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["totals"]["paid"], 10000);
    assert_eq!(view["bill"]["status"], "paid");
}

async fn replaying_a_payment_with_the_same_key(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let body = json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}, "tip": {"amount": 100}});
    let path = format!("/v1/t/{qr}/payments");
    let key = [("Idempotency-Key", "guest-phone-1")];
    let first = app.call_with(Method::POST, &path, None, Some(body.clone()), &key).await;
    assert_eq!(first.status.as_u16(), 201);
    let again = app.call_with(Method::POST, &path, None, Some(body), &key).await;
    assert_eq!(again.status.as_u16(), 201);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.body["id"], first.body["id"]);
    let other = json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1500}});
    app.call_with(Method::POST, &path, None, Some(other), &key).await.assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.guest(&qr).await["bill"]["payments"].as_array().unwrap().len(), 1);
}

async fn bad_payment_requests_are_refused(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 2, "unit_price": 3000}])).await;
    let item = bill["items"][0]["id"].clone();
    for (split, tip, status) in [
        (json!({"type": "cash"}), Value::Null, 400),
        (json!({"type": "amount", "amount": 0}), Value::Null, 422),
        (json!({"type": "amount", "amount": -5}), Value::Null, 422),
        (json!({"type": "amount", "amount": 100, "extra": 1}), Value::Null, 400),
        (json!({"type": "equal", "parts": 1}), Value::Null, 422),
        (json!({"type": "equal", "parts": 3, "count": 4}), Value::Null, 422),
        (json!({"type": "items", "items": []}), Value::Null, 422),
        (json!({"type": "items", "items": [{"item_id": item, "quantity": 3}]}), Value::Null, 422),
        (
            json!({"type": "items", "items": [{"item_id": item, "quantity": 1, "share": {"parts": 2}}]}),
            Value::Null,
            422,
        ),
        (json!({"type": "items", "items": [{"item_id": uuid::Uuid::now_v7().to_string()}]}), Value::Null, 422),
        (json!({"type": "remaining"}), json!({"amount": -1}), 422),
        (json!({"type": "remaining"}), json!({"percent_bps": 20000}), 422),
        (json!({"type": "remaining"}), json!({"amount": 1, "percent_bps": 1}), 422),
    ] {
        let mut body = json!({"bill_id": bill["id"], "split": split});
        if !tip.is_null() {
            body["tip"] = tip;
        }
        app.pay(&qr, body).await.assert_problem(status, "validation_failed");
    }
    app.pay("unknown-token", json!({"bill_id": bill["id"], "split": {"type": "remaining"}}))
        .await
        .assert_problem(404, "not_found");
    // A bill of another table is not reachable with this token.
    let (other, _) = bill_with_qr(&app, &venue, "T2", json!([{"name": "X", "quantity": 1, "unit_price": 100}])).await;
    app.pay(&qr, json!({"bill_id": other["id"], "split": {"type": "remaining"}}))
        .await
        .assert_problem(404, "not_found");
    app.confirm(&uuid::Uuid::now_v7().to_string(), CARD_OK).await.assert_problem(404, "not_found");
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["payments"], json!([]), "nothing was created");
    // An item that is held cannot be voided by the POS.
    let p = app
        .pay(
            &qr,
            json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": item, "quantity": 1}]}}),
        )
        .await
        .expect(201);
    app.call(
        Method::DELETE,
        &format!("/v1/bills/{}/items/{}", id(&bill), item.as_str().unwrap()),
        Some(&venue.pos_key),
        None,
    )
    .await
    .assert_problem(409, "item_paid");
    app.confirm(&id(&p), "4111111111111111").await.assert_problem(422, "validation_failed");
}

async fn receipts_itemise_what_was_paid(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", json!([{"name": "Tarte <flambée>", "quantity": 2, "unit_price": 1200}, {"name": "Cidre", "quantity": 1, "unit_price": 500}])).await;
    let p = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": bill["items"][0]["id"], "quantity": 1}]}, "tip": {"amount": 150}}))
        .await
        .expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
    let receipt = app.get(&format!("/v1/t/{qr}/payments/{}/receipt", id(&p)), None).await.expect(200);
    let tarte = bill["items"][0]["id"].clone();
    assert_eq!(
        receipt["lines"],
        json!([{"name": "Tarte <flambée>", "detail": "1 × Tarte <flambée>", "amount": 1200,
                "item_id": tarte, "units": 1, "share": null, "line_amount": 2400}])
    );
    // Half of the cider: a share, not units; the page words it in the guest's language.
    let half = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": bill["items"][1]["id"], "share": {"parts": 2}}]}}))
        .await
        .expect(201);
    app.confirm(&id(&half), CARD_OK).await.expect(200);
    let shared = app.get(&format!("/v1/t/{qr}/payments/{}/receipt", id(&half)), None).await.expect(200);
    assert_eq!(shared["lines"][0]["units"], Value::Null);
    assert_eq!(shared["lines"][0]["share"], json!({"num": 1, "den": 2}));
    assert_eq!(shared["lines"][0]["detail"], "1/2 share");
    assert_eq!(shared["lines"][0]["amount"], 250);
    assert_eq!(receipt["tip_amount"], 150);
    assert_eq!(receipt["total_amount"], 1350);
    assert_eq!(receipt["status"], "succeeded");
    let html = app
        .client
        .get(app.url(&format!("/v1/t/{qr}/payments/{}/receipt", id(&p))))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(html.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = html.text().await.unwrap();
    assert!(page.contains("Tarte &lt;flambée&gt;"), "names are escaped");
    assert!(page.contains("13.50 EUR"));
}

async fn two_server_processes_on_one_database_never_overcharge(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Banquet", "quantity": 1, "unit_price": 10000}])).await;
    let one = ServerProcess::start(&app.database_url, &[]).await;
    let two = ServerProcess::start(&app.database_url, &[]).await;
    let servers = [app.aimed_at(&one.address), app.aimed_at(&two.address)];
    let attempts = (0..30)
        .map(|i| servers[i % 2].pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 900}})));
    let created: Vec<Value> =
        join_all(attempts).await.into_iter().filter(|a| a.status.as_u16() == 201).map(|a| a.body).collect();
    assert_eq!(created.len(), 11, "11 × 9.00 fit in 100.00, a 12th does not");
    join_all(created.iter().enumerate().map(|(i, p)| servers[i % 2].confirm(p["id"].as_str().unwrap(), CARD_OK))).await;
    // The last 1.00, raced from both processes: one wins, the bill turns paid once.
    let last =
        join_all(servers.iter().map(|s| s.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}}))))
            .await;
    let winners: Vec<&Value> = last.iter().filter(|a| a.status.as_u16() == 201).map(|a| &a.body).collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(winners[0]["amount"], 100);
    join_all(servers.iter().map(|s| s.confirm(winners[0]["id"].as_str().unwrap(), CARD_OK))).await;
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["totals"]["paid"], 10000);
    assert_eq!(view["bill"]["status"], "paid");
}

async fn reading_and_paying_cost_the_same_sql_for_any_number_of_items(app: TestApp) {
    let quiet = [("TABLEPAY_WEBHOOK_WORKER", "false"), ("TABLEPAY_SWEEP_INTERVAL_MS", "60000")];
    let app = spawn_app_with(app.backend, &quiet).await.unwrap();
    let venue = app.create_venue("EUR", "exclusive", 1000, 500).await;
    let mut costs = Vec::new();
    for (label, count) in [("small", 5), ("large", 120)] {
        let items: Vec<Value> = (0..count)
            .map(|i| json!({"name": format!("Dish {i}"), "quantity": 1 + i % 3, "unit_price": 250 + i}))
            .collect();
        let (bill, qr) = bill_with_qr(&app, &venue, label, json!(items)).await;
        let before = app.db.queries_run();
        app.guest(&qr).await;
        let read = app.db.queries_run() - before;
        let before = app.db.queries_run();
        let claim: Vec<Value> =
            bill["items"].as_array().unwrap().iter().take(3).map(|i| json!({"item_id": i["id"]})).collect();
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "items", "items": claim}})).await.expect(201);
        let pay_items = app.db.queries_run() - before;
        let before = app.db.queries_run();
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
        let pay_rest = app.db.queries_run() - before;
        costs.push((read, pay_items, pay_rest));
    }
    assert_eq!(costs[0], costs[1], "queries (read, pay items, pay the rest) for 5 and for 120 items");
}

/// A guest read the cache can answer runs no SQL at all (the rate limiter included), and a
/// payment leaves the QR token's table cached; creating a payment is one write transaction, with or without an `Idempotency-Key`, and so is applying
/// its outcome; a write is seen by the very next read.
async fn a_cached_read_runs_no_sql_and_a_payment_is_one_write(app: TestApp) {
    let quiet = [("TABLEPAY_WEBHOOK_WORKER", "false"), ("TABLEPAY_SWEEP_INTERVAL_MS", "60000")];
    let app = spawn_app_with(app.backend, &quiet).await.unwrap();
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let items = json!([{"name": "Menu", "quantity": 2, "unit_price": 2000}, {"name": "Vin", "quantity": 1, "unit_price": 1800}]);
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", items).await;
    let before = app.db.queries_run();
    let first = app.guest(&qr).await;
    let first_read = app.db.queries_run() - before;
    let before = app.db.queries_run();
    let cached = app.guest(&qr).await;
    assert_eq!(app.db.queries_run() - before, 0, "SQL statements of a cached guest read");
    assert_eq!(cached, first);

    let writes = app.db.writes_committed();
    let half = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2, "count": 1}}))
        .await
        .expect(201);
    assert_eq!(app.db.writes_committed() - writes, 1, "write transactions to create a payment");
    let before = app.db.queries_run();
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["pending"], 2900, "the next read sees the hold");
    // The payment moved the guest's view but not the map of QR tokens to tables: the read
    // after it prices the bill again without looking the token up (the first read did both).
    assert_eq!(app.db.queries_run() - before, first_read - 1, "SQL statements of the read after a payment");
    // `bill.updated` is written from the bill the transaction holds, not read again: it is the
    // bill as stored afterwards.
    let venue_id = venue.id.clone();
    let events = app
        .db
        .run(move |c| tablepay_store::outbox::events_after(c, &venue_id, 0, 1000))
        .await
        .map_err(|e: tablepay_store::StoreError| e.to_string())
        .unwrap();
    let updated = events.iter().rev().find(|e| e.event_type == "bill.updated").expect("bill.updated");
    let payload: Value = serde_json::from_str(&updated.payload).unwrap();
    let stored =
        app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(payload["data"]["bill"], stored, "the event's bill is the stored bill");
    assert_eq!(stored["payments"][0]["id"], half["id"]);

    let writes = app.db.writes_committed();
    let body =
        json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2, "count": 1}, "tip": {"amount": 100}});
    let headers = [("Idempotency-Key", "phone-b-1")];
    let path = format!("/v1/t/{qr}/payments");
    let made = app.call_with(Method::POST, &path, None, Some(body.clone()), &headers).await;
    assert_eq!(app.db.writes_committed() - writes, 1, "write transactions to create a payment with a key");
    let made = made.expect(201);
    let writes = app.db.writes_committed();
    let again = app.call_with(Method::POST, &path, None, Some(body.clone()), &headers).await;
    assert_eq!(app.db.writes_committed() - writes, 0, "a replay writes nothing");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.expect(201), made, "the same answer");
    let other = app
        .call_with(
            Method::POST,
            &path,
            None,
            Some(json!({"bill_id": bill["id"], "split": {"type": "remaining"}})),
            &headers,
        )
        .await;
    other.assert_problem(422, "idempotency_key_reused");

    // A refusal is kept for its key like an answer, and replayed as such.
    let refused_key = [("Idempotency-Key", "phone-c-1")];
    let too_much = json!({"bill_id": bill["id"], "split": {"type": "remaining"}});
    let refused = app.call_with(Method::POST, &path, None, Some(too_much.clone()), &refused_key).await;
    refused.assert_problem(409, "amount_exceeds_remaining");
    let replayed = app.call_with(Method::POST, &path, None, Some(too_much), &refused_key).await;
    replayed.assert_problem(409, "amount_exceeds_remaining");
    assert_eq!(replayed.headers["idempotent-replayed"], "true");

    for p in [&half, &made] {
        let writes = app.db.writes_committed();
        app.confirm(p["id"].as_str().unwrap(), CARD_OK).await.expect(200);
        assert_eq!(app.db.writes_committed() - writes, 1, "write transactions to apply an outcome");
    }
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["status"], "paid", "{view}");
    assert_eq!(view["bill"]["totals"]["paid"], 5800);
}

/// A payment is priced outside its transaction on the bill as a process remembers it between
/// requests: that bill reads exactly as the bill loaded again after every kind of change, made
/// by this process or by another one (a waiting comp and its rejection included, which once
/// changed a bill without moving its version), and reading it costs one statement.
async fn a_remembered_bill_is_the_bill_as_stored_whoever_changed_it(app: TestApp) {
    let quiet = [("TABLEPAY_WEBHOOK_WORKER", "false"), ("TABLEPAY_SWEEP_INTERVAL_MS", "60000")];
    let app = spawn_app_with(app.backend, &quiet).await.unwrap();
    let venue = app.create_venue("EUR", "exclusive", 1000, 0).await;
    let server_key = app
        .post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": "Ana", "role": "server"}),
        )
        .await
        .expect(201)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let items = json!([{"name": "Plateau", "quantity": 1, "unit_price": 10000}, {"name": "Vin", "quantity": 2, "unit_price": 1500},
                       {"name": "Café", "quantity": 3, "unit_price": 250}]);
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", items).await;
    let bill_id = bill["id"].as_str().unwrap().to_owned();
    let item = |n: usize| bill["items"][n]["id"].clone();
    let other = ServerProcess::start(&app.database_url, &quiet).await;
    let b = app.aimed_at(&other.address);
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();

    let mine = app.pay(
        &qr,
        json!({"bill_id": bill_id, "split": {"type": "items", "items": [{"item_id": item(1), "quantity": 1}]}}),
    );
    let mine = mine.await.expect(201);
    assert_eq!(remembered_is_stored(&app, &bill_id, "a payment here").await, 1, "statements to read a remembered bill");
    app.confirm(&id(&mine), CARD_OK).await.expect(200);
    assert_eq!(remembered_is_stored(&app, &bill_id, "its success here").await, 1, "statements after a success");
    let theirs = b.pay(&qr, json!({"bill_id": bill_id, "split": {"type": "amount", "amount": 500}})).await.expect(201);
    remembered_is_stored(&app, &bill_id, "a payment in another process").await;
    app.pay(&qr, json!({"bill_id": bill_id, "split": {"type": "amount", "amount": 300}})).await.expect(201);
    remembered_is_stored(&app, &bill_id, "a payment here after one there").await;
    let adjustments = format!("/v1/bills/{bill_id}/adjustments");
    let waiting =
        app.post(&adjustments, Some(&server_key), json!({"type": "comp", "item_id": item(0), "reason": "cold"}));
    let waiting = waiting.await.expect(202);
    remembered_is_stored(&app, &bill_id, "a comp waiting for a manager").await;
    b.post(&format!("/v1/adjustments/{}/reject", id(&waiting)), Some(&venue.manager_key), json!({})).await.expect(200);
    remembered_is_stored(&app, &bill_id, "its rejection in another process").await;
    b.post(&adjustments, Some(&venue.manager_key), json!({"type": "comp", "item_id": item(2), "reason": "regulars"}))
        .await
        .expect(201);
    remembered_is_stored(&app, &bill_id, "a comp in another process").await;
    b.post(&format!("/v1/t/{qr}/payments/{}/cancel", id(&theirs)), None, json!({})).await.expect(200);
    remembered_is_stored(&app, &bill_id, "a hold released in another process").await;

    // Priced on the bill as it now stands: the comp is off, the released 5.00 payable again.
    let view = app.guest(&qr).await;
    let rest = app.pay(&qr, json!({"bill_id": bill_id, "split": {"type": "remaining"}})).await.expect(201);
    assert_eq!(rest["amount"], view["bill"]["totals"]["remaining"], "{view}");
    let pending: Vec<String> = app.guest(&qr).await["bill"]["payments"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["status"] == "pending").map(id).collect())
        .unwrap_or_default();
    for (n, p) in pending.iter().enumerate() {
        [&app, &b][n % 2].confirm(p, CARD_OK).await.expect(200);
    }
    remembered_is_stored(&app, &bill_id, "the bill settled").await;
    let stored = app.get(&format!("/v1/bills/{bill_id}"), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(stored["status"], "paid", "{stored}");
    assert_eq!(stored["totals"]["paid"], stored["totals"]["total"], "{stored}");
    assert_eq!(stored["totals"]["total"], 11000 + 3300, "the coffees comped, 10 % tax on the rest: {stored}");
}

/// Reads the bill as this process remembers it and as loaded again, asserts they are the same,
/// and answers the statements the remembered read cost.
async fn remembered_is_stored(app: &TestApp, bill_id: &str, after: &str) -> u64 {
    let (id, db) = (bill_id.to_owned(), app.db.clone());
    let (remembered, stored, statements) = app
        .db
        .read_committed(move |conn, committed| -> Result<_, tablepay_store::StoreError> {
            let before = db.queries_run();
            let remembered = committed.bill(conn, &id)?;
            let statements = db.queries_run() - before;
            let stored = tablepay_store::bills::load(conn, &id)?;
            Ok((format!("{remembered:#?}"), format!("{stored:#?}"), statements))
        })
        .await
        .expect("reads");
    assert_eq!(remembered, stored, "the remembered bill after {after}");
    statements
}

backend_tests!(
    a_cached_read_runs_no_sql_and_a_payment_is_one_write,
    reading_and_paying_cost_the_same_sql_for_any_number_of_items,
    two_server_processes_on_one_database_never_overcharge,
    paying_everything_settles_the_table,
    equal_shares_of_one_hundred_in_three,
    a_shared_dish_in_three_and_whole_units,
    jpy_and_kwd_split_exactly,
    a_hold_stops_a_second_payer_until_declined,
    cancelling_releases_the_hold,
    expired_holds_are_released,
    forty_concurrent_payers_never_take_more_than_the_total,
    a_remembered_bill_is_the_bill_as_stored_whoever_changed_it,
    replaying_a_payment_with_the_same_key,
    bad_payment_requests_are_refused,
    receipts_itemise_what_was_paid,
);
