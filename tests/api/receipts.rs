//! Receipts and invoices people can use (issue 16): every split itemised, tax per rate,
//! refunds, the venue's legal identity, numbers sequential per venue, the venue's local time
//! and the guest's language; invoices for a company, numbered without gaps.

use chrono::{DateTime, TimeZone, Utc};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{CARD_OK, ServerProcess, TestApp, Venue, backend_tests, bill_with_qr};

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
    // Two server processes on the database, as in production.
    let (one, two) =
        (ServerProcess::start(&app.database_url, &[]).await, ServerProcess::start(&app.database_url, &[]).await);
    let servers = [app.aimed_at(&one.address), app.aimed_at(&two.address)];
    // Every receipt asked for twice at once, once through each process: one number each, 1 to 8, none twice.
    let asked = join_all(
        payments
            .iter()
            .map(|p| (&servers[0], p))
            .chain(payments.iter().map(|p| (&servers[1], p)))
            .map(|(s, p)| receipt(s, &qr, p, &[])),
    )
    .await;
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
    let invoices = join_all(payments.iter().chain(&payments).enumerate().map(|(i, p)| {
        let path = format!("/v1/t/{qr}/payments/{}/invoice", id(p));
        let body = body.clone();
        let server = &servers[i % 2];
        async move { server.post(&path, None, body).await.expect(201) }
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
    an_emailed_receipt_arrives_at_the_smtp_server_once,
    an_email_waits_for_the_smtp_server_and_a_refused_address_is_not_retried,
    a_manager_sets_the_legal_identity_later,
    a_numbered_receipt_never_changes,
);

/// The tests' SMTP server: a separate process (`smtp-sink`, on the `mailin` SMTP server
/// library) that keeps each message it takes as a file.
pub(crate) struct SmtpSink {
    child: std::process::Child,
    folder: std::path::PathBuf,
    port: u16,
}

impl SmtpSink {
    /// Starts the server on `port` (0: any free one).
    pub(crate) fn start(port: u16) -> SmtpSink {
        use std::io::BufRead;
        let folder = std::env::temp_dir().join(format!("tablepay-mail-{}", uuid::Uuid::new_v4()));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smtp-sink"))
            .arg(&folder)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the SMTP server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("it says where");
        let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).expect("listening on 127.0.0.1:<port>");
        SmtpSink { child, folder, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message taken so far, oldest first, as received.
    pub(crate) fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.folder)
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).expect("a message file")).collect()
    }

    /// Waits until `count` messages arrived (at most 10 s), then returns all of them.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{count} e-mails did not arrive within 10 s; got {}", self.messages().len());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A message as a person reads it: the subject and every part decoded (quoted-printable,
/// base64, RFC 2047 words), with the raw headers kept.
fn readable(raw: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.split_whitespace().collect::<String>())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let qp = |s: &str| {
        let joined = s.replace("=\r\n", "").replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut text = String::new();
    for line in raw.lines() {
        // Encoded words of headers: =?utf-8?b?…?=
        let mut rest = line;
        while let Some(start) = rest.find("=?") {
            text.push_str(&rest[..start]);
            let word = &rest[start + 2..];
            let parts: Vec<&str> = word.splitn(3, '?').collect();
            match (parts.len(), parts.get(2).and_then(|p| p.find("?="))) {
                (3, Some(end)) => {
                    let payload = &parts[2][..end];
                    text.push_str(&if parts[1].eq_ignore_ascii_case("b") {
                        b64(payload)
                    } else {
                        qp(&payload.replace('_', " "))
                    });
                    rest = &parts[2][end + 2..];
                }
                _ => {
                    text.push_str("=?");
                    rest = word;
                }
            }
        }
        text.push_str(rest);
        text.push('\n');
    }
    // Bodies of the parts, decoded after their own headers.
    for part in raw.split("\r\n\r\n").collect::<Vec<_>>().windows(2) {
        let (headers, body) = (part[0].to_ascii_lowercase(), part[1]);
        let body = body.split("\r\n--").next().unwrap_or(body);
        if headers.contains("content-transfer-encoding: base64") {
            text.push_str(&b64(body));
        } else if headers.contains("content-transfer-encoding: quoted-printable") {
            text.push_str(&qp(body));
        }
        text.push('\n');
    }
    text
}

async fn mailing_app(app: &TestApp, sink_url: &str) -> TestApp {
    crate::helpers::spawn_app_with(
        app.backend,
        &[
            ("TABLEPAY_SMTP_URL", sink_url),
            ("TABLEPAY_MAIL_FROM", "receipts@chezmarcel.test"),
            ("TABLEPAY_MAIL_RETRY_SCHEDULE", "0,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3"),
            ("TABLEPAY_OUTBOX_POLL_MS", "100"),
        ],
    )
    .await
    .expect("app starts")
}

