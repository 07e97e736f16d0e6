//! The bill as it really is: equal shares of what is left, tenders, refunds that keep the
//! ledger true, the stale-bill check. Every figure is checked against the invariant
//! `paid + pending + remaining == total`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{CARD_OK, TestApp, Venue, backend_tests, bill_with_qr, spawn_app_with};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(10);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The bill's totals, after checking the invariant on them.
fn totals(bill: &Value) -> Value {
    let t = &bill["totals"];
    let n = |k: &str| t[k].as_i64().unwrap_or_else(|| panic!("totals.{k} in {t}"));
    assert_eq!(n("paid") + n("pending") + n("remaining"), n("total"), "the invariant holds: {t}");
    assert!(n("paid") >= 0 && n("pending") >= 0 && n("remaining") >= 0, "no part is negative: {t}");
    t.clone()
}

async fn bill_of(app: &TestApp, venue: &Venue, bill: &Value) -> Value {
    app.get(&format!("/v1/bills/{}", id(bill)), Some(&venue.pos_key)).await.expect(200)
}

/// A paid payment of `split` (with no tip), as the guest at `qr` makes it.
async fn pay(app: &TestApp, qr: &str, bill: &Value, split: Value) -> Value {
    let p = app.pay(qr, json!({"bill_id": bill["id"], "split": split})).await.expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200)
}

/// A server named Sam, and the key he signs in with.
async fn server_sam(app: &TestApp, venue: &Venue) -> (Value, String) {
    let server = app
        .post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": "Sam", "role": "server"}),
        )
        .await
        .expect(201);
    let key = server["key"].as_str().unwrap().to_owned();
    (server, key)
}

async fn private_app(app: TestApp) -> TestApp {
    spawn_app_with(
        app.backend,
        &[("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"), ("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", "0,0.2,0.2")],
    )
    .await
    .expect("app starts")
}

/// A webhook receiver subscribed to the venue's `table.settled`.
pub(crate) async fn settled_hook(app: &TestApp, venue: &Venue) -> Receiver {
    let receiver = Receiver::start().await;
    app.post(
        &format!("/v1/venues/{}/webhook-endpoints", venue.id),
        Some(&venue.pos_key),
        json!({"url": receiver.url, "event_types": ["table.settled"]}),
    )
    .await
    .expect(201);
    receiver
}

async fn equal_shares_are_of_what_is_left(app: TestApp) {
    let app = private_app(app).await;
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let receiver = settled_hook(&app, &venue).await;
    let items = json!([
        {"name": "Salade", "quantity": 1, "unit_price": 2000},
        {"name": "Côte", "quantity": 1, "unit_price": 7000},
        {"name": "Café", "quantity": 1, "unit_price": 1000},
    ]);

    // A pays her dish (20.00); B and C split the rest in two: 40.00 each.
    let (bill, qr) = bill_with_qr(&app, &venue, "T1", items.clone()).await;
    let salade = bill["items"][0]["id"].clone();
    pay(&app, &qr, &bill, json!({"type": "items", "items": [{"item_id": salade}]})).await;
    let b = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2, "count": 1}}))
        .await
        .expect(201);
    assert_eq!(b["amount"], 4000, "a share of what was left, not of the whole bill");
    let view = app.guest(&qr).await;
    totals(&view["bill"]);
    assert_eq!(
        view["bill"]["split"],
        json!({"type": "equal", "parts": 2, "paid_parts": 0, "taken_parts": 1, "open_shares": [4000]})
    );
    // While the split runs, items and amounts wait; another number of parts waits for B's share.
    for split in [
        json!({"type": "amount", "amount": 100}),
        json!({"type": "items", "items": [{"item_id": bill["items"][1]["id"]}]}),
    ] {
        app.pay(&qr, json!({"bill_id": bill["id"], "split": split})).await.assert_problem(409, "split_in_progress");
    }
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 3, "count": 1}}))
        .await
        .assert_problem(409, "split_in_progress");
    app.confirm(&id(&b), CARD_OK).await.expect(200);
    let c = pay(&app, &qr, &bill, json!({"type": "equal", "parts": 2, "count": 1})).await;
    assert_eq!(c["amount"], 4000);
    let paid = bill_of(&app, &venue, &bill).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!((totals(&paid)["paid"].clone(), paid["totals"]["total"].clone()), (json!(10000), json!(10000)));
    assert_eq!(paid["split"]["open_shares"], json!([]));
    let settled = receiver.wait_for("table.settled", 1, WAIT).await;
    assert_eq!(settled[0].json()["data"]["total"], 10000);

    // The same table, with the coffee (10.00) comped after B paid: C's share is 30.00.
    let (bill, qr) = bill_with_qr(&app, &venue, "T2", items).await;
    pay(&app, &qr, &bill, json!({"type": "items", "items": [{"item_id": bill["items"][0]["id"]}]})).await;
    let b = pay(&app, &qr, &bill, json!({"type": "equal", "parts": 2, "count": 1})).await;
    assert_eq!(b["amount"], 4000);
    app.post(
        &format!("/v1/bills/{}/adjustments", id(&bill)),
        Some(&venue.manager_key),
        json!({"type": "comp", "item_id": bill["items"][2]["id"], "reason": "on the house"}),
    )
    .await
    .expect(201);
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["split"]["open_shares"], json!([3000]), "the open share follows the comp");
    let c = pay(&app, &qr, &bill, json!({"type": "equal", "parts": 2, "count": 1})).await;
    assert_eq!(c["amount"], 3000);
    let paid = bill_of(&app, &venue, &bill).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(totals(&paid)["total"], 9000);
    let settled = receiver.wait_for("table.settled", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.of_type("table.settled").len(), 2, "one table.settled per bill");
    assert_eq!(settled[1].json()["data"]["total"], 9000);
}

