//! Servers and the POS hear when a table settles: signed webhooks to a real local receiver,
//! exactly once, retried, surviving a killed process; and the live feed.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, CARD_OK, ServerProcess, TestApp, Venue, backend_tests, bill_with_qr, spawn_app_with};
use crate::receiver::{Answer, Receiver};

const PRIVATE_OK: (&str, &str) = ("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true");
const WAIT: Duration = Duration::from_secs(10);

async fn app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![PRIVATE_OK, ("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", "0,0.2,0.2")];
    env.extend_from_slice(extra);
    spawn_app_with(backend, &env).await.expect("app starts")
}

async fn endpoint(app: &TestApp, venue: &Venue, url: &str, types: Value) -> Value {
    app.post(
        &format!("/v1/venues/{}/webhook-endpoints", venue.id),
        Some(&venue.pos_key),
        json!({"url": url, "event_types": types}),
    )
    .await
    .expect(201)
}

/// Opens a bill of 100.00 split in two equal shares, both pending; returns (bill, qr, payment ids).
async fn two_pending_shares(app: &TestApp, venue: &Venue, label: &str) -> (Value, String, Vec<String>) {
    let (bill, qr) =
        bill_with_qr(app, venue, label, json!([{"name": "Menu", "quantity": 2, "unit_price": 5000}])).await;
    let mut ids = Vec::new();
    for tip in [300, 0] {
        let p = app
            .pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "equal", "parts": 2}, "tip": {"amount": tip}}))
            .await
            .expect(201);
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    (bill, qr, ids)
}

async fn table_settled_arrives_exactly_once_signed_as_specified(app: TestApp) {
    let app = app_with(app.backend, &[]).await;
    let receiver = Receiver::start().await;
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let created = endpoint(&app, &venue, &receiver.url, json!([])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = app.get(&format!("/v1/venues/{}/webhook-endpoints", venue.id), Some(&venue.pos_key)).await.expect(200);
    assert!(listed["data"][0].get("secret").is_none(), "the secret is shown once");

    let (bill, _, ids) = two_pending_shares(&app, &venue, "T7").await;
    // The last two shares are confirmed at the same moment.
    let confirmed = join_all(ids.iter().map(|id| app.confirm(id, CARD_OK))).await;
    assert!(confirmed.iter().all(|a| a.status.as_u16() == 200));
    let settled = receiver.wait_for("table.settled", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.of_type("table.settled").len(), 1, "exactly once");
    let event = &settled[0];
    assert!(event.verifies_with(&secret), "signature verifies");
    assert!(!event.verifies_with("whsec_c29tZW9uZSBlbHNl"), "and not with another secret");
    let age = chrono::Utc::now().timestamp() - event.timestamp.parse::<i64>().unwrap();
    assert!((0..30).contains(&age));
    let body = event.json();
    assert_eq!(body["type"], "table.settled");
    assert!(body["timestamp"].is_string());
    let data = &body["data"];
    assert_eq!(data["venue_id"], venue.id.as_str());
    assert_eq!(data["bill_id"], bill["id"]);
    assert_eq!(data["table_id"], bill["table_id"]);
    assert_eq!(data["table_label"], "T7");
    assert_eq!(data["external_ref"], Value::Null);
    assert_eq!(data["total"], 10000);
    assert_eq!(data["tips"], 300);
    assert_eq!(data["server"], Value::Null);
    assert!(data["settled_at"].is_string());
    let payments = data["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments.iter().map(|p| p["amount"].as_i64().unwrap()).sum::<i64>(), 10000);
    assert!(payments.iter().all(|p| p["provider"] == "sandbox" && p["provider_ref"].is_string()));
    // The other events of the story arrived too, each verifiable.
    assert_eq!(receiver.wait_for("payment.succeeded", 2, WAIT).await.len(), 2);
    assert_eq!(receiver.of_type("bill.opened").len(), 1);
    assert!(receiver.received().iter().all(|r| r.verifies_with(&secret)));
}

async fn a_failing_receiver_gets_the_same_event_again(app: TestApp) {
    let app = app_with(app.backend, &[]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer { status: 500, delay: Duration::ZERO }, Answer { status: 500, delay: Duration::ZERO }]);
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    endpoint(&app, &venue, &receiver.url, json!(["bill.opened"])).await;
    bill_with_qr(&app, &venue, "T1", json!([])).await;
    let got = receiver.wait_for("bill.opened", 3, WAIT).await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.id == got[0].id), "one webhook-id on every attempt");
    assert!(got[1].at.duration_since(got[0].at) >= Duration::from_millis(150), "retried on the schedule, not at once");
    let log = wait_for_log(&app, &venue, "?status=succeeded", 1).await;
    assert_eq!(log.len(), 1);
    let attempts: Vec<Value> =
        log[0]["attempt_log"].as_array().unwrap().iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(attempts, vec![json!(500), json!(500), json!(200)]);
    assert_eq!(log[0]["attempts"], 3);
    assert!(log[0]["attempt_log"][0]["latency_ms"].is_i64());
    // The endpoint filter held: no other event type was sent.
    assert!(receiver.received().iter().all(|r| r.event_type() == "bill.opened"));
}