async fn an_emailed_receipt_arrives_at_the_smtp_server_once(app: TestApp) {
    // Without an SMTP server the request is refused, nothing queued.
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "2", DINNER()).await;
    let p =
        paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 400}})).await;
    app.post(&format!("/v1/t/{qr}/payments/{}/receipt/email", id(&p)), None, json!({"email": "anne@example.com"}))
        .await
        .assert_problem(503, "email_unavailable");

    let sink = SmtpSink::start(0);
    let app = mailing_app(&app, &sink.url()).await;
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "2", DINNER()).await;
    let p =
        paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}, "tip": {"amount": 400}})).await;
    let path = format!("/v1/t/{qr}/payments/{}/receipt/email", id(&p));
    // Bad requests queue nothing.
    for bad in ["not an address", "anne@[127.0.0.1]", "anne@localhost", "a@b@example.com"] {
        app.post(&path, None, json!({"email": bad})).await.assert_problem(422, "validation_failed");
    }
    app.post(&path, None, json!({"email": "anne@example.com", "cc": "x@example.com"}))
        .await
        .assert_problem(400, "validation_failed");
    let (other, other_qr) = bill_with_qr(&app, &venue, "5", DINNER()).await;
    let pending = app
        .pay(&other_qr, json!({"bill_id": other["id"], "split": {"type": "amount", "amount": 100}}))
        .await
        .expect(201);
    let pending_path = format!("/v1/t/{other_qr}/payments/{}/receipt/email", id(&pending));
    app.post(&pending_path, None, json!({"email": "anne@example.com"})).await.assert_problem(409, "payment_not_paid");
    // A French guest asks for her receipt, and her phone sends the request twice.
    let headers = [("Accept-Language", "fr-FR"), ("Idempotency-Key", "mail-anne-1")];
    let body = json!({"email": "anne@example.com"});
    let queued = app.call_with(Method::POST, &path, None, Some(body.clone()), &headers).await.expect(202);
    assert_eq!((queued["status"].clone(), queued["email"].clone()), (json!("pending"), json!("anne@example.com")));
    let again = app.call_with(Method::POST, &path, None, Some(body.clone()), &headers).await.expect(202);
    assert_eq!(again["id"], queued["id"]);
    let messages = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), 1, "one request, one e-mail");
    let mail = readable(&messages[0]);
    for expected in [
        "X-Envelope-To: anne@example.com",
        "To: anne@example.com",
        "Reçu n° 1 — Chez Marcel",
        "receipts@chezmarcel.test",
        &format!("Message-ID: <{}@tablepay>", queued["id"].as_str().unwrap()),
        "Entrecôte",
        "60,00\u{a0}€",
        "dont TVA 20\u{a0}% sur 8,00\u{a0}€",
        "N° TVA FR40303265045",
        "<html lang=\"fr\">",
    ] {
        assert!(mail.contains(expected), "the e-mail shows {expected:?}:\n{mail}");
    }
    // Asked for again later, in English: a second e-mail, same receipt number.
    app.post(&format!("{path}?lang=en"), None, body).await.expect(202);
    let messages = sink.wait_for(2).await;
    let second = readable(&messages[1]);
    assert!(second.contains("Receipt no. 1 — Chez Marcel") && second.contains("60.00 EUR"), "{second}");
}

async fn an_email_waits_for_the_smtp_server_and_a_refused_address_is_not_retried(app: TestApp) {
    // The mail server is down when the guest asks.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = mailing_app(&app, &format!("smtp://127.0.0.1:{port}")).await;
    let venue = bistro(&app).await;
    let (bill, qr) = bill_with_qr(&app, &venue, "3", DINNER()).await;
    let p = paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await;
    let path = format!("/v1/t/{qr}/payments/{}/receipt/email", id(&p));
    let queued = app.post(&path, None, json!({"email": "anne@example.com"})).await.expect(202);
    // The same address again while it waits: the same e-mail, not a second.
    assert_eq!(app.post(&path, None, json!({"email": "anne@example.com"})).await.expect(202)["id"], queued["id"]);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    // It comes up: the waiting e-mail arrives once; the refused mailbox gets nothing.
    let sink = SmtpSink::start(port);
    let messages = sink.wait_for(1).await;
    let refused = app.post(&path, None, json!({"email": "nobody@example.com"})).await.expect(202);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(sink.messages().len(), 1, "sent once, after the retries that failed: {messages:?}");
    assert!(messages[0].contains("X-Envelope-To: anne@example.com"));
    // What the outbox says: sent after failed attempts; the refused one tried once, for good.
    let stored =
        |id: String| app.db.run(move |conn| tablepay_store::issued::mail::find(conn, &id).map(|e| e.expect("queued")));
    let sent = stored(id(&queued)).await.unwrap();
    assert_eq!(sent.status, "sent");
    assert!(sent.attempts >= 2 && sent.sent_at.is_some(), "it failed while the server was down: {sent:?}");
    let failed = stored(id(&refused)).await.unwrap();
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1), "{failed:?}");
    assert!(failed.last_error.as_deref().is_some_and(|e| e.contains("550")), "{failed:?}");
    // A table cannot use the venue's mail server for anything else: ten e-mails of a receipt at most.
    for n in 0..8 {
        app.post(&path, None, json!({"email": format!("guest{n}@example.com")})).await.expect(202);
    }
    app.post(&path, None, json!({"email": "guest9@example.com"})).await.assert_problem(409, "conflict");
}

