//! Receipts and invoices people can use (issue 16): every split itemised, tax per rate,
//! refunds, the venue's legal identity, numbers sequential per venue, the venue's local time
//! and the guest's language; invoices for a company, numbered without gaps.

use chrono::{DateTime, TimeZone, Utc};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{CARD_OK, TestApp, Venue, backend_tests, bill_with_qr};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A French restaurant with its legal identity: 10 % by default, wine at 20 %.
async fn bistro(app: &TestApp) -> Venue {
    app.create_venue_from(json!({
        "name": "Chez Marcel", "currency": "EUR", "tax_mode": "inclusive", "tax_rate_bps": 1000,
        "timezone": "Europe/Paris", "legal_name": "Chez Marcel SARL",
        "address": "12 rue de la Paix\n75002 Paris", "vat_id": "FR40303265045"
    }))
    .await
}

const DINNER: fn() -> Value = || {
    json!([{"name": "Entrecôte", "quantity": 2, "unit_price": 2400},
           {"name": "Bordeaux", "quantity": 1, "unit_price": 800, "tax_rate_bps": 2000}])
};

async fn paid(app: &TestApp, qr: &str, body: Value) -> Value {
    let p = app.pay(qr, body).await.expect(201);
    app.confirm(&id(&p), CARD_OK).await.expect(200);
    p
}

async fn receipt(app: &TestApp, qr: &str, payment: &Value, headers: &[(&str, &str)]) -> Value {
    app.call_with(Method::GET, &format!("/v1/t/{qr}/payments/{}/receipt", id(payment)), None, None, headers)
        .await
        .expect(200)
}

async fn page(app: &TestApp, path: &str, method: Method, body: Option<Value>) -> (u16, String) {
    let mut request = app.client.request(method, app.url(path)).header("Accept", "text/html");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    (status, response.text().await.unwrap())
}

fn sum(lines: &Value, field: &str) -> i64 {
    lines.as_array().unwrap().iter().map(|l| l[field].as_i64().unwrap()).sum()
}

async fn a_whole_bill_is_itemised_in_the_guests_language_and_local_time(app: TestApp) {
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "2", DINNER()).await;
    let p =
        paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 400}})).await;

    let r = receipt(&app, &qr, &p, &[("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")]).await;
    assert_eq!(r["language"], "fr");
    assert_eq!(r["number"], 1, "the venue's first receipt");
    assert_eq!((r["status"].clone(), r["status_label"].clone()), (json!("succeeded"), json!("Payé")));
    assert_eq!(r["share"]["text"], "L'addition entière", "paying everything is not 'the rest'");
    assert_eq!(r["table"], "Table 2");
    assert_eq!(
        (r["legal_name"].clone(), r["address"].clone(), r["vat_id"].clone()),
        (json!("Chez Marcel SARL"), json!("12 rue de la Paix\n75002 Paris"), json!("FR40303265045"))
    );
    let lines = &r["lines"];
    assert_eq!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["name"].clone(), l["units"].clone(), l["amount"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!("Entrecôte"), json!(2), json!(4800)), (json!("Bordeaux"), json!(1), json!(800))]
    );
    assert_eq!(lines[0]["detail"], "2 × 24,00\u{a0}€");
    assert_eq!(sum(lines, "amount"), 5600);
    assert_eq!(
        (r["amount"].clone(), r["tip_amount"].clone(), r["total_amount"].clone()),
        (json!(5600), json!(400), json!(6000))
    );
    // Tax contained, rate by rate: 48.00 at 10 % holds 4.36, 8.00 at 20 % holds 1.33.
    assert_eq!(
        r["taxes"],
        json!([{"rate_bps": 1000, "base": 4800, "tax": 436, "text": "dont TVA 10\u{a0}% sur 48,00\u{a0}€"},
               {"rate_bps": 2000, "base": 800, "tax": 133, "text": "dont TVA 20\u{a0}% sur 8,00\u{a0}€"}])
    );
    let bill_now =
        app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(sum(&r["taxes"], "tax"), bill_now["totals"]["tax"].as_i64().unwrap(), "the whole bill's tax");
    // The venue's local time, as French writes it.
    let at: DateTime<Utc> = r["paid_at"].as_str().unwrap().parse().unwrap();
    let local = chrono_tz::Europe::Paris.from_utc_datetime(&at.naive_utc());
    assert_eq!(r["paid_at_local"], format!("{} (Europe/Paris)", local.format("%d/%m/%Y %H:%M")));

    // `?lang=` wins over Accept-Language; English by default.
    let en = receipt(&app, &qr, &p, &[("Accept-Language", "de")]).await;
    assert_eq!((en["language"].clone(), en["share"]["text"].clone()), (json!("en"), json!("The whole bill")));
    assert_eq!(en["number"], 1, "a receipt keeps its number");
    let path = format!("/v1/t/{qr}/payments/{}/receipt?lang=fr", id(&p));
    let (status, html) = page(&app, &path, Method::GET, None).await;
    assert_eq!(status, 200);
    for expected in [
        "<html lang=\"fr\">",
        "Reçu n° 1",
        "Chez Marcel SARL",
        "12 rue de la Paix<br>75002 Paris",
        "N° TVA FR40303265045",
        "Entrecôte",
        "dont TVA 20\u{a0}% sur 8,00\u{a0}€",
        "Pourboire",
        "4,00\u{a0}€",
        "Total débité",
        "60,00\u{a0}€",
        "Payé le ",
        "(Europe/Paris)",
        "Table 2",
    ] {
        assert!(html.contains(expected), "the French receipt shows {expected:?}: {html}");
    }
    assert!(!html.contains("Table Table") && !html.contains("succeeded") && !html.contains("UTC"), "{html}");
    app.get(&format!("/v1/t/{qr}/payments/{}/receipt?lang=fr%20FR", id(&p)), None)
        .await
        .assert_problem(422, "validation_failed");
    app.get(&format!("/v1/t/{qr}/payments/{}/receipt?lang=fr&x=1", id(&p)), None)
        .await
        .assert_problem(400, "validation_failed");
}