async fn another_number_of_parts_starts_the_split_over(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 10000}])).await;
    let first = pay(&app, &qr, &bill, json!({"type": "equal", "parts": 4, "count": 1})).await;
    assert_eq!(first["amount"], 2500);
    // One of four paid, nothing held: the others split the 75.00 left in three.
    let restart = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 3, "count": 2}}))
        .await
        .expect(201);
    assert_eq!(restart["amount"], 5000);
    let view = app.guest(&qr).await;
    assert_eq!(
        view["bill"]["split"],
        json!({"type": "equal", "parts": 3, "paid_parts": 0, "taken_parts": 2, "open_shares": [2500]})
    );
    totals(&view["bill"]);
    // "Everything left" is allowed while a split runs: it takes the open share.
    let rest = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    assert_eq!(rest["amount"], 2500);
}

async fn tenders_count_toward_paid_and_settle_the_table(app: TestApp) {
    let app = private_app(app).await;
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let receiver = settled_hook(&app, &venue).await;
    let (_, server_key) = server_sam(&app, &venue).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T4", json!([{"name": "Plat", "quantity": 2, "unit_price": 2500}])).await;
    let tenders = format!("/v1/bills/{}/tenders", id(&bill));

    let cash = app
        .post(&tenders, Some(&venue.pos_key), json!({"type": "cash", "amount": 2000, "tip_amount": 200}))
        .await
        .expect(201);
    assert_eq!(
        (cash["type"].clone(), cash["amount"].clone(), cash["status"].clone()),
        (json!("cash"), json!(2000), json!("recorded"))
    );
    let now = bill_of(&app, &venue, &bill).await;
    let t = totals(&now);
    assert_eq!(
        (t["paid"].clone(), t["tendered"].clone(), t["remaining"].clone(), t["tips"].clone()),
        (json!(2000), json!(2000), json!(3000), json!(200))
    );
    let recorder = &now["tenders"][0]["recorded_by"];
    assert!(
        recorder["id"].is_string() && !recorder["name"].as_str().unwrap().is_empty(),
        "who recorded it: {recorder}"
    );

    // More than is left is refused; what a guest holds is not left.
    app.post(&tenders, Some(&venue.pos_key), json!({"type": "cash", "amount": 3001}))
        .await
        .assert_problem(409, "amount_exceeds_remaining");
    let held =
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await.expect(201);
    app.post(&tenders, Some(&venue.pos_key), json!({"type": "cash", "amount": 2001}))
        .await
        .assert_problem(409, "amount_exceeds_remaining");
    app.post(&format!("/v1/t/{qr}/payments/{}/cancel", id(&held)), None, json!({})).await.expect(200);

    // A server records the card terminal's slip; only the POS or a manager voids it, and the
    // amount is owed again.
    let slip = app
        .post(&tenders, Some(&server_key), json!({"type": "card_present", "amount": 500, "reference": "TRM-0042"}))
        .await
        .expect(201);
    assert_eq!(totals(&bill_of(&app, &venue, &bill).await)["remaining"], 2500);
    let void = format!("/v1/tenders/{}/void", id(&slip));
    app.post(&void, Some(&server_key), json!({"reason": "wrong table"})).await.assert_problem(403, "forbidden");
    let voided = app.post(&void, Some(&venue.manager_key), json!({"reason": "wrong table"})).await.expect(200);
    assert_eq!(voided["status"], "void");
    assert_eq!(totals(&bill_of(&app, &venue, &bill).await)["remaining"], 3000, "a void returns the amount");
    app.post(&void, Some(&venue.manager_key), json!({"reason": "again"})).await.expect(200);

    // Bad tenders change nothing.
    for body in [
        json!({"type": "iou", "amount": 100}),
        json!({"type": "cash", "amount": -1}),
        json!({"type": "cash", "amount": 0}),
        json!({"type": "cash", "amount": 9007199254740992_i64}),
    ] {
        app.post(&tenders, Some(&venue.pos_key), body).await.assert_problem(422, "validation_failed");
    }
    app.post(&tenders, Some(&venue.pos_key), json!({"type": "cash"})).await.assert_problem(400, "validation_failed");

    // The guest pays the 30.00 left: the table settles, listing the payment and the cash.
    let p = pay(&app, &qr, &bill, json!({"type": "remaining"})).await;
    assert_eq!(p["amount"], 3000);
    let paid = bill_of(&app, &venue, &bill).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!((totals(&paid)["paid"].clone(), paid["totals"]["total"].clone()), (json!(5000), json!(5000)));
    let settled = receiver.wait_for("table.settled", 1, WAIT).await;
    let data = settled[0].json()["data"].clone();
    assert_eq!(data["payments"].as_array().unwrap().len(), 1);
    assert_eq!(data["payments"][0]["amount"], 3000);
    assert_eq!(
        data["tenders"],
        json!([{"id": cash["id"], "type": "cash", "amount": 2000, "tip_amount": 200, "reference": null}])
    );
    // A settled bill takes no tender and voids none.
    app.post(&tenders, Some(&venue.pos_key), json!({"type": "cash", "amount": 1}))
        .await
        .assert_problem(409, "bill_not_open");
    app.post(&format!("/v1/tenders/{}/void", id(&cash)), Some(&venue.pos_key), json!({"reason": "late"}))
        .await
        .assert_problem(409, "bill_not_open");
    // Audited with who recorded it.
    let log = app.get(&format!("/v1/venues/{}/audit-log", venue.id), Some(&venue.manager_key)).await.expect(200);
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "tender.recorded").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "tender.voided").count(), 1, "{actions:?}");
}

