//! Bad requests of every kind get a 4xx problem+json answer and change nothing; credentials
//! of one venue see nothing of another.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, backend_tests};

async fn missing_or_wrong_credentials_are_401(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let path = format!("/v1/venues/{}/tables", venue.id);
    let none = app.post(&path, None, json!({"label": "T1"})).await;
    none.assert_problem(401, "unauthorized");
    assert_eq!(none.headers.get("www-authenticate").unwrap(), "Bearer");
    app.post(&path, Some("tp_pos_not-a-real-key"), json!({"label": "T1"})).await.assert_problem(401, "unauthorized");
    app.post("/v1/venues", None, json!({"name": "X", "currency": "EUR", "tax_mode": "inclusive"}))
        .await
        .assert_problem(401, "unauthorized");
    let basic = app.call_with(Method::GET, &path, None, None, &[("Authorization", "Basic dXNlcjpwYXNz")]).await;
    basic.assert_problem(401, "unauthorized");
    // The admin token is for creating venues only.
    app.get(&path, Some(ADMIN_TOKEN)).await.assert_problem(403, "forbidden");
    let tables = app.get(&path, Some(&venue.pos_key)).await.expect(200);
    assert_eq!(tables["data"], json!([]), "nothing was created by the refused calls");
}

async fn another_venues_resources_are_404(app: TestApp) {
    let a = app.create_venue("EUR", "inclusive", 0, 0).await;
    let b = app.create_venue("EUR", "inclusive", 0, 0).await;
    let bill = app.open_bill(&a, "A1", json!([{"name": "Soup", "quantity": 1, "unit_price": 500}])).await;
    let bill_id = bill["id"].as_str().unwrap();
    let item_id = bill["items"][0]["id"].as_str().unwrap();
    let table_id = bill["table_id"].as_str().unwrap();
    for key in [&b.pos_key, &b.manager_key] {
        app.get(&format!("/v1/venues/{}", a.id), Some(key)).await.assert_problem(404, "not_found");
        app.get(&format!("/v1/bills/{bill_id}"), Some(key)).await.assert_problem(404, "not_found");
        app.get(&format!("/v1/tables/{table_id}"), Some(key)).await.assert_problem(404, "not_found");
        app.get(&format!("/v1/venues/{}/tables", a.id), Some(key)).await.assert_problem(404, "not_found");
        app.post(&format!("/v1/venues/{}/tables", a.id), Some(key), json!({"label": "X"}))
            .await
            .assert_problem(404, "not_found");
        app.post(
            &format!("/v1/bills/{bill_id}/items"),
            Some(key),
            json!({"items": [{"name": "X", "quantity": 1, "unit_price": 1}]}),
        )
        .await
        .assert_problem(404, "not_found");
        app.call(Method::DELETE, &format!("/v1/bills/{bill_id}/items/{item_id}"), Some(key), None)
            .await
            .assert_problem(404, "not_found");
        app.post(&format!("/v1/bills/{bill_id}/close"), Some(key), json!({"reason": "x"}))
            .await
            .assert_problem(404, "not_found");
        app.post(&format!("/v1/tables/{table_id}/qr-token/rotate"), Some(key), json!({}))
            .await
            .assert_problem(404, "not_found");
        // A table of venue A named in a bill of venue B is not found either.
        app.post(&format!("/v1/venues/{}/bills", b.id), Some(key), json!({"table_id": table_id, "items": []}))
            .await
            .assert_problem(404, "not_found");
    }
    let revoke = app
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{}", a.body["api_key"]["id"].as_str().unwrap()),
            Some(&b.manager_key),
            None,
        )
        .await;
    revoke.assert_problem(404, "not_found");
    let after = app.get(&format!("/v1/bills/{bill_id}"), Some(&a.pos_key)).await.expect(200);
    assert_eq!(after, bill, "venue B changed nothing of venue A");
}

