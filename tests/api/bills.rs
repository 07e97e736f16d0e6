//! Bills from the POS: totals in several currencies and tax modes, items, upsert, close,
//! one open bill per table, idempotent creation.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{CARD_OK, TestApp, backend_tests, bill_with_qr, spawn_app_with};

fn amounts(bill: &Value) -> Vec<i64> {
    bill["items"].as_array().unwrap().iter().map(|i| i["amount"].as_i64().unwrap()).collect()
}

async fn inclusive_tax_in_eur_is_shown_not_added(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1900, 0).await;
    let bill = app
        .open_bill(
            &venue,
            "T1",
            json!([{"name": "Schnitzel", "quantity": 2, "unit_price": 1190},
                   {"name": "Apfelsaft", "quantity": 1, "unit_price": 1070, "tax_rate_bps": 700}]),
        )
        .await;
    assert_eq!(bill["currency"], "EUR");
    assert_eq!(bill["status"], "open");
    assert_eq!(bill["version"], 1);
    assert_eq!(
        bill["totals"],
        json!({"subtotal": 3450, "discounts": 0, "tax": 450, "service_charge": 0, "total": 3450,
               "paid": 0, "pending": 0, "remaining": 3450, "tips": 0, "refunded": 0, "tendered": 0})
    );
    assert_eq!(amounts(&bill), vec![2380, 1070]);
    assert_eq!(bill["items"][0]["tax_rate_bps"], 1900);
    assert_eq!(bill["items"][1]["tax_rate_bps"], 700);
}

async fn exclusive_tax_and_service_in_jpy(app: TestApp) {
    let venue = app.create_venue("JPY", "exclusive", 1000, 1000).await;
    let me = app.get("/v1/me", Some(&venue.manager_key)).await.expect(200);
    assert_eq!(me["venue"]["currency_exponent"], 0);
    let bill = app
        .open_bill(
            &venue,
            "T1",
            json!([{"name": "Gyoza", "quantity": 3, "unit_price": 480},
                   {"name": "Ramen", "quantity": 1, "unit_price": 1200, "tax_rate_bps": 800}]),
        )
        .await;
    assert_eq!(bill["currency"], "JPY");
    let t = &bill["totals"];
    assert_eq!(
        (t["subtotal"].as_i64(), t["tax"].as_i64(), t["service_charge"].as_i64()),
        (Some(2640), Some(240), Some(264))
    );
    assert_eq!(t["total"], 3144);
    // Each line carries its tax and its share of service; the lines sum to the total.
    assert_eq!(amounts(&bill), vec![1728, 1416]);
}

async fn exclusive_tax_in_kwd_rounds_half_up_per_line(app: TestApp) {
    let venue = app.create_venue("KWD", "exclusive", 500, 0).await;
    // The dashboard formats and parses with ISO 4217's decimals, which it learns from here.
    let me = app.get("/v1/me", Some(&venue.manager_key)).await.expect(200);
    assert_eq!(me["venue"]["currency_exponent"], 3);
    let bill = app
        .open_bill(
            &venue,
            "T1",
            json!([{"name": "Machboos", "quantity": 1, "unit_price": 1255},
                   {"name": "Karak", "quantity": 3, "unit_price": 333}]),
        )
        .await;
    // 1.255 × 5 % = 0.06275 → 0.063; 0.999 × 5 % = 0.04995 → 0.050.
    assert_eq!(bill["items"][0]["tax"], 63);
    assert_eq!(bill["items"][1]["tax"], 50);
    assert_eq!(bill["totals"]["tax"], 113);
    assert_eq!(bill["totals"]["total"], 2367);
    assert_eq!(bill["totals"]["remaining"], 2367);
}

