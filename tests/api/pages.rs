//! What the guest page and the dashboard stand on: the pages themselves with their
//! Content-Security-Policy, the API reference, and the endpoints the dashboard asks first.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use wiremock::MockServer;

use crate::helpers::{CARD_OK, TestApp, backend_tests, bill_with_qr};
use crate::staff::venue_with_staff;
use crate::stripe::{stripe_app, stripe_venue};
use crate::webhooks::read_until;

async fn fetch(app: &TestApp, path: &str) -> (u16, String, String, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (content_type, csp) = (header("content-type"), header("content-security-policy"));
    (response.status().as_u16(), content_type, csp, response.text().await.unwrap())
}

async fn pages_are_served_with_a_strict_policy(app: TestApp) {
    let (venue, _, _) = venue_with_staff(&app).await;
    let (_, qr) = bill_with_qr(&app, &venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 700}])).await;
    let (status, content_type, csp, html) = fetch(&app, &format!("/t/{qr}")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("stripe"), "a sandbox venue's page loads nothing from Stripe: {csp}");
    assert!(html.contains("/assets/guest.js") && !html.contains("<script>"), "no inline script");
    let (status, _, _, _) = fetch(&app, "/t/not-a-table-token").await;
    assert_eq!(status, 404, "an unknown code gets the page that says so, as 404");
    // Guessing codes through the page meets the same limit as through the API, in HTML.
    let mut limited = None;
    for i in 0..40 {
        let response = app.client.get(app.url(&format!("/t/guess-{i}"))).send().await.unwrap();
        if response.status().as_u16() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the 31st guess within a minute is refused");
    assert_eq!(limited.headers()["content-type"], "text/html; charset=utf-8");
    assert!(limited.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 60);
    assert!(limited.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let (status, _, _, _) = fetch(&app, &format!("/t/{qr}")).await;
    assert_eq!(status, 200, "a real table's page is not throttled by someone's guessing");

    let (status, _, csp, html) = fetch(&app, "/staff").await;
    assert_eq!(status, 200);
    assert!(csp.contains("script-src 'self';") && html.contains("/assets/staff.js"));
    for (path, kind) in [
        ("/assets/guest.js", "text/javascript; charset=utf-8"),
        ("/assets/i18n/guest.js", "text/javascript; charset=utf-8"),
        ("/assets/staff.css", "text/css; charset=utf-8"),
    ] {
        let (status, content_type, _, body) = fetch(&app, path).await;
        assert_eq!((status, content_type.as_str()), (200, kind), "{path}");
        assert!(!body.is_empty());
    }
    // A phone gets the text files gzipped: the guest page's script in under half the bytes.
    let (_, _, _, plain) = fetch(&app, "/assets/guest.js").await;
    let zipped =
        app.client.get(app.url("/assets/guest.js")).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() * 2 < plain.len(), "{} gzipped bytes for {}", zipped.len(), plain.len());
    for path in ["/assets/../Cargo.toml", "/assets/.hidden", "/assets/nope.js", "/assets/%2e%2e/build.rs"] {
        let (status, content_type, _, _) = fetch(&app, path).await;
        assert_eq!((status, content_type.as_str()), (404, "application/problem+json"), "{path}");
    }

    let (status, content_type, _, text) = fetch(&app, "/openapi.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/t/{qr_token}/payments"]["post"]["requestBody"].is_object());
    let (status, _, csp, html) = fetch(&app, "/docs").await;
    assert_eq!(status, 200);
    assert!(csp.contains("script-src 'self';") && html.contains("/assets/docs/docs.js"));
}