async fn every_split_states_its_share_and_refunds_show(app: TestApp) {
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "Terrace 4", DINNER()).await;
    // A pending payment has a receipt without a number.
    let first = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 3, "count": 1}}))
        .await
        .expect(201);
    let pending = receipt(&app, &qr, &first, &[]).await;
    assert_eq!(
        (pending["number"].clone(), pending["status_label"].clone()),
        (Value::Null, json!("Waiting for payment"))
    );
    app.confirm(&id(&first), CARD_OK).await.expect(200);
    let r = receipt(&app, &qr, &first, &[]).await;
    assert_eq!(r["number"], 1);
    assert_eq!(r["table"], "Terrace 4");
    assert_eq!(r["share"], json!({"type": "equal", "text": "1 of 3 equal shares", "count": 1, "parts": 3}));
    // The bill's lines, with the payer's part of each; the parts sum to what was paid.
    assert_eq!(r["lines"].as_array().unwrap().len(), 2);
    assert_eq!(sum(&r["lines"], "amount"), r["amount"].as_i64().unwrap());
    assert_eq!(r["amount"], 1867);
    assert!(r["lines"][0]["detail"].as_str().unwrap().contains("your part of 48.00 EUR"), "{}", r["lines"][0]);
    assert_eq!(sum(&r["taxes"], "base"), 1867);

    // A second share, then the rest of the bill; receipts are numbered as they are issued.
    let second =
        paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 3, "count": 1}})).await;
    let rest = paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await;
    let r = receipt(&app, &qr, &rest, &[]).await;
    assert_eq!(r["share"]["text"], "The rest of the bill");
    assert_eq!(r["number"], 2, "numbered in the order receipts are issued");
    assert_eq!(receipt(&app, &qr, &second, &[]).await["number"], 3);
    assert_eq!(sum(&r["lines"], "amount"), r["amount"].as_i64().unwrap());

    // A refund is a line of its own; the status is in words.
    let refunds = format!("/v1/payments/{}/refunds", id(&first));
    app.post(&refunds, Some(&venue.manager_key), json!({"amount": 500, "reason": "cold soup"})).await.expect(201);
    let r = receipt(&app, &qr, &first, &[]).await;
    assert_eq!(
        (r["status"].clone(), r["status_label"].clone()),
        (json!("partially_refunded"), json!("Paid, partly refunded"))
    );
    assert_eq!(r["refunded_amount"], 500);
    assert_eq!(r["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(r["refunds"][0]["amount"], 500);
    assert!(r["refunds"][0]["at_local"].as_str().unwrap().ends_with("(Europe/Paris)"));
    let (_, html) = page(&app, &format!("/v1/t/{qr}/payments/{}/receipt", id(&first)), Method::GET, None).await;
    for expected in [
        "Refund of ",
        "-5.00 EUR",
        "Charged after refunds",
        "13.67 EUR",
        "Paid, partly refunded",
        "1 of 3 equal shares",
    ] {
        assert!(html.contains(expected), "the receipt shows {expected:?}: {html}");
    }
}

async fn invoices_are_numbered_without_gaps_and_issued_once(app: TestApp) {
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "7", DINNER()).await;
    let lunch = paid(
        &app,
        &qr,
        json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 2000}, "tip": {"amount": 200}}),
    )
    .await;
    let path = format!("/v1/t/{qr}/payments/{}/invoice", id(&lunch));
    let acme =
        json!({"company_name": "Acme SAS", "address": "1 avenue de France\n75013 Paris", "vat_id": "FR12345678901"});
    let invoice = app.post(&path, None, acme.clone()).await.expect(201);
    assert_eq!(invoice["number"], 1);
    assert_eq!(invoice["payment_id"], id(&lunch));
    assert_eq!(
        (invoice["company_name"].clone(), invoice["vat_id"].clone()),
        (json!("Acme SAS"), json!("FR12345678901"))
    );
    assert_eq!(invoice["seller"]["vat_id"], "FR40303265045");
    assert_eq!(
        (invoice["amount"].clone(), invoice["tip_amount"].clone(), invoice["total"].clone()),
        (json!(2000), json!(200), json!(2200))
    );
    assert_eq!(sum(&invoice["lines"], "amount"), 2000);
    assert_eq!(invoice["tax"].as_i64().unwrap(), sum(&invoice["taxes"], "tax"));
    assert_eq!(invoice["net_amount"].as_i64().unwrap(), 2000 - invoice["tax"].as_i64().unwrap());
    assert!(invoice["tax"].as_i64().unwrap() > 0);
    // The same body: the same invoice. Another company: refused, nothing issued.
    assert_eq!(app.post(&path, None, acme.clone()).await.expect(201), invoice);
    app.post(&path, None, json!({"company_name": "Other SA", "address": "Lyon"})).await.assert_problem(409, "conflict");
    // Bad bodies change nothing.
    let second = paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await;
    let second_path = format!("/v1/t/{qr}/payments/{}/invoice", id(&second));
    app.post(&second_path, None, json!({"company_name": " ", "address": "Lyon"}))
        .await
        .assert_problem(422, "validation_failed");
    app.post(&second_path, None, json!({"company_name": "B", "address": "Lyon", "siret": "1"}))
        .await
        .assert_problem(400, "validation_failed");
    app.post(&second_path, None, json!({"company_name": "B"})).await.assert_problem(400, "validation_failed");
    let pending =
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 100}})).await.expect(201);
    app.post(&format!("/v1/t/{qr}/payments/{}/invoice", id(&pending)), None, acme.clone())
        .await
        .assert_problem(409, "payment_not_paid");
    // The printable invoice, in French.
    let (status, html) = page(
        &app,
        &format!("{second_path}?lang=fr"),
        Method::POST,
        Some(json!({"company_name": "Beta SARL", "address": "Lyon"})),
    )
    .await;
    assert_eq!(status, 201);
    for expected in [
        "Facture n° 2",
        "Facturé à",
        "Beta SARL",
        "Chez Marcel SARL",
        "N° TVA FR40303265045",
        "Total HT",
        "Total TTC",
        "10,00\u{a0}€",
    ] {
        assert!(html.contains(expected), "the invoice shows {expected:?}: {html}");
    }
}