async fn delivery_log(app: &TestApp, venue: &Venue, query: &str) -> Vec<Value> {
    app.get(&format!("/v1/venues/{}/webhook-deliveries{query}", venue.id), Some(&venue.pos_key)).await.expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn a_slow_receiver_times_out_and_is_retried(app: TestApp) {
    let app = app_with(app.backend, &[("TABLEPAY_WEBHOOK_TIMEOUT_MS", "300")]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer { status: 200, delay: Duration::from_millis(1500) }]);
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    endpoint(&app, &venue, &receiver.url, json!(["bill.opened"])).await;
    bill_with_qr(&app, &venue, "T1", json!([])).await;
    let mut log = Vec::new();
    for _ in 0..100 {
        log = delivery_log(&app, &venue, "?status=succeeded").await;
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 1, "delivered in the end");
    let attempts = log[0]["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["error"], "timed out");
    assert_eq!(attempts[0]["status_code"], Value::Null);
    assert_eq!(attempts[1]["status_code"], 200);
}

async fn gone_disables_redirects_fail_and_manual_retry_resends(app: TestApp) {
    let app = app_with(app.backend, &[("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", "0")]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer { status: 302, delay: Duration::ZERO }, Answer { status: 410, delay: Duration::ZERO }]);
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let ep = endpoint(&app, &venue, &receiver.url, json!(["bill.opened"])).await;
    bill_with_qr(&app, &venue, "T1", json!([])).await;
    let failed = wait_for_log(&app, &venue, "?status=failed", 1).await;
    assert_eq!(failed[0]["last_status_code"], 302, "a redirect is not followed and counts as a failure");
    bill_with_qr(&app, &venue, "T2", json!([])).await;
    wait_for_log(&app, &venue, "?status=failed", 2).await;
    let ep_now = app
        .get(&format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()), Some(&venue.pos_key))
        .await
        .expect(200);
    assert_eq!(ep_now["enabled"], false, "410 Gone disables the endpoint");
    assert!(ep_now["disabled_reason"].as_str().unwrap().contains("410"));
    // Re-enabled, a manual retry of the first delivery now succeeds with the same webhook-id.
    app.call(
        Method::PATCH,
        &format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()),
        Some(&venue.pos_key),
        Some(json!({"enabled": true})),
    )
    .await
    .expect(200);
    let first = failed[0]["id"].as_str().unwrap();
    let retried =
        app.post(&format!("/v1/webhook-deliveries/{first}/retry"), Some(&venue.pos_key), json!({})).await.expect(202);
    assert_eq!(retried["status"], "pending");
    let done = wait_for_log(&app, &venue, "?status=succeeded", 1).await;
    assert_eq!(done[0]["id"], first);
    let sent = receiver.received();
    assert_eq!(sent.last().unwrap().id, sent[0].id);
    app.post(&format!("/v1/webhook-deliveries/{first}/retry"), Some(&venue.manager_key), json!({})).await.expect(202);
}