async fn a_stale_bill_version_is_refused_with_the_current_bill(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T5", json!([{"name": "Vin", "quantity": 1, "unit_price": 3000}])).await;
    let seen = app.guest(&qr).await["bill"]["version"].as_i64().unwrap();
    app.post(
        &format!("/v1/bills/{}/items", id(&bill)),
        Some(&venue.pos_key),
        json!({"items": [{"name": "Dessert", "quantity": 1, "unit_price": 900}]}),
    )
    .await
    .expect(200);
    let stale =
        app.pay(&qr, json!({"bill_id": bill["id"], "bill_version": seen, "split": {"type": "remaining"}})).await;
    stale.assert_problem(409, "bill_changed");
    let problem = stale.expect(409);
    assert_eq!(problem["bill"]["items"].as_array().unwrap().len(), 2, "the problem carries the current bill");
    assert_eq!(problem["bill"]["totals"]["total"], 3900);
    assert!(problem["bill"].get("venue_id").is_none(), "as a guest sees it");
    let view = app.guest(&qr).await;
    assert_eq!(view["bill"]["totals"]["pending"], 0, "nothing is held");

    // With the current version it is accepted, and another guest's payment in between does not
    // make it stale.
    let current = view["bill"]["version"].as_i64().unwrap();
    app.pay(&qr, json!({"bill_id": bill["id"], "bill_version": current, "split": {"type": "amount", "amount": 1000}}))
        .await
        .expect(201);
    let second = app
        .pay(&qr, json!({"bill_id": bill["id"], "bill_version": current, "split": {"type": "amount", "amount": 1000}}))
        .await
        .expect(201);
    app.confirm(&id(&second), CARD_OK).await.expect(200);
    app.pay(&qr, json!({"bill_id": bill["id"], "bill_version": current, "split": {"type": "amount", "amount": 500}}))
        .await
        .expect(201);
    // A version the bill never had is stale too.
    app.pay(
        &qr,
        json!({"bill_id": bill["id"], "bill_version": current + 1000, "split": {"type": "amount", "amount": 1}}),
    )
    .await
    .assert_problem(409, "bill_changed");
    app.pay(&qr, json!({"bill_id": bill["id"], "bill_version": "7", "split": {"type": "amount", "amount": 1}}))
        .await
        .assert_problem(400, "validation_failed");
}