async fn bad_bodies_are_refused_and_change_nothing(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let bill = app.open_bill(&venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 500}])).await;
    let id = bill["id"].as_str().unwrap();
    let table = bill["table_id"].clone();
    let items_path = format!("/v1/bills/{id}/items");
    let item = |q: Value, p: Value| json!({"items": [{"name": "X", "quantity": q, "unit_price": p}]});

    let raw = |body: &'static str| {
        app.client
            .post(app.url(&items_path))
            .bearer_auth(&venue.pos_key)
            .header("content-type", "application/json")
            .body(body)
    };
    for body in [
        "{\"items\": [",
        "not json",
        "",
        "[]",
        "{\"items\": [{\"name\": \"X\", \"quantity\": 1, \"unit_price\": 9223372036854775808}]}",
        // A key named twice, at the top and deeper: parsers disagree on which one counts.
        "{\"items\": [], \"items\": [{\"name\": \"X\", \"quantity\": 1, \"unit_price\": 1}]}",
        "{\"items\": [{\"name\": \"X\", \"name\": \"Y\", \"quantity\": 1, \"unit_price\": 1}]}",
    ] {
        let answer = crate::helpers::read(raw(body).send().await.unwrap()).await;
        answer.assert_problem(400, "validation_failed");
    }
    for (body, status) in [
        (item(json!(-1), json!(100)), 422),
        (item(json!(0), json!(100)), 422),
        (item(json!(1), json!(-100)), 422),
        (item(json!(1), json!(10.5)), 400),
        (item(json!(1), json!("100")), 400),
        (item(json!(1.5), json!(100)), 400),
        (item(json!(1), json!(i64::MAX)), 422),
        (json!({"items": [{"name": "X", "quantity": 1, "unit_price": 1, "colour": "red"}]}), 400),
        (json!({"items": [], "extra": true}), 400),
        (json!({"items": []}), 422),
        (json!({"items": [{"name": "", "quantity": 1, "unit_price": 1}]}), 422),
        (json!({"items": [{"name": "X", "quantity": 1, "unit_price": 1, "tax_rate_bps": 10001}]}), 422),
    ] {
        app.post(&items_path, Some(&venue.pos_key), body).await.assert_problem(status, "validation_failed");
    }
    // Prices that fit one by one but not together are refused before anything is stored.
    let huge = json!({"items": [{"name": "A", "quantity": 100000, "unit_price": 1_000_000_000_000_000_i64},
                                {"name": "B", "quantity": 100000, "unit_price": 1_000_000_000_000_000_i64}]});
    app.post(&items_path, Some(&venue.pos_key), huge).await.assert_problem(422, "validation_failed");
    // A 3 MiB body is refused whole.
    let big = json!({"items": [{"name": "x".repeat(3 * 1024 * 1024), "quantity": 1, "unit_price": 1}]});
    app.post(&items_path, Some(&venue.pos_key), big).await.assert_problem(413, "payload_too_large");
    // A non-JSON content type is refused.
    let form = app
        .client
        .post(app.url(&items_path))
        .bearer_auth(&venue.pos_key)
        .header("content-type", "text/plain")
        .body("x");
    crate::helpers::read(form.send().await.unwrap()).await.assert_problem(415, "unsupported_media_type");
    // Bill creation with bad input creates no bill on another table.
    let t2 = app.create_table(&venue, "T2").await;
    let create_path = format!("/v1/venues/{}/bills", venue.id);
    app.post(
        &create_path,
        Some(&venue.pos_key),
        json!({"table_id": t2["id"], "items": [{"name": "X", "quantity": -2, "unit_price": 1}]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(&create_path, Some(&venue.pos_key), json!({"table_id": "not-a-uuid", "items": []}))
        .await
        .assert_problem(404, "not_found");
    app.post(&create_path, Some(&venue.pos_key), json!({"items": []})).await.assert_problem(400, "validation_failed");

    let after = app.get(&format!("/v1/bills/{id}"), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(after, bill, "no refused request changed the bill");
    assert_eq!(after["table_id"], table);
    let guest = app.get(&format!("/v1/t/{}", t2["qr_token"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(guest["bill"], Value::Null, "no bill was opened on T2");
}

async fn unknown_paths_and_ids_are_problem_404(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    // Every answer carries a request id (the caller's when it sent one) and security headers.
    let own = app.call_with(Method::GET, "/healthz", None, None, &[("x-request-id", "pos-till-7:1234")]).await;
    assert_eq!(own.headers["x-request-id"], "pos-till-7:1234");
    let made = app.get("/v1/nowhere", None).await;
    assert_eq!(made.headers["x-request-id"].len(), 36);
    assert_eq!(made.headers["x-content-type-options"], "nosniff");
    let odd = app.call_with(Method::GET, "/healthz", None, None, &[("x-request-id", "<script>")]).await;
    assert_ne!(odd.headers["x-request-id"], "<script>");
    app.get("/v1/nowhere", Some(&venue.pos_key)).await.assert_problem(404, "not_found");
    app.get("/v1/bills/12345", Some(&venue.pos_key)).await.assert_problem(404, "not_found");
    app.get(&format!("/v1/bills/{}", uuid::Uuid::now_v7()), Some(&venue.pos_key))
        .await
        .assert_problem(404, "not_found");
    // A known path with a method it does not take: 405 and the methods it does take.
    let wrong = app.call(Method::DELETE, &format!("/v1/venues/{}", venue.id), Some(&venue.pos_key), None).await;
    assert_eq!(wrong.headers["allow"], "GET, PATCH");
    wrong.assert_problem(405, "method_not_allowed");
    let wrong = app.call(Method::PUT, &format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key), None).await;
    assert_eq!(wrong.headers["allow"], "GET, POST");
    wrong.assert_problem(405, "method_not_allowed");
}

async fn the_guest_page_origin_may_call_the_guest_routes(app: TestApp) {
    let app = crate::helpers::spawn_app_with(app.backend, &[("TABLEPAY_GUEST_ORIGIN", "https://pay.example.com")])
        .await
        .unwrap();
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let qr = table["qr_token"].as_str().unwrap();
    let page = [("Origin", "https://pay.example.com")];
    let preflight = app.call_with(Method::OPTIONS, &format!("/v1/t/{qr}/payments"), None, None, &page).await;
    assert_eq!(preflight.status.as_u16(), 204);
    assert!(preflight.headers.contains_key("x-request-id"), "preflights carry a request id too");
    assert_eq!(preflight.headers["x-content-type-options"], "nosniff");
    assert_eq!(preflight.headers["access-control-allow-origin"], "https://pay.example.com");
    assert!(preflight.headers["access-control-allow-headers"].to_str().unwrap().contains("idempotency-key"));
    let read = app.call_with(Method::GET, &format!("/v1/t/{qr}"), None, None, &page).await;
    assert_eq!(read.headers["access-control-allow-origin"], "https://pay.example.com");
    let elsewhere =
        app.call_with(Method::GET, &format!("/v1/t/{qr}"), None, None, &[("Origin", "https://evil.example")]).await;
    assert!(elsewhere.headers.get("access-control-allow-origin").is_none());
    let staff =
        app.call_with(Method::GET, &format!("/v1/venues/{}", venue.id), Some(&venue.pos_key), None, &page).await;
    assert!(staff.headers.get("access-control-allow-origin").is_none(), "only the guest routes");
}

/// PostgreSQL refuses text holding a NUL with an error; such input must be refused before it
/// reaches any query, on either backend, and change nothing.
async fn nul_bytes_never_reach_the_database(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let qr = table["qr_token"].as_str().unwrap().to_owned();
    let payment = uuid::Uuid::now_v7();
    let key = [("Idempotency-Key", "nul-1")];
    for token in ["%00", "ab%00cd", "%00%00", &format!("{qr}%00")] {
        app.get(&format!("/v1/t/{token}"), None).await.assert_problem(404, "not_found");
        app.get(&format!("/v1/t/{token}/payments/{payment}"), None).await.assert_problem(404, "not_found");
        app.get(&format!("/v1/t/{token}/payments/{payment}/receipt"), None).await.assert_problem(404, "not_found");
        for (path, body) in [
            (format!("/v1/t/{token}/payments/{payment}/cancel"), json!({})),
            (format!("/v1/t/{token}/feedback"), json!({"rating": 5})),
            (format!("/v1/t/{token}/assistance"), json!({})),
            (format!("/v1/t/{token}/payments"), json!({"split": {"type": "remaining"}})),
        ] {
            app.call_with(Method::POST, &path, None, Some(body), &key).await.assert_problem(404, "not_found");
        }
    }
    // A payment id with a NUL names no payment of the (real) table.
    app.get(&format!("/v1/t/{qr}/payments/%00"), None).await.assert_problem(404, "not_found");
    app.get(&format!("/v1/t/{qr}/payments/%00/receipt"), None).await.assert_problem(404, "not_found");
    // The feedback comment refuses control characters like every other text; line breaks stay.
    let feedback = format!("/v1/t/{qr}/feedback");
    for comment in ["bad\u{0}", "\u{0}", "odd\u{1}", "del\u{7f}"] {
        app.post(&feedback, None, json!({"rating": 4, "comment": comment}))
            .await
            .assert_problem(422, "validation_failed");
    }
    let kept = app.post(&feedback, None, json!({"rating": 4, "comment": "Lovely.\nThanks!"})).await.expect(201);
    assert_eq!(kept["comment"], "Lovely.\nThanks!");
    // The table still answers as before.
    app.get(&format!("/v1/t/{qr}"), None).await.expect(200);
}

/// An empty `Idempotency-Key` is refused (400) on every route, not only where keys are
/// recorded, and the request changes nothing.
async fn an_empty_idempotency_key_is_refused_everywhere(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let qr = table["qr_token"].as_str().unwrap();
    let bill = app
        .post(
            &format!("/v1/venues/{}/bills", venue.id),
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": [{"name": "Soup", "quantity": 1, "unit_price": 1000}]}),
        )
        .await
        .expect(201);
    let payment = app.pay(qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let payment_id = payment["id"].as_str().unwrap();
    let empty = [("Idempotency-Key", "")];
    let any = uuid::Uuid::now_v7();
    for (path, key) in [
        (format!("/v1/t/{qr}/payments/{payment_id}/cancel"), None),
        (format!("/v1/sandbox/payments/{payment_id}/confirm"), None),
        (format!("/v1/assistance/{any}/resolve"), Some(venue.manager_key.as_str())),
        (format!("/v1/webhook-deliveries/{any}/retry"), Some(venue.manager_key.as_str())),
        (format!("/v1/webhook-endpoints/{any}/rotate-secret"), Some(venue.manager_key.as_str())),
        (format!("/v1/venues/{}/tables", venue.id), Some(venue.pos_key.as_str())),
    ] {
        let body = json!({"card_number": "4242424242424242", "label": "T9"});
        app.call_with(Method::POST, &path, key, Some(body), &empty).await.assert_problem(400, "validation_failed");
    }
    // Neither the cancel nor the confirm happened.
    let still = app.get(&format!("/v1/t/{qr}/payments/{payment_id}"), None).await.expect(200);
    assert_eq!(still["status"], "pending");
}

/// Every split variant refuses fields it does not have, `remaining` too.
async fn unknown_fields_beside_a_split_type_are_refused(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        crate::helpers::bill_with_qr(&app, &venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 500}]))
            .await;
    for split in [
        json!({"type": "remaining", "x": 1}),
        json!({"type": "amount", "amount": 100, "x": 1}),
        json!({"type": "equal", "parts": 2, "x": 1}),
    ] {
        app.pay(&qr, json!({"bill_id": bill["id"], "split": split})).await.assert_problem(400, "validation_failed");
    }
    let after = app.get(&format!("/v1/t/{qr}"), None).await.expect(200);
    assert_eq!(after["bill"]["totals"]["remaining"], 500, "nothing was held");
    // Optional bodies may be JSON null, as the document allows.
    let call = app.post(&format!("/v1/t/{qr}/assistance"), None, Value::Null).await.expect(201);
    assert!(call["id"].is_string());
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
}

/// JSON Schema counts `2.0` as an integer: a whole number written with a fraction is that
/// integer; a real fraction is still refused and changes nothing.
async fn whole_numbers_with_a_fraction_are_integers(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let bill = app.open_bill(&venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 500}])).await;
    let items = format!("/v1/bills/{}/items", bill["id"].as_str().unwrap());
    app.post(&items, Some(&venue.pos_key), json!({"items": [{"name": "Tea", "quantity": 1.5, "unit_price": 300}]}))
        .await
        .assert_problem(400, "validation_failed");
    let bill = app
        .post(&items, Some(&venue.pos_key), json!({"items": [{"name": "Tea", "quantity": 2.0, "unit_price": 3e2}]}))
        .await
        .expect(200);
    assert_eq!(bill["totals"]["total"], 1100);
    assert_eq!(bill["items"][1]["quantity"], 2);
}

backend_tests!(
    whole_numbers_with_a_fraction_are_integers,
    unknown_fields_beside_a_split_type_are_refused,
    an_empty_idempotency_key_is_refused_everywhere,
    nul_bytes_never_reach_the_database,
    the_guest_page_origin_may_call_the_guest_routes,
    missing_or_wrong_credentials_are_401,
    another_venues_resources_are_404,
    bad_bodies_are_refused_and_change_nothing,
    unknown_paths_and_ids_are_problem_404,
);