async fn wait_for_log(app: &TestApp, venue: &Venue, query: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let log = delivery_log(app, venue, query).await;
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} deliveries {query} never showed");
}

async fn endpoints_are_validated_and_rotate(app: TestApp) {
    // Without the private-network switch, a receiver on loopback is refused.
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let path = format!("/v1/venues/{}/webhook-endpoints", venue.id);
    for (url, types) in [
        ("http://127.0.0.1:9000/hook", json!([])),
        ("http://10.0.0.5/hook", json!([])),
        // Special-purpose ranges, embedded IPv4 forms included.
        ("http://[::127.0.0.1]/hook", json!([])),
        ("http://[::ffff:0:7f00:1]/hook", json!([])),
        ("http://[64:ff9b::7f00:1]/hook", json!([])),
        ("http://[2002:7f00:1::]/hook", json!([])),
        ("http://[fec0::1]/hook", json!([])),
        ("http://198.18.0.1/hook", json!([])),
        ("http://240.0.0.1/hook", json!([])),
        ("ftp://example.com/hook", json!([])),
        ("not a url", json!([])),
        ("https://8.8.8.8/hook", json!(["table.exploded"])),
    ] {
        app.post(&path, Some(&venue.pos_key), json!({"url": url, "event_types": types}))
            .await
            .assert_problem(422, "validation_failed");
    }
    let server = app
        .post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": "S", "role": "server"}),
        )
        .await
        .expect(201);
    app.post(&path, Some(server["key"].as_str().unwrap()), json!({"url": "https://8.8.8.8/hook"}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.get(&path, Some(&venue.pos_key)).await.expect(200)["data"], json!([]));

    let app = app_with(app.backend, &[]).await;
    let receiver = Receiver::start().await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let ep = endpoint(&app, &venue, &receiver.url, json!(["bill.opened"])).await;
    let old = ep["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .post(
            &format!("/v1/webhook-endpoints/{}/rotate-secret", ep["id"].as_str().unwrap()),
            Some(&venue.pos_key),
            json!({}),
        )
        .await
        .expect(200);
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());
    bill_with_qr(&app, &venue, "T1", json!([])).await;
    let got = receiver.wait_for("bill.opened", 1, WAIT).await;
    assert!(got[0].verifies_with(&new) && got[0].verifies_with(&old), "both secrets sign while the old one is valid");
    let other = Venue { id: venue.id.clone(), ..app.create_venue("EUR", "inclusive", 0, 0).await };
    app.call(
        Method::DELETE,
        &format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()),
        Some(&other.pos_key),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/webhook-endpoints/{}", ep["id"].as_str().unwrap()),
            Some(&venue.pos_key),
            None,
        )
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    bill_with_qr(&app, &venue, "T2", json!([])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.of_type("bill.opened").len(), 1, "a deleted endpoint gets nothing");
}