async fn refunds_keep_the_ledger_true(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    // A paid bill: the refund is taken off it, it stays exactly paid.
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T6", json!([{"name": "Menu", "quantity": 1, "unit_price": 5000}])).await;
    let p = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 500}}))
        .await
        .expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
    let refunds = format!("/v1/payments/{}/refunds", id(&p));
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1000, "reason": "cold soup", "adjust_bill": false}))
        .await
        .assert_problem(409, "bill_not_open");
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1000, "reason": "cold soup"})).await.expect(201);
    let now = bill_of(&app, &venue, &bill).await;
    let t = totals(&now);
    assert_eq!(now["status"], "paid");
    assert_eq!(
        (t["total"].clone(), t["paid"].clone(), t["refunded"].clone(), t["remaining"].clone(), t["tips"].clone()),
        (json!(4000), json!(4000), json!(1000), json!(0), json!(500))
    );
    let taken_off: Vec<&Value> =
        now["adjustments"].as_array().unwrap().iter().filter(|a| a["type"] == "refund").collect();
    assert_eq!(taken_off.len(), 1);
    assert_eq!((taken_off[0]["amount"].clone(), taken_off[0]["status"].clone()), (json!(1000), json!("applied")));
    // The table is freed; refunding the rest and the tip of the closed bill: the bill's part
    // first, then the tip, still taken off the bill.
    app.post(&format!("/v1/bills/{}/close", id(&bill)), Some(&venue.pos_key), json!({})).await.expect(200);
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1, "reason": "x", "adjust_bill": false}))
        .await
        .assert_problem(409, "bill_not_open");
    app.post(&refunds, Some(&venue.manager_key), json!({"reason": "all of it"})).await.expect(201);
    let closed = bill_of(&app, &venue, &bill).await;
    assert_eq!(closed["status"], "closed");
    let t = totals(&closed);
    assert_eq!(
        (t["total"].clone(), t["paid"].clone(), t["refunded"].clone(), t["tips"].clone()),
        (json!(0), json!(0), json!(5000), json!(0))
    );

    // An open bill: refunded but still owed (adjust_bill: false) makes it payable again.
    let (bill, qr) = bill_with_qr(
        &app,
        &venue,
        "T7",
        json!([{"name": "A", "quantity": 1, "unit_price": 3000}, {"name": "B", "quantity": 1, "unit_price": 2000}]),
    )
    .await;
    let p = pay(&app, &qr, &bill, json!({"type": "items", "items": [{"item_id": bill["items"][0]["id"]}]})).await;
    let refunds = format!("/v1/payments/{}/refunds", id(&p));
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 1000, "reason": "wrong card", "adjust_bill": false}))
        .await
        .expect(201);
    let t = totals(&bill_of(&app, &venue, &bill).await);
    assert_eq!(
        (t["total"].clone(), t["paid"].clone(), t["remaining"].clone()),
        (json!(5000), json!(2000), json!(3000))
    );
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 500, "reason": "bad dish"})).await.expect(201);
    let t = totals(&bill_of(&app, &venue, &bill).await);
    assert_eq!(
        (t["total"].clone(), t["paid"].clone(), t["remaining"].clone()),
        (json!(4500), json!(1500), json!(3000))
    );
    // What is payable again is paid by a guest: the bill settles at its new total.
    let rest = pay(&app, &qr, &bill, json!({"type": "remaining"})).await;
    assert_eq!(rest["amount"], 3000);
    let paid = bill_of(&app, &venue, &bill).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(totals(&paid)["paid"], 4500);

    // The daily report counts each refund once.
    let today = chrono::Utc::now().date_naive();
    let report = app
        .get(&format!("/v1/venues/{}/reports/daily?date={today}", venue.id), Some(&venue.manager_key))
        .await
        .expect(200);
    assert_eq!(report["totals"]["refunds"], 1000 + 4500 + 1000 + 500);
}

