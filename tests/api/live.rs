//! The guests' own live stream: another guest's payment reaches every phone at the table at
//! once, a reconnect misses nothing, a table holds at most 50 streams, and two processes on
//! one database (PostgreSQL or SQLite) keep each other's caches and streams true.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{CARD_OK, ServerProcess, TestApp, backend_tests, bill_with_qr};

/// An open event stream, read frame by frame.
struct Stream {
    response: reqwest::Response,
    text: String,
}

impl Stream {
    async fn open(app: &TestApp, qr: &str, last_event_id: Option<&str>) -> Stream {
        let mut request = app.client.get(app.url(&format!("/v1/t/{qr}/events")));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{:?}", response.headers());
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Stream { response, text: String::new() }
    }

    /// Reads until the stream holds `n` events of `event_type`; returns their data and ids.
    async fn until(&mut self, event_type: &str, n: usize, within: Duration) -> Vec<(String, Value)> {
        let deadline = Instant::now() + within;
        loop {
            let found = self.events(event_type);
            if found.len() >= n {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => panic!("{n} × {event_type} not within {within:?}; got:\n{}", self.text),
            }
        }
    }

    fn events(&self, event_type: &str) -> Vec<(String, Value)> {
        self.text
            .split("\n\n")
            .filter(|frame| frame.lines().any(|l| l == format!("event: {event_type}")))
            .map(|frame| {
                let id = frame.lines().find_map(|l| l.strip_prefix("id: ")).unwrap_or_default().to_owned();
                let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                (id, serde_json::from_str(data).unwrap())
            })
            .collect()
    }
}