async fn a_manager_sets_the_legal_identity_later(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let path = format!("/v1/venues/{}", venue.id);
    let (bill, qr) = bill_with_qr(&app, &venue, "1", DINNER()).await;
    let p = paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await;
    assert_eq!(receipt(&app, &qr, &p, &[]).await["vat_id"], Value::Null);
    let changed = app
        .call(
            Method::PATCH,
            &path,
            Some(&venue.manager_key),
            Some(json!({"legal_name": "Venue SAS", "address": "1 Main St\r\n\r\nSpringfield", "vat_id": "FR11"})),
        )
        .await
        .expect(200);
    assert_eq!(
        (changed["legal_name"].clone(), changed["address"].clone()),
        (json!("Venue SAS"), json!("1 Main St\nSpringfield"))
    );
    let r = receipt(&app, &qr, &p, &[]).await;
    assert_eq!((r["legal_name"].clone(), r["vat_id"].clone()), (json!("Venue SAS"), json!("FR11")));
    // null clears a field; a field left out stays.
    let cleared =
        app.call(Method::PATCH, &path, Some(&venue.manager_key), Some(json!({"vat_id": null}))).await.expect(200);
    assert_eq!((cleared["vat_id"].clone(), cleared["legal_name"].clone()), (Value::Null, json!("Venue SAS")));
    // Bad input changes nothing; only a manager of the venue may change it.
    for bad in [json!({"vat_id": " "}), json!({"legal_name": "a\u{0}b"})] {
        app.call(Method::PATCH, &path, Some(&venue.manager_key), Some(bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    app.call(Method::PATCH, &path, Some(&venue.manager_key), Some(json!({"name": "x"})))
        .await
        .assert_problem(400, "validation_failed");
    // A list is no object, though serde would read it as the fields in order (found by the contract fuzzer).
    app.call(Method::PATCH, &path, Some(&venue.manager_key), Some(json!([null, null, "FR33"])))
        .await
        .assert_problem(400, "validation_failed");
    app.call(Method::PATCH, &path, Some(&venue.pos_key), Some(json!({"vat_id": "FR22"})))
        .await
        .assert_problem(403, "forbidden");
    let other = app.create_venue("EUR", "inclusive", 0, 0).await;
    app.call(Method::PATCH, &path, Some(&other.manager_key), Some(json!({"vat_id": "FR22"})))
        .await
        .assert_problem(404, "not_found");
    let now = app.get(&path, Some(&venue.manager_key)).await.expect(200);
    assert_eq!((now["vat_id"].clone(), now["legal_name"].clone()), (Value::Null, json!("Venue SAS")));
    let log = app.get(&format!("{path}/audit-log"), Some(&venue.manager_key)).await.expect(200);
    assert_eq!(log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "venue.legal_changed").count(), 2);
}

async fn a_numbered_receipt_never_changes(app: TestApp) {
    let venue = bistro(&app).await;
    let items = json!([{"name": "Soupe", "quantity": 1, "unit_price": 1000}, {"name": "Salade", "quantity": 1, "unit_price": 1000}]);
    let (bill, qr) = bill_with_qr(&app, &venue, "8", items).await;
    // 10.00 of a 20.00 bill, spread over both dishes, then receipted.
    let first = paid(&app, &qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await;
    let issued = receipt(&app, &qr, &first, &[]).await;
    let spread: Vec<(Value, Value)> =
        issued["lines"].as_array().unwrap().iter().map(|l| (l["name"].clone(), l["amount"].clone())).collect();
    assert_eq!(spread, [(json!("Soupe"), json!(500)), (json!("Salade"), json!(500))]);
    // Another guest pays the soup as her own item: the first receipt says what it said.
    let soup = bill["items"][0]["id"].clone();
    paid(
        &app,
        &qr,
        json!({"bill_id": bill["id"], "split": {"type": "items", "items": [{"item_id": soup, "quantity": 1}]}}),
    )
    .await;
    let again = receipt(&app, &qr, &first, &[]).await;
    assert_eq!(
        (again["number"].clone(), again["lines"].clone(), again["taxes"].clone()),
        (issued["number"].clone(), issued["lines"].clone(), issued["taxes"].clone())
    );
    // In another language, the same lines and amounts, other words.
    let fr = receipt(&app, &qr, &first, &[("Accept-Language", "fr")]).await;
    let amounts = |r: &Value| r["lines"].as_array().unwrap().iter().map(|l| l["amount"].clone()).collect::<Vec<_>>();
    assert_eq!(amounts(&fr), amounts(&issued));
    assert_eq!(fr["share"]["text"], "Un montant libre de l'addition");
}