/// A retried rotation (same `Idempotency-Key`) replays the first answer instead of rotating
/// again, and a second rotation inside the overlap keeps the first secret signing too.
async fn rotations_are_idempotent_and_keep_every_secret_in_its_overlap(app: TestApp) {
    let app = app_with(app.backend, &[]).await;
    let receiver = Receiver::start().await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let ep = endpoint(&app, &venue, &receiver.url, json!(["bill.opened"])).await;
    let rotate = format!("/v1/webhook-endpoints/{}/rotate-secret", ep["id"].as_str().unwrap());
    let first_secret = ep["secret"].as_str().unwrap().to_owned();
    let key = [("Idempotency-Key", "rotate-1")];
    let once = app.call_with(Method::POST, &rotate, Some(&venue.pos_key), Some(json!({})), &key).await.expect(200);
    let again = app.call_with(Method::POST, &rotate, Some(&venue.pos_key), Some(json!({})), &key).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let again = again.expect(200);
    assert_eq!(once["secret"], again["secret"], "the retry answers with the same secret");
    let second_secret = once["secret"].as_str().unwrap().to_owned();
    let third = app
        .call_with(Method::POST, &rotate, Some(&venue.pos_key), Some(json!({})), &[("Idempotency-Key", "rotate-2")])
        .await
        .expect(200);
    let third_secret = third["secret"].as_str().unwrap().to_owned();
    assert_ne!(third_secret, second_secret);
    bill_with_qr(&app, &venue, "T1", json!([])).await;
    let got = receiver.wait_for("bill.opened", 1, WAIT).await;
    for (which, secret) in [("current", &third_secret), ("second", &second_secret), ("first", &first_secret)] {
        assert!(got[0].verifies_with(secret), "the {which} secret still signs inside its overlap");
    }
    // A rotation that retires the old secrets at once leaves the new one alone.
    let last = app
        .call_with(
            Method::POST,
            &rotate,
            Some(&venue.pos_key),
            Some(json!({"expire_previous_in_seconds": 0})),
            &[("Idempotency-Key", "rotate-3")],
        )
        .await
        .expect(200);
    let last_secret = last["secret"].as_str().unwrap().to_owned();
    bill_with_qr(&app, &venue, "T2", json!([])).await;
    let got = receiver.wait_for("bill.opened", 2, WAIT).await;
    assert!(got[1].verifies_with(&last_secret));
    assert!(!got[1].verifies_with(&third_secret), "expired at once");
    assert!(got[1].verifies_with(&first_secret), "the first secret's own overlap has not ended");
}

/// The in-process app only serves the test's reads here: the separate processes deliver.
async fn reads_only(app: TestApp) -> TestApp {
    app_with(app.backend, &[("TABLEPAY_WEBHOOK_WORKER", "false")]).await
}

async fn a_killed_server_loses_no_event(app: TestApp) {
    let app = reads_only(app).await;
    let receiver = Receiver::start().await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let env = [PRIVATE_OK];
    let mut first = ServerProcess::start(&app.database_url, &[PRIVATE_OK, ("TABLEPAY_WEBHOOK_WORKER", "false")]).await;
    let api = app.aimed_at(&first.address);
    endpoint(&api, &venue, &receiver.url, json!(["table.settled"])).await;
    let (_, qr, ids) = two_pending_shares(&api, &venue, "T1").await;
    for id in &ids {
        api.confirm(id, CARD_OK).await.expect(200);
    }
    assert_eq!(api.guest(&qr).await["bill"]["status"], "paid", "the settling commit happened");
    let pending = delivery_log(&api, &venue, "?status=pending").await;
    assert_eq!(pending.len(), 1, "and its delivery waits in the outbox");
    first.kill();
    assert!(receiver.received().is_empty());
    let second = ServerProcess::start(&app.database_url, &env).await;
    let got = receiver.wait_for("table.settled", 1, WAIT).await;
    assert_eq!(got.len(), 1);
    drop(second);
}