async fn a_guests_phone_sees_another_guests_payment_at_once(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 2, "unit_price": 2000}])).await;
    let mut phone = Stream::open(&app, &qr, None).await;
    let first = phone.until("bill.updated", 1, Duration::from_secs(2)).await;
    assert_eq!(first[0].1["bill"]["totals"]["remaining"], 4000, "the bill as it stands, at once");
    assert_eq!(first[0].1["table"]["label"], "T1");

    // Another guest holds half: the phone sees it within a second.
    let started = Instant::now();
    let half = app
        .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2, "count": 1}}))
        .await
        .expect(201);
    let seen = phone.until("bill.updated", 2, Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(seen[1].1["bill"]["totals"]["pending"], 2000);
    app.confirm(half["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    let seen = phone.until("bill.updated", 3, Duration::from_secs(1)).await;
    assert_eq!(seen[2].1["bill"]["totals"]["paid"], 2000);
    let resume_from = seen[2].0.clone();
    drop(phone);

    // While the phone is away the rest is paid and staff answer a call; reconnecting with
    // Last-Event-ID it misses nothing, and settles once.
    let call = app.post(&format!("/v1/t/{qr}/assistance"), None, json!({})).await.expect(201);
    let rest = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    app.confirm(rest["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    app.post(&format!("/v1/assistance/{}/resolve", call["id"].as_str().unwrap()), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    let mut back = Stream::open(&app, &qr, Some(&resume_from)).await;
    let settled = back.until("table.settled", 1, Duration::from_secs(2)).await;
    assert_eq!(settled[0].1["total"], 4000);
    assert_eq!(settled[0].1["bill_id"], bill["id"]);
    let resolved = back.until("assistance.resolved", 1, Duration::from_secs(2)).await;
    assert_eq!(resolved[0].1["assistance"]["status"], "resolved");
    let updated = back.until("bill.updated", 1, Duration::from_secs(2)).await;
    assert_eq!(updated.last().unwrap().1["bill"]["status"], "paid");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tokio::time::timeout(Duration::from_millis(200), back.response.chunk()).await;
    assert_eq!(back.events("table.settled").len(), 1, "table.settled once");
    // Nothing a guest may not see: no staff or venue ids, no e-mails, no provider references.
    for secret in [venue.id.as_str(), "venue_id", "provider_ref", "email", "server_id", "resolved_by"] {
        assert!(!back.text.contains(secret), "{secret} in the guest stream:\n{}", back.text);
    }
}

async fn a_table_holds_at_most_fifty_streams(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 1000}])).await;
    let mut open = Vec::new();
    for _ in 0..50 {
        open.push(Stream::open(&app, &qr, None).await);
    }
    let refused = app.client.get(app.url(&format!("/v1/t/{qr}/events"))).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(crate::helpers::read(refused).await.body["code"], "rate_limited");
    // A phone that goes away frees its place once the server finds its connection closed: a
    // write to it fails (after changes of the bill here; the keep-alives within 30 s otherwise).
    open.pop();
    for name in ["Café", "Thé"] {
        app.post(
            &format!("/v1/bills/{}/items", bill["id"].as_str().unwrap()),
            Some(&venue.pos_key),
            json!({"items": [{"name": name, "quantity": 1, "unit_price": 250}]}),
        )
        .await
        .expect(200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Stream::open(&app, &qr, None).await;
    app.client
        .get(app.url("/v1/t/not-a-token/events"))
        .send()
        .await
        .map(|r| assert_eq!(r.status().as_u16(), 404))
        .unwrap();
    let bad = app.client.get(app.url(&format!("/v1/t/{qr}/events"))).header("Last-Event-ID", "x").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

/// A rotated QR token names nothing at once, however warm the cache: its reads get 404, and a
/// stream opened with it ends at the bill's next change instead of following the table.
async fn a_rotated_token_reads_nothing_and_its_stream_ends(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    app.guest(&qr).await;
    app.guest(&qr).await;
    let mut phone = Stream::open(&app, &qr, None).await;
    phone.until("bill.updated", 1, Duration::from_secs(2)).await;
    let rotated = app
        .post(
            &format!("/v1/tables/{}/qr-token/rotate", bill["table_id"].as_str().unwrap()),
            Some(&venue.pos_key),
            json!({}),
        )
        .await
        .expect(200);
    let new_qr = rotated["qr_token"].as_str().unwrap();
    app.get(&format!("/v1/t/{qr}"), None).await.assert_problem(404, "not_found");
    assert_eq!(app.guest(new_qr).await["bill"]["id"], bill["id"]);
    app.pay(new_qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match phone.response.chunk().await {
                Ok(Some(chunk)) => phone.text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the old token's stream ended; it got:\n{}", phone.text);
    assert_eq!(phone.events("bill.updated").len(), 1, "nothing after the rotation:\n{}", phone.text);
}

/// Two processes on one database keep each other's caches and streams true: B's cached read
/// and B's stream show A's payment within a second, each process's next read after its own
/// write shows that write, and a token A rotates stops naming the table on B within a second.
async fn two_processes_keep_each_others_caches_and_streams_true(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 3000}])).await;
    let other = ServerProcess::start(&app.database_url, &[]).await;
    let b = app.aimed_at(&other.address);
    // Both caches hold the bill as it is.
    for server in [&app, &b, &app, &b] {
        assert_eq!(server.guest(&qr).await["bill"]["totals"]["pending"], 0);
    }
    let mut phone = Stream::open(&b, &qr, None).await;
    phone.until("bill.updated", 1, Duration::from_secs(2)).await;
    let started = Instant::now();
    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    assert_eq!(app.guest(&qr).await["bill"]["totals"]["pending"], 3000, "A reads its own write at once");
    let seen = phone.until("bill.updated", 2, Duration::from_secs(1)).await;
    assert_eq!(seen[1].1["bill"]["totals"]["pending"], 3000);
    loop {
        if b.guest(&qr).await["bill"]["totals"]["pending"] == 3000 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "B's cached read shows A's payment within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // B releases the hold: B's next read shows it, and A's within a second.
    let released = Instant::now();
    b.post(&format!("/v1/t/{qr}/payments/{}/cancel", p["id"].as_str().unwrap()), None, json!({})).await.expect(200);
    assert_eq!(b.guest(&qr).await["bill"]["totals"]["pending"], 0, "B reads its own write at once");
    loop {
        if app.guest(&qr).await["bill"]["totals"]["pending"] == 0 {
            break;
        }
        assert!(released.elapsed() < Duration::from_secs(1), "A's cached read shows B's write within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    b.confirm(p["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    phone.until("table.settled", 1, Duration::from_secs(2)).await;
    assert_eq!(b.guest(&qr).await["bill"]["status"], "paid", "a read on B reflects the payment at once");
    let paid = Instant::now();
    while app.guest(&qr).await["bill"]["status"] != "paid" {
        assert!(paid.elapsed() < Duration::from_secs(1), "A's read reflects B's confirmation within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // B kept the table of the QR token through the payments; A rotates the token: B's next
    // reads of the old one find nothing within a second.
    let rotated = Instant::now();
    app.post(
        &format!("/v1/tables/{}/qr-token/rotate", bill["table_id"].as_str().unwrap()),
        Some(&venue.pos_key),
        json!({}),
    )
    .await
    .expect(200);
    while b.get(&format!("/v1/t/{qr}"), None).await.status != 404 {
        assert!(rotated.elapsed() < Duration::from_secs(1), "B forgets the rotated token within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

backend_tests!(
    a_guests_phone_sees_another_guests_payment_at_once,
    a_table_holds_at_most_fifty_streams,
    a_rotated_token_reads_nothing_and_its_stream_ends,
    two_processes_keep_each_others_caches_and_streams_true,
);