async fn one_open_bill_per_table_even_under_concurrency(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let path = format!("/v1/venues/{}/bills", venue.id);
    let attempts = (0..10).map(|i| {
        let body = json!({"table_id": table["id"], "items": [{"name": format!("Dish {i}"), "quantity": 1, "unit_price": 100}]});
        app.post(&path, Some(&venue.pos_key), body)
    });
    let answers = join_all(attempts).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(created, 1, "exactly one bill opens");
    for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
        answer.assert_problem(409, "conflict");
    }
    let listed = app.get(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(listed["data"][0]["status"], "open");
}

async fn adding_and_voiding_items_reprices_the_bill(app: TestApp) {
    let venue = app.create_venue("EUR", "exclusive", 1000, 0).await;
    let bill = app.open_bill(&venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 500}])).await;
    let id = bill["id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/v1/bills/{id}/items"),
            Some(&venue.pos_key),
            json!({"items": [{"name": "Wine", "quantity": 2, "unit_price": 700}]}),
        )
        .await
        .expect(200);
    assert_eq!(added["version"], 2);
    assert_eq!(added["totals"]["total"], 550 + 1540);
    let wine = added["items"][1]["id"].as_str().unwrap();
    let voided =
        app.call(Method::DELETE, &format!("/v1/bills/{id}/items/{wine}"), Some(&venue.pos_key), None).await.expect(200);
    assert_eq!(voided["items"][1]["status"], "void");
    assert_eq!(voided["items"][1]["amount"], 0);
    assert_eq!(voided["totals"]["total"], 550);
    assert_eq!(voided["totals"]["remaining"], 550);
    assert_eq!(voided["version"], 3);
    // Voiding it again changes nothing; an unknown item is 404.
    let again =
        app.call(Method::DELETE, &format!("/v1/bills/{id}/items/{wine}"), Some(&venue.pos_key), None).await.expect(200);
    assert_eq!(again["version"], 3);
    let unknown = uuid::Uuid::now_v7();
    app.call(Method::DELETE, &format!("/v1/bills/{id}/items/{unknown}"), Some(&venue.pos_key), None)
        .await
        .assert_problem(404, "not_found");
}

async fn closing_frees_the_table(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let bill = app
        .post(
            &format!("/v1/venues/{}/bills", venue.id),
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": []}),
        )
        .await
        .expect(201);
    let id = bill["id"].as_str().unwrap();
    // Unpaid: the POS cannot close it; a manager can, with a reason, and it is void.
    app.post(&format!("/v1/bills/{id}/close"), Some(&venue.pos_key), json!({})).await.assert_problem(409, "conflict");
    app.post(&format!("/v1/bills/{id}/close"), Some(&venue.manager_key), json!({}))
        .await
        .assert_problem(422, "validation_failed");
    let closed = app
        .post(
            &format!("/v1/bills/{id}/close"),
            Some(&venue.manager_key),
            json!({"reason": "guests left before ordering"}),
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], "void");
    assert!(closed["closed_at"].is_string());
    app.post(
        &format!("/v1/bills/{id}/items"),
        Some(&venue.pos_key),
        json!({"items": [{"name": "Tea", "quantity": 1, "unit_price": 1}]}),
    )
    .await
    .assert_problem(409, "bill_not_open");
    // The table takes a new bill.
    app.post(
        &format!("/v1/venues/{}/bills", venue.id),
        Some(&venue.pos_key),
        json!({"table_id": table["id"], "items": []}),
    )
    .await
    .expect(201);
}