async fn two_processes_deliver_each_settlement_once(app: TestApp) {
    let app = reads_only(app).await;
    let receiver = Receiver::start().await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let one = ServerProcess::start(&app.database_url, &[PRIVATE_OK]).await;
    let two = ServerProcess::start(&app.database_url, &[PRIVATE_OK]).await;
    let servers = [app.aimed_at(&one.address), app.aimed_at(&two.address)];
    endpoint(&servers[0], &venue, &receiver.url, json!(["table.settled"])).await;
    let mut tables = Vec::new();
    for i in 0..5 {
        tables.push(two_pending_shares(&servers[i % 2], &venue, &format!("T{i}")).await);
    }
    // Each table's two shares are confirmed at once, one through each process.
    let confirms =
        tables.iter().flat_map(|(_, _, ids)| ids.iter().enumerate().map(|(i, id)| servers[i % 2].confirm(id, CARD_OK)));
    join_all(confirms).await;
    let got = receiver.wait_for("table.settled", 5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got_now = receiver.of_type("table.settled");
    assert_eq!(
        got_now.len(),
        5,
        "five tables, five events, no duplicates: {:?}",
        got.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
    );
    let mut bills: Vec<String> =
        got_now.iter().map(|r| r.json()["data"]["bill_id"].as_str().unwrap().to_owned()).collect();
    bills.sort();
    bills.dedup();
    assert_eq!(bills.len(), 5);
}

async fn a_delivery_that_used_up_its_retries_reaches_staff_and_other_endpoints(app: TestApp) {
    let app = app_with(app.backend, &[]).await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let pos = Receiver::start().await;
    pos.script(&[Answer { status: 500, delay: Duration::ZERO }; 20]);
    let other = Receiver::start().await;
    let failing = endpoint(&app, &venue, &pos.url, json!(["bill.opened", "webhook.delivery_failed"])).await;
    endpoint(&app, &venue, &other.url, json!(["webhook.delivery_failed", "webhook_endpoint.disabled"])).await;
    let feed = app
        .client
        .get(app.url(&format!("/v1/venues/{}/events", venue.id)))
        .bearer_auth(&venue.manager_key)
        .send()
        .await
        .unwrap();
    let (bill, _) =
        bill_with_qr(&app, &venue, "T9", json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}])).await;
    let failed = other.wait_for("webhook.delivery_failed", 1, WAIT).await;
    let data = failed[0].json()["data"].clone();
    assert_eq!(data["endpoint_id"], failing["id"]);
    assert_eq!(data["url"], pos.url.as_str());
    assert_eq!(data["event_type"], "bill.opened");
    assert_eq!(data["bill_id"], bill["id"]);
    assert_eq!(data["table_label"], "T9");
    assert_eq!(data["attempts"], 3, "after the last of the schedule's attempts");
    assert!(data["last_error"].as_str().unwrap().contains("500"), "{data}");
    let text = read_until(feed, "event: webhook.delivery_failed", WAIT).await;
    assert!(text.contains("\"event_type\":\"bill.opened\""), "staff see it live: {text}");
    // The endpoint that failed is not told that it failed.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(pos.of_type("webhook.delivery_failed").len(), 0);
    assert_eq!(pos.of_type("bill.opened").len(), 3);
    // Switching an endpoint off is announced too.
    app.call(
        Method::PATCH,
        &format!("/v1/webhook-endpoints/{}", failing["id"].as_str().unwrap()),
        Some(&venue.manager_key),
        Some(json!({"enabled": false})),
    )
    .await
    .expect(200);
    let disabled = other.wait_for("webhook_endpoint.disabled", 1, WAIT).await;
    assert_eq!(disabled[0].json()["data"]["endpoint_id"], failing["id"]);
}