async fn a_stripe_venues_page_may_load_stripe_and_only_it(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = stripe_app(app.backend, &stripe).await;
    let venue = stripe_venue(&app, "EUR", "inclusive", 1000).await;
    let (_, qr) = bill_with_qr(&app, &venue, "T1", json!([{"name": "Soup", "quantity": 1, "unit_price": 700}])).await;
    let (status, _, csp, _) = fetch(&app, &format!("/t/{qr}")).await;
    assert_eq!(status, 200);
    assert!(csp.contains("script-src 'self' https://js.stripe.com;"), "{csp}");
    assert!(csp.contains("frame-src https://js.stripe.com"), "{csp}");
    let (_, _, csp, _) = fetch(&app, "/staff").await;
    assert!(!csp.contains("stripe"), "the dashboard never loads Stripe: {csp}");
}

async fn the_dashboard_learns_who_signed_in_and_what_waits(app: TestApp) {
    let (venue, ana, ben) = venue_with_staff(&app).await;
    let me_ana = app.get("/v1/me", Some(&ana)).await.expect(200);
    let me = &me_ana;
    assert_eq!(me["role"], "server");
    assert_eq!(me["staff"]["name"], "Ana");
    assert_eq!(me["venue"]["id"], venue.id.as_str());
    assert_eq!(me["venue"]["limits"], json!({"server_comp_limit": 1000, "server_refund_limit": 500}));
    let me = app.get("/v1/me", Some(&venue.pos_key)).await.expect(200);
    assert_eq!((me["role"].as_str(), me["staff"].is_null()), (Some("pos"), true));
    app.get("/v1/me", Some("tp_server_nope")).await.assert_problem(401, "unauthorized");
    app.get("/v1/me", None).await.assert_problem(401, "unauthorized");

    // Above Ana's limits: a comp and a refund wait for a manager.
    let (bill, qr) =
        bill_with_qr(&app, &venue, "T4", json!([{"name": "Menu", "quantity": 2, "unit_price": 2000}])).await;
    let comp = app
        .post(
            &format!("/v1/bills/{}/adjustments", bill["id"].as_str().unwrap()),
            Some(&ana),
            json!({"type": "discount", "amount": 1500, "reason": "birthday"}),
        )
        .await
        .expect(202);
    let paid =
        app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "amount", "amount": 1000}})).await.expect(201);
    app.confirm(paid["id"].as_str().unwrap(), CARD_OK).await.expect(200);
    let refund = app
        .post(
            &format!("/v1/payments/{}/refunds", paid["id"].as_str().unwrap()),
            Some(&ana),
            json!({"amount": 800, "reason": "cold"}),
        )
        .await
        .expect(202);
    let path = format!("/v1/venues/{}/approvals", venue.id);
    app.get(&path, Some(&ana)).await.assert_problem(403, "forbidden");
    let queue = app.get(&path, Some(&venue.manager_key)).await.expect(200);
    assert_eq!(queue["adjustments"].as_array().unwrap().len(), 1);
    assert_eq!(queue["adjustments"][0]["id"], comp["id"]);
    assert_eq!(queue["adjustments"][0]["bill_id"], bill["id"]);
    assert_eq!(queue["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(queue["refunds"][0]["id"], refund["id"]);
    assert_eq!(queue["refunds"][0]["amount"], 800);
    app.post(&format!("/v1/adjustments/{}/approve", comp["id"].as_str().unwrap()), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    let queue = app.get(&path, Some(&venue.manager_key)).await.expect(200);
    assert_eq!(queue["adjustments"], json!([]), "decided adjustments leave the queue");
    assert_eq!(queue["refunds"].as_array().unwrap().len(), 1);
    let bill_now = app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), Some(&ben)).await.expect(200);
    assert_eq!(bill_now["payments"][0]["refunded_amount"], 0, "the refund waits; nothing is refunded yet");

    // Guests' open calls, with their table, until resolved.
    let path = format!("/v1/venues/{}/assistance", venue.id);
    assert_eq!(app.get(&path, Some(&ben)).await.expect(200)["data"], json!([]));
    let call = app
        .call_with(Method::POST, &format!("/v1/t/{qr}/assistance"), None, Some(json!({"reason": "water"})), &[])
        .await
        .expect(201);
    let open = app.get(&path, Some(&ben)).await.expect(200);
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
    assert_eq!(open["data"][0]["id"], call["id"]);
    assert_eq!(open["data"][0]["table_label"], "T4");
    assert_eq!(open["data"][0]["reason"], "water");
    app.get(&path, Some(&venue.pos_key)).await.assert_problem(403, "forbidden");
    app.post(&format!("/v1/assistance/{}/resolve", call["id"].as_str().unwrap()), Some(&ben), json!({}))
        .await
        .expect(200);
    assert_eq!(app.get(&path, Some(&ben)).await.expect(200)["data"], json!([]));

    // The manager turns the refund down: nothing is refunded.
    let rejected = app
        .post(&format!("/v1/refunds/{}/reject", refund["id"].as_str().unwrap()), Some(&venue.manager_key), json!({}))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");

    // Every dashboard hears of the refund waiting, of the call answered and of each decision
    // (Ana's screen tells her), from the feed.
    let feed = app
        .client
        .get(app.url(&format!("/v1/venues/{}/events", venue.id)))
        .bearer_auth(&venue.manager_key)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    let text = read_until(feed, "event: refund.rejected", Duration::from_secs(5)).await;
    let event = |name: &str| -> serde_json::Value {
        let frames: Vec<&str> =
            text.split("\n\n").filter(|frame| frame.contains(&format!("event: {name}\n"))).collect();
        assert_eq!(frames.len(), 1, "one {name} in {text}");
        let data = frames[0].lines().find_map(|l| l.strip_prefix("data: ")).expect("data");
        serde_json::from_str(data).unwrap()
    };
    let waiting = event("refund.pending_approval");
    assert_eq!(waiting["data"]["refund"]["id"], refund["id"]);
    assert_eq!(waiting["data"]["refund"]["status"], "pending_approval");
    assert!(text.contains("event: assistance.resolved\n"), "{text}");
    let approved = event("adjustment.approved");
    assert_eq!(approved["data"]["adjustment"]["id"], comp["id"]);
    assert_eq!(approved["data"]["adjustment"]["status"], "applied");
    assert_eq!(approved["data"]["adjustment"]["created_by"]["name"], "Ana");
    assert_eq!(approved["data"]["adjustment"]["created_by"]["id"], me_ana["staff"]["id"]);
    assert_eq!(approved["data"]["adjustment"]["approved_by"]["role"], "manager");
    let turned_down = event("refund.rejected");
    assert_eq!(turned_down["data"]["refund"]["id"], refund["id"]);
    assert_eq!(turned_down["data"]["refund"]["status"], "rejected");
    assert_eq!(turned_down["data"]["refund"]["amount"], 800);
    assert!(!text.contains("event: payment.refunded"), "nothing was refunded: {text}");
}