async fn parties_move_tables_and_staff_close_them(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (_, server_key) = server_sam(&app, &venue).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 4000}])).await;
    let free = app.create_table(&venue, "T2").await;
    let (_, _) = bill_with_qr(&app, &venue, "T3", json!([{"name": "Café", "quantity": 1, "unit_price": 250}])).await;
    let occupied =
        app.get(&format!("/v1/venues/{}/tables?limit=200", venue.id), Some(&venue.pos_key)).await.expect(200);
    let t3 = occupied["data"].as_array().unwrap().iter().find(|t| t["label"] == "T3").unwrap()["id"].clone();
    let path = format!("/v1/bills/{}/move", id(&bill));

    app.post(&path, Some(&server_key), json!({"table_id": t3})).await.assert_problem(409, "table_occupied");
    let paying =
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await.expect(201);
    app.post(&path, Some(&server_key), json!({"table_id": free["id"]})).await.assert_problem(409, "payments_pending");
    app.post(&format!("/v1/t/{qr}/payments/{}/cancel", id(&paying)), None, json!({})).await.expect(200);
    app.post(&path, Some(&server_key), json!({"table_id": "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77"}))
        .await
        .assert_problem(404, "not_found");
    app.post(&path, Some(&server_key), json!({"table_id": "T2"})).await.assert_problem(404, "not_found");

    let moved = app.post(&path, Some(&server_key), json!({"table_id": free["id"]})).await.expect(200);
    assert_eq!((moved["table_label"].clone(), moved["table_id"].clone()), (json!("T2"), free["id"].clone()));
    assert!(app.guest(&qr).await["bill"].is_null(), "the old table's QR code shows no bill");
    let new_qr = free["qr_token"].as_str().unwrap();
    assert_eq!(app.guest(new_qr).await["bill"]["id"], bill["id"], "the new one shows this bill");
    totals(&moved);

    // A server closes a paid bill, not an open one.
    let close = format!("/v1/bills/{}/close", id(&bill));
    app.post(&close, Some(&server_key), json!({})).await.assert_problem(403, "forbidden");
    pay(&app, new_qr, &bill, json!({"type": "remaining"})).await;
    let closed = app.post(&close, Some(&server_key), json!({})).await.expect(200);
    assert_eq!(closed["status"], "closed");
    assert!(app.guest(new_qr).await["bill"].is_null(), "the table is free again");
}