async fn the_live_feed_streams_and_resumes(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let feed = app
        .client
        .get(app.url(&format!("/v1/venues/{}/events", venue.id)))
        .bearer_auth(&venue.manager_key)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status().as_u16(), 200);
    assert!(feed.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T1", json!([{"name": "Menu", "quantity": 1, "unit_price": 2000}])).await;
    let p = app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    app.confirm(p["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    let text = read_until(feed, "event: table.settled", Duration::from_secs(5)).await;
    let types: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(types, vec!["bill.opened", "bill.updated", "payment.succeeded", "table.settled"]);
    // Reconnecting after the first event replays the rest from the outbox.
    let first_id = text.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_owned();
    let resumed = app
        .client
        .get(app.url(&format!("/v1/venues/{}/events", venue.id)))
        .bearer_auth(&venue.pos_key)
        .header("Last-Event-ID", first_id)
        .send()
        .await
        .unwrap();
    let replay = read_until(resumed, "event: table.settled", Duration::from_secs(5)).await;
    let types: Vec<&str> = replay.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(types, vec!["bill.updated", "payment.succeeded", "table.settled"]);
    let other = app.create_venue("EUR", "inclusive", 0, 0).await;
    app.get(&format!("/v1/venues/{}/events", venue.id), Some(&other.pos_key)).await.assert_problem(404, "not_found");
}

/// SIGTERM with a dashboard's stream open: the stream ends (the dashboard reconnects to
/// another process with `Last-Event-ID`), so draining does not wait out its bound.
async fn sigterm_ends_live_streams_and_stops_promptly(app: TestApp) {
    let app = reads_only(app).await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let mut server = ServerProcess::start(&app.database_url, &[]).await;
    let feed = app
        .client
        .get(format!("{}/v1/venues/{}/events", server.address, venue.id))
        .bearer_auth(&venue.manager_key)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status().as_u16(), 200);
    let started = std::time::Instant::now();
    let reading = tokio::spawn(async move {
        let (mut feed, mut text) = (feed, String::new());
        // Until the stream ends (Ok(None) or a cut connection), at most 8 s.
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_secs(8), feed.chunk()).await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        (text, started.elapsed())
    });
    let code = server.terminate(Duration::from_secs(8)).await;
    assert_eq!(code, Some(0), "stopped cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped in {:?}, not after the 10 s drain bound",
        started.elapsed()
    );
    let (text, ended_after) = reading.await.unwrap();
    assert!(text.starts_with("retry: 2000"), "the stream was open: {text:?}");
    assert!(ended_after < Duration::from_secs(5), "and ended with the process, after {ended_after:?}");
    let refused = app.client.get(format!("{}/healthz", server.address)).send().await;
    assert!(refused.is_err(), "nothing listens any more");
}

/// Ctrl-C (SIGINT) drains like SIGTERM: a request whose body is still arriving when the
/// signal comes is answered and committed; new connections are refused meanwhile.
async fn sigint_lets_the_request_in_flight_finish(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = reads_only(app).await;
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let mut server = ServerProcess::start(&app.database_url, &[]).await;
    let address = server.address.trim_start_matches("http://").to_owned();
    let body = json!({"label": "Terrace 9"}).to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // `Expect: 100-continue`: the server's "100 Continue" says it is handling the request.
    let head = format!(
        "POST /v1/venues/{}/tables HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        venue.id,
        venue.pos_key,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut interim)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&interim[..n]).starts_with("HTTP/1.1 100 Continue"), "{:?}", &interim[..n]);
    stream.write_all(&body.as_bytes()[..5]).await.unwrap();
    server.signal("INT");
    // A client without pooled connections: each check is a new connection.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fresh.get(format!("{}/healthz", server.address)).send().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "still accepting connections 5 s after SIGINT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(8), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "the request in flight was answered: {answer:?}");
    assert_eq!(server.exit_code(Duration::from_secs(8)).await, Some(0), "stopped cleanly");
    let tables = app.get(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(tables["data"][0]["label"], "Terrace 9", "and its work was committed");
}

pub async fn read_until(mut response: reqwest::Response, marker: &str, within: Duration) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while !text.contains(marker) {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the feed ended or stalled before {marker:?}: {other:?}\n{text}"),
        }
    }
    text
}

backend_tests!(
    a_delivery_that_used_up_its_retries_reaches_staff_and_other_endpoints,
    rotations_are_idempotent_and_keep_every_secret_in_its_overlap,
    table_settled_arrives_exactly_once_signed_as_specified,
    a_failing_receiver_gets_the_same_event_again,
    a_slow_receiver_times_out_and_is_retried,
    gone_disables_redirects_fail_and_manual_retry_resends,
    endpoints_are_validated_and_rotate,
    a_killed_server_loses_no_event,
    two_processes_deliver_each_settlement_once,
    the_live_feed_streams_and_resumes,
    sigterm_ends_live_streams_and_stops_promptly,
    sigint_lets_the_request_in_flight_finish,
);