async fn upsert_by_reference_is_idempotent(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let path = format!("/v1/venues/{}/bills/by-ref/CHK-42", venue.id);
    let check = json!({"table_id": table["id"], "items": [
        {"name": "Soup", "quantity": 1, "unit_price": 500, "external_ref": "L1"},
        {"name": "Bread", "quantity": 1, "unit_price": 200}]});
    let created = app.call(Method::PUT, &path, Some(&venue.pos_key), Some(check.clone())).await.expect(201);
    assert_eq!(created["external_ref"], "CHK-42");
    let same = app.call(Method::PUT, &path, Some(&venue.pos_key), Some(check)).await.expect(200);
    assert_eq!(same["id"], created["id"]);
    assert_eq!(same["version"], 1, "the same check twice changes nothing");
    // The POS changes a line's quantity and drops the bread.
    let changed = app
        .call(
            Method::PUT,
            &path,
            Some(&venue.pos_key),
            Some(json!({"table_id": table["id"], "items": [{"name": "Soup", "quantity": 2, "unit_price": 500, "external_ref": "L1"}]})),
        )
        .await
        .expect(200);
    assert_eq!(changed["id"], created["id"]);
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["totals"]["total"], 1000);
    assert_eq!(changed["items"][0]["quantity"], 2);
    assert_eq!(changed["items"][1]["status"], "void");
}