async fn two_parties_merge_into_one_bill(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (server, server_key) = server_sam(&app, &venue).await;
    let two =
        json!([{"name": "A", "quantity": 1, "unit_price": 3000}, {"name": "B", "quantity": 1, "unit_price": 2000}]);
    let (a, qr_a) = bill_with_qr(&app, &venue, "T1", two).await;
    let (b, qr_b) = bill_with_qr(&app, &venue, "T2", json!([{"name": "C", "quantity": 1, "unit_price": 4000}])).await;
    pay(&app, &qr_a, &a, json!({"type": "items", "items": [{"item_id": a["items"][0]["id"]}]})).await;
    app.post(&format!("/v1/bills/{}/tenders", id(&b)), Some(&server_key), json!({"type": "cash", "amount": 1000}))
        .await
        .expect(201);
    let merge = format!("/v1/bills/{}/merge", id(&a));
    let paying =
        app.pay(&qr_b, json!({"bill_id": b["id"], "split": {"type": "amount", "amount": 500}})).await.expect(201);
    app.post(&merge, Some(&server_key), json!({"bill_id": b["id"]})).await.assert_problem(409, "payments_pending");
    app.post(&format!("/v1/t/{qr_b}/payments/{}/cancel", id(&paying)), None, json!({})).await.expect(200);
    app.post(&merge, Some(&server_key), json!({"bill_id": a["id"]})).await.assert_problem(422, "validation_failed");

    let merged = app.post(&merge, Some(&server_key), json!({"bill_id": b["id"]})).await.expect(200);
    let t = totals(&merged);
    assert_eq!(
        (t["total"].clone(), t["paid"].clone(), t["tendered"].clone(), t["remaining"].clone()),
        (json!(9000), json!(4000), json!(1000), json!(5000))
    );
    let names: Vec<&str> = merged["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A", "B", "C"], "the other's lines come after this bill's");
    assert_eq!(merged["payments"].as_array().unwrap().len(), 2, "every payment is kept, the cancelled one too");
    assert_eq!(merged["tenders"].as_array().unwrap().len(), 1);
    let gone = bill_of(&app, &venue, &b).await;
    assert_eq!((gone["status"].clone(), gone["merged_into"].clone()), (json!("merged"), a["id"].clone()));
    assert!(app.guest(&qr_b).await["bill"].is_null(), "the other table is free");
    assert_eq!(app.guest(&qr_a).await["bill"]["totals"]["total"], 9000);
    app.post(&merge, Some(&server_key), json!({"bill_id": b["id"]})).await.assert_problem(409, "bill_not_open");
    let other_venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (foreign, _) =
        bill_with_qr(&app, &other_venue, "T1", json!([{"name": "X", "quantity": 1, "unit_price": 100}])).await;
    app.post(&merge, Some(&server_key), json!({"bill_id": foreign["id"]})).await.assert_problem(404, "not_found");
    // A POS check merged into another bill is not opened again by the next sync (its lines are
    // on the bill it joined), and a sync that only changes the server is no stale-bill change.
    let t3 = app.create_table(&venue, "T3").await;
    let by_ref = format!("/v1/venues/{}/bills/by-ref/CHK-9", venue.id);
    let check = json!({"table_id": t3["id"], "items": [{"name": "D", "quantity": 1, "unit_price": 700}]});
    let pos_bill = app.call(reqwest::Method::PUT, &by_ref, Some(&venue.pos_key), Some(check.clone())).await.expect(201);
    let seen = app.guest(&qr_a).await["bill"]["version"].as_i64().unwrap();
    app.post(&merge, Some(&server_key), json!({"bill_id": pos_bill["id"]})).await.expect(200);
    app.call(reqwest::Method::PUT, &by_ref, Some(&venue.pos_key), Some(check)).await.assert_problem(409, "conflict");
    assert_eq!(totals(&bill_of(&app, &venue, &a).await)["total"], 9700, "D is billed once");
    let stale = app
        .pay(&qr_a, json!({"bill_id": a["id"], "bill_version": seen, "split": {"type": "amount", "amount": 100}}))
        .await;
    stale.assert_problem(409, "bill_changed");
    let t5 = app.create_table(&venue, "T5").await;
    let qr_5 = t5["qr_token"].as_str().unwrap();
    let by_ref_5 = format!("/v1/venues/{}/bills/by-ref/CHK-11", venue.id);
    let lines = json!([{"name": "E", "quantity": 1, "unit_price": 900}]);
    let opened = app
        .call(
            reqwest::Method::PUT,
            &by_ref_5,
            Some(&venue.pos_key),
            Some(json!({"table_id": t5["id"], "items": lines})),
        )
        .await
        .expect(201);
    let seen = app.guest(qr_5).await["bill"]["version"].as_i64().unwrap();
    let served = json!({"table_id": t5["id"], "server_id": server["staff"]["id"], "items": lines});
    let reassigned = app.call(reqwest::Method::PUT, &by_ref_5, Some(&venue.pos_key), Some(served)).await.expect(200);
    assert_eq!(reassigned["server"]["name"], "Sam");
    app.pay(qr_5, json!({"bill_id": opened["id"], "bill_version": seen, "split": {"type": "remaining"}}))
        .await
        .expect(201);
    // The rest is paid on the merged bill: it settles at the sum of both.
    let rest = pay(&app, &qr_a, &a, json!({"type": "remaining"})).await;
    assert_eq!(rest["amount"], 5700);
    let paid = bill_of(&app, &venue, &a).await;
    assert_eq!((paid["status"].clone(), totals(&paid)["paid"].clone()), (json!("paid"), json!(9700)));
}