async fn numbers_stay_sequential_when_guests_ask_at_once(app: TestApp) {
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "9", DINNER()).await;
    let mut payments = Vec::new();
    for _ in 0..8 {
        payments
            .push(paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 100}})).await);
    }
    // Every receipt asked for twice at once: one number each, 1 to 8, none twice.
    let asked = join_all(payments.iter().chain(&payments).map(|p| receipt(&app, &qr, p, &[]))).await;
    let mut numbers: Vec<i64> = asked.iter().map(|r| r["number"].as_i64().unwrap()).collect();
    for (i, p) in payments.iter().enumerate() {
        assert_eq!(asked[i]["payment_id"], id(p));
        assert_eq!(asked[i]["number"], asked[i + payments.len()]["number"], "one number per receipt");
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers, (1..=8).collect::<Vec<i64>>());
    // Invoices of all of them at once, each asked for twice: numbers 1 to 8 without a gap.
    let body = json!({"company_name": "Acme SAS", "address": "Paris"});
    let invoices = join_all(payments.iter().chain(&payments).map(|p| {
        let path = format!("/v1/t/{qr}/payments/{}/invoice", id(p));
        let body = body.clone();
        let app = &app;
        async move { app.post(&path, None, body).await.expect(201) }
    }))
    .await;
    let mut numbers: Vec<i64> = invoices.iter().map(|i| i["number"].as_i64().unwrap()).collect();
    for i in 0..payments.len() {
        assert_eq!(invoices[i]["id"], invoices[i + payments.len()]["id"], "one invoice per payment");
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers, (1..=8).collect::<Vec<i64>>());
}

backend_tests!(
    a_whole_bill_is_itemised_in_the_guests_language_and_local_time,
    every_split_states_its_share_and_refunds_show,
    invoices_are_numbered_without_gaps_and_issued_once,
    numbers_stay_sequential_when_guests_ask_at_once,
);