async fn replaying_creation_with_an_idempotency_key(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let path = format!("/v1/venues/{}/bills", venue.id);
    let body = json!({"table_id": table["id"], "items": [{"name": "Soup", "quantity": 1, "unit_price": 500}]});
    let key = [("Idempotency-Key", "order-7781")];
    let first = app.call_with(Method::POST, &path, Some(&venue.pos_key), Some(body.clone()), &key).await;
    assert_eq!(first.status.as_u16(), 201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let replay = app.call_with(Method::POST, &path, Some(&venue.pos_key), Some(body.clone()), &key).await;
    assert_eq!(replay.status.as_u16(), 201);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.body, first.body, "the same bill, not a second one");
    // Same key, other body → 422; the table still has one bill.
    let other = json!({"table_id": table["id"], "items": [{"name": "Soup", "quantity": 2, "unit_price": 500}]});
    app.call_with(Method::POST, &path, Some(&venue.pos_key), Some(other), &key)
        .await
        .assert_problem(422, "idempotency_key_reused");
    // Keys belong to a credential: the manager's same key is a new request (and meets the open bill).
    app.call_with(Method::POST, &path, Some(&venue.manager_key), Some(body), &key)
        .await
        .assert_problem(409, "conflict");
    let guest = app.get(&format!("/v1/t/{}", table["qr_token"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(guest["bill"]["id"], first.body["id"]);
}

async fn concurrent_replays_create_one_bill(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let path = format!("/v1/venues/{}/bills", venue.id);
    let mut tables = Vec::new();
    for i in 0..3 {
        tables.push(app.create_table(&venue, &format!("T{i}")).await);
    }
    // Eight copies of one request with one key: one bill, the others replay or are told to wait.
    let body = json!({"table_id": tables[0]["id"], "items": [{"name": "Soup", "quantity": 1, "unit_price": 500}]});
    let answers = join_all((0..8).map(|_| {
        app.call_with(Method::POST, &path, Some(&venue.pos_key), Some(body.clone()), &[("Idempotency-Key", "same")])
    }))
    .await;
    let mut ids = std::collections::HashSet::new();
    for answer in &answers {
        match answer.status.as_u16() {
            201 => {
                ids.insert(answer.body["id"].as_str().unwrap().to_owned());
            }
            409 => answer.assert_problem(409, "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert_eq!(ids.len(), 1, "one bill whatever the interleaving");
}

/// Everything the ledger needs (bill, venue, table, server, lines, payments, their parts,
/// comps and their lines) loads in two statements, however many of each there are.
async fn a_bill_loads_in_two_statements_whatever_it_holds(app: TestApp) {
    let quiet = [("TABLEPAY_WEBHOOK_WORKER", "false"), ("TABLEPAY_SWEEP_INTERVAL_MS", "60000")];
    let app = spawn_app_with(app.backend, &quiet).await.unwrap();
    let venue = app.create_venue("EUR", "exclusive", 1000, 0).await;
    for (label, count) in [("small", 2_usize), ("large", 60)] {
        let items: Vec<Value> =
            (0..count).map(|i| json!({"name": format!("Dish {i}"), "quantity": 2, "unit_price": 500 + i})).collect();
        let (bill, qr) = bill_with_qr(&app, &venue, label, json!(items)).await;
        let bill_id = bill["id"].as_str().unwrap().to_owned();
        let item = |n: usize| bill["items"][n]["id"].clone();
        // A paid part of a shared line, a held one, and a comp on another line.
        let paid = app
            .pay(&qr, json!({"bill_id": bill_id, "split": {"type": "items", "items": [{"item_id": item(0), "share": {"parts": 2}}]}}))
            .await
            .expect(201);
        app.confirm(paid["id"].as_str().unwrap(), CARD_OK).await.expect(200);
        app.pay(
            &qr,
            json!({"bill_id": bill_id, "split": {"type": "items", "items": [{"item_id": item(0), "quantity": 1}]}}),
        )
        .await
        .expect(201);
        app.post(
            &format!("/v1/bills/{bill_id}/adjustments"),
            Some(&venue.manager_key),
            json!({"type": "comp", "item_id": item(1), "reason": "birthday"}),
        )
        .await
        .expect(201);
        let (id, db) = (bill_id.clone(), app.db.clone());
        // Counted inside the closure: the pool's own check of the connection is not the load's.
        let (record, statements) = app
            .db
            .run(move |conn| -> Result<_, tablepay_store::StoreError> {
                let before = db.queries_run();
                let record = tablepay_store::bills::load(conn, &id)?;
                Ok((record, db.queries_run() - before))
            })
            .await
            .expect("loads");
        let record = record.expect("the bill exists");
        assert_eq!(statements, 2, "statements to load the {label} bill");
        assert_eq!(record.bill.id, bill_id);
        assert_eq!(record.venue.id, venue.id);
        assert_eq!(record.table.label, label);
        assert_eq!(record.items.len(), count);
        let positions: Vec<i32> = record.items.iter().map(|i| i.position).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "lines in the POS's order: {positions:?}");
        assert_eq!(record.payments.len(), 2);
        assert_eq!(record.payments[0].id, paid["id"].as_str().unwrap(), "payments oldest first");
        assert_eq!(record.payments[0].status.as_str(), "succeeded");
        assert_eq!(record.payments[1].status.as_str(), "pending");
        let fractions: Vec<(i64, i64)> = record.parts.iter().map(|p| (p.fraction_num, p.fraction_den)).collect();
        assert_eq!(fractions.len(), 2);
        assert!(fractions.iter().all(|f| *f == (1, 2)), "{fractions:?}");
        assert_eq!(record.adjustments.len(), 1);
        assert_eq!(record.adjustments[0].status.as_str(), "applied");
        assert_eq!(record.adjustment_lines.len(), 1);
        assert_eq!(record.adjustment_lines[0].item_id, item(1).as_str().unwrap());
        // What the store loaded is what the API shows.
        let shown = app.get(&format!("/v1/bills/{bill_id}"), Some(&venue.pos_key)).await.expect(200);
        assert_eq!(shown["payments"].as_array().unwrap().len(), 2);
        assert_eq!(
            shown["items"][0]["paid_amount"].as_i64().unwrap(),
            record.parts.iter().find(|p| p.payment_id == record.payments[0].id).unwrap().amount
        );
    }
}

/// The bill's children come back from the one `UNION ALL` exactly as each table holds them:
/// every column of every kind of row, compared with a plain read of each table.
async fn a_loaded_bill_is_what_its_tables_hold(app: TestApp) {
    let venue = app.create_venue("EUR", "exclusive", 1000, 500).await;
    let items = json!([{"name": "Soup", "quantity": 2, "unit_price": 750, "tax_rate_bps": 700, "external_ref": "p-1"},
                       {"name": "Wine", "quantity": 1, "unit_price": 1800},
                       {"name": "Cake", "quantity": 1, "unit_price": 600}]);
    let (bill, qr) = bill_with_qr(&app, &venue, "T9", items).await;
    let bill_id = bill["id"].as_str().unwrap().to_owned();
    let cake = bill["items"][2]["id"].as_str().unwrap();
    app.call(Method::DELETE, &format!("/v1/bills/{bill_id}/items/{cake}"), Some(&venue.pos_key), None)
        .await
        .expect(200);
    app.post(
        &format!("/v1/bills/{bill_id}/adjustments"),
        Some(&venue.manager_key),
        json!({"type": "discount", "percent_bps": 1000, "reason": "regulars"}),
    )
    .await
    .expect(201);
    let share = app.pay(&qr, json!({"bill_id": bill_id, "split": {"type": "equal", "parts": 4}})).await.expect(201);
    app.confirm(share["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    app.pay(
        &qr,
        json!({"bill_id": bill_id, "split": {"type": "equal", "parts": 4, "count": 2}, "tip": {"amount": 100}}),
    )
    .await
    .expect(201);
    let (loaded, read) = app
        .db
        .run(move |conn| -> Result<_, tablepay_store::StoreError> {
            use diesel::prelude::*;
            use tablepay_store::rows::{Adjustment, AdjustmentLine, BillItem, Payment, PaymentItem};
            use tablepay_store::schema::{adjustment_lines, adjustments, bill_items, payment_items, payments};
            let loaded = tablepay_store::bills::load(conn, &bill_id)?.expect("the bill exists");
            let items: Vec<BillItem> = bill_items::table
                .filter(bill_items::bill_id.eq(&bill_id))
                .order((bill_items::position, bill_items::id))
                .select(BillItem::as_select())
                .load(conn)
                .map_err(tablepay_store::StoreError::from)?;
            let payments: Vec<Payment> = payments::table
                .filter(payments::bill_id.eq(&bill_id))
                .order((payments::created_at, payments::id))
                .select(Payment::as_select())
                .load(conn)
                .map_err(tablepay_store::StoreError::from)?;
            let parts: Vec<PaymentItem> = payment_items::table
                .filter(payment_items::bill_id.eq(&bill_id))
                .order((payment_items::payment_id, payment_items::item_id))
                .select(PaymentItem::as_select())
                .load(conn)
                .map_err(tablepay_store::StoreError::from)?;
            let adjustments: Vec<Adjustment> = adjustments::table
                .filter(adjustments::bill_id.eq(&bill_id))
                .order((adjustments::created_at, adjustments::id))
                .select(Adjustment::as_select())
                .load(conn)
                .map_err(tablepay_store::StoreError::from)?;
            let lines: Vec<AdjustmentLine> = adjustment_lines::table
                .filter(adjustment_lines::bill_id.eq(&bill_id))
                .order((adjustment_lines::adjustment_id, adjustment_lines::item_id))
                .select(AdjustmentLine::as_select())
                .load(conn)
                .map_err(tablepay_store::StoreError::from)?;
            let read = format!("{items:?}\n{payments:?}\n{parts:?}\n{adjustments:?}\n{lines:?}");
            Ok((loaded, read))
        })
        .await
        .expect("loads");
    let mut parts = loaded.parts.clone();
    parts.sort_by(|a, b| (&a.payment_id, &a.item_id).cmp(&(&b.payment_id, &b.item_id)));
    let mut lines = loaded.adjustment_lines.clone();
    lines.sort_by(|a, b| (&a.adjustment_id, &a.item_id).cmp(&(&b.adjustment_id, &b.item_id)));
    let union =
        format!("{:?}\n{:?}\n{:?}\n{:?}\n{:?}", loaded.items, loaded.payments, parts, loaded.adjustments, lines);
    assert_eq!(union, read);
    // The rows that fill the optional columns are really there.
    assert_eq!(loaded.items.len(), 3);
    assert!(loaded.items[2].voided_at.is_some() && loaded.items[0].tax_rate_bps == Some(700));
    assert_eq!(loaded.payments.len(), 2);
    assert_eq!((loaded.payments[1].equal_parts, loaded.payments[1].equal_count), (Some(4), Some(2)));
    assert!(loaded.payments[0].succeeded_at.is_some() && loaded.payments[1].provider_ref.is_some());
    assert_eq!(loaded.adjustments[0].percent_bps, Some(1000));
    assert_eq!(lines.len(), 2, "the discount lowers both active lines");
}

/// 2^53 − 1: the largest integer JSON readers (JavaScript above all) hold exactly.
const MAX_SAFE: i64 = 9_007_199_254_740_991;

/// No amount, input or computed, passes 2^53 − 1: input that would is refused (422) and
/// changes nothing; sums that would are refused instead of wrapping.
async fn no_amount_passes_two_to_the_53(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let qr = table["qr_token"].as_str().unwrap();
    let bills = format!("/v1/venues/{}/bills", venue.id);
    // 10 × 10^15 and 3,000 × 10^15 are each over.
    for quantity in [10, 3000] {
        app.post(
            &bills,
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": [{"name": "Gold", "quantity": quantity, "unit_price": 1_000_000_000_000_000_i64}]}),
        )
        .await
        .assert_problem(422, "validation_failed");
    }
    assert_eq!(app.get(&format!("/v1/t/{qr}"), None).await.expect(200)["bill"], Value::Null, "no bill was opened");
    // 9 × 10^15 fits; one cent more than 2^53 − 1 does not.
    let bill = app
        .post(
            &bills,
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": [{"name": "Gold", "quantity": 9, "unit_price": 1_000_000_000_000_000_i64}]}),
        )
        .await
        .expect(201);
    assert_eq!(bill["totals"]["total"], 9_000_000_000_000_000_i64);
    let bill_id = bill["id"].as_str().unwrap();
    let over = MAX_SAFE - 9_000_000_000_000_000 + 1;
    app.post(
        &format!("/v1/bills/{bill_id}/items"),
        Some(&venue.pos_key),
        json!({"items": [{"name": "Crumb", "quantity": 1, "unit_price": over}]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let after = app.get(&format!("/v1/bills/{bill_id}"), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(after["totals"]["total"], 9_000_000_000_000_000_i64, "the refused line changed nothing");
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
    // The whole bill with a tip that takes the charge past 2^53 − 1 is refused, and holds nothing.
    app.pay(qr, json!({"bill_id": bill_id, "split": {"type": "remaining"}, "tip": {"amount": over}}))
        .await
        .assert_problem(422, "validation_failed");
    let after = app.get(&format!("/v1/bills/{bill_id}"), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(after["totals"]["remaining"], 9_000_000_000_000_000_i64);
    // Two such bills paid make a day whose sales pass 2^53 − 1: the report says so, never wraps.
    for label in ["T1", "T2"] {
        let (bill, qr) = if label == "T1" {
            (bill.clone(), qr.to_owned())
        } else {
            bill_with_qr(
                &app,
                &venue,
                label,
                json!([{"name": "Gold", "quantity": 9, "unit_price": 1_000_000_000_000_000_i64}]),
            )
            .await
        };
        let paid = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
        app.confirm(paid["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    }
    let today = chrono::Utc::now().date_naive();
    app.get(&format!("/v1/venues/{}/reports/daily?date={today}", venue.id), Some(&venue.manager_key))
        .await
        .assert_problem(422, "validation_failed");
}

backend_tests!(
    no_amount_passes_two_to_the_53,
    a_loaded_bill_is_what_its_tables_hold,
    a_bill_loads_in_two_statements_whatever_it_holds,
    inclusive_tax_in_eur_is_shown_not_added,
    exclusive_tax_and_service_in_jpy,
    exclusive_tax_in_kwd_rounds_half_up_per_line,
    one_open_bill_per_table_even_under_concurrency,
    adding_and_voiding_items_reprices_the_bill,
    closing_frees_the_table,
    upsert_by_reference_is_idempotent,
    replaying_creation_with_an_idempotency_key,
    concurrent_replays_create_one_bill,
);