/// Apple Pay's domain verification: the file Stripe issued, served where Apple looks for it,
/// byte for byte; nothing there when none is configured.
async fn the_apple_pay_domain_file_is_served_when_configured(app: TestApp) {
    let path = "/.well-known/apple-developer-merchantid-domain-association";
    app.get(path, None).await.assert_problem(404, "not_found");
    let file = std::env::temp_dir().join(format!("apple-pay-{}.txt", uuid::Uuid::new_v4().simple()));
    let contents = "7B227073704964223A2239373943394538343346343131343044463\n";
    std::fs::write(&file, contents).unwrap();
    let with_file = crate::helpers::spawn_app_with(
        app.backend,
        &[("TABLEPAY_APPLE_PAY_DOMAIN_ASSOCIATION", file.to_str().unwrap())],
    )
    .await
    .unwrap();
    let (status, content_type, _, body) = fetch(&with_file, path).await;
    assert_eq!((status, content_type.as_str(), body.as_str()), (200, "text/plain", contents));
    let _ = std::fs::remove_file(&file);
}

backend_tests!(
    the_apple_pay_domain_file_is_served_when_configured,
    pages_are_served_with_a_strict_policy,
    a_stripe_venues_page_may_load_stripe_and_only_it,
    the_dashboard_learns_who_signed_in_and_what_waits,
);