/// A guest's confirmation racing her own cancel, sixty times: every amount the card was charged
/// (the confirmation answered 200) is either counted on the bill or refunded in full, and each
/// late capture is announced as `payment.captured_after_release`.
async fn a_confirm_racing_a_cancel_never_keeps_money_silently(app: TestApp) {
    let app = private_app(app).await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let receiver = Receiver::start().await;
    app.post(
        &format!("/v1/venues/{}/webhook-endpoints", venue.id),
        Some(&venue.pos_key),
        json!({"url": receiver.url, "event_types": ["payment.captured_after_release"]}),
    )
    .await
    .expect(201);
    let (mut late, mut counted, mut refused, mut given_back) = (0, 0, 0, 0);
    for round in 0..60 {
        let (bill, qr) = bill_with_qr(
            &app,
            &venue,
            &format!("R{round}"),
            json!([{"name": "Menu", "quantity": 1, "unit_price": 1500}]),
        )
        .await;
        let p = app
            .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 100}}))
            .await
            .expect(201);
        let cancel = format!("/v1/t/{qr}/payments/{}/cancel", id(&p));
        let payment_id = id(&p);
        let (confirmed, cancelled) =
            tokio::join!(app.confirm(&payment_id, CARD_OK), app.post(&cancel, None, json!({})));
        let charged = confirmed.status.as_u16() == 200;
        assert!(charged || confirmed.status.as_u16() == 409, "confirm: {:?}", confirmed.body);
        assert!([200, 409].contains(&cancelled.status.as_u16()), "cancel: {:?}", cancelled.body);
        let now = app.get(&format!("/v1/t/{qr}/payments/{}", id(&p)), None).await.expect(200);
        let bill = bill_of(&app, &venue, &bill).await;
        totals(&bill);
        match now["status"].as_str().unwrap() {
            "succeeded" => {
                assert!(charged, "round {round}: succeeded without a charge");
                assert_eq!((bill["status"].clone(), bill["totals"]["paid"].clone()), (json!("paid"), json!(1500)));
                counted += 1;
                late += usize::from(now["failure_code"] == "captured_after_release");
            }
            "canceled" if now["failure_code"] == "captured_after_release" => {
                assert!(charged);
                assert_eq!(now["refunded_amount"], 1600, "round {round}: refunded in full, tip included");
                assert_eq!(bill["totals"]["paid"], 0);
                late += 1;
                given_back += 1;
            }
            "canceled" => {
                assert!(!charged, "round {round}: the card was charged and the money is nowhere: {now}");
                assert_eq!(bill["totals"]["paid"], 0);
                refused += 1;
            }
            other => panic!("round {round}: {other}"),
        }
    }
    assert_eq!(counted + given_back + refused, 60);
    receiver.wait_for("payment.captured_after_release", late, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.of_type("payment.captured_after_release").len(), late, "every late capture is announced once");
    println!(
        "confirm vs cancel ×60: {counted} counted ({} of them captured after release), {given_back} refunded, {refused} refused before any charge",
        late - given_back
    );
}

backend_tests!(
    a_confirm_racing_a_cancel_never_keeps_money_silently,
    two_parties_merge_into_one_bill,
    parties_move_tables_and_staff_close_them,
    equal_shares_are_of_what_is_left,
    another_number_of_parts_starts_the_split_over,
    tenders_count_toward_paid_and_settle_the_table,
    a_stale_bill_version_is_refused_with_the_current_bill,
    refunds_keep_the_ledger_true,
);
