//! Venues, staff, keys, tables and the guest's view.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, FreshDatabase, ServerProcess, TestApp, backend_tests};

async fn creating_a_venue_returns_its_keys_once(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1900, 0).await;
    let v = &venue.body["venue"];
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["tax_mode"], "inclusive");
    assert_eq!(v["timezone"], "UTC");
    assert_eq!(v["payment_provider"], "sandbox");
    assert_eq!(v["tip_presets_bps"], json!([1000, 1500, 2000]));
    assert_eq!(venue.body["api_key"]["role"], "pos");
    assert_eq!(venue.body["manager_key"]["role"], "manager");
    assert_ne!(venue.pos_key, venue.manager_key);
    // Both keys work; the venue reads back without any secret in it.
    let read = app.get(&format!("/v1/venues/{}", venue.id), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(read["name"], v["name"]);
    assert!(!read.to_string().contains(&venue.pos_key));
    app.get(&format!("/v1/venues/{}", venue.id), Some(&venue.manager_key)).await.expect(200);
}

async fn venue_input_is_validated(app: TestApp) {
    for (body, field) in [
        (json!({"name": "X", "currency": "EURO", "tax_mode": "inclusive"}), "currency"),
        (json!({"name": "X", "currency": "EUR", "tax_mode": "sometimes"}), "tax_mode"),
        (json!({"name": "X", "currency": "EUR", "tax_mode": "inclusive", "timezone": "Mars/Olympus"}), "timezone"),
        (json!({"name": "X", "currency": "EUR", "tax_mode": "inclusive", "tax_rate_bps": -1}), "tax_rate_bps"),
        (json!({"name": " ", "currency": "EUR", "tax_mode": "inclusive"}), "name"),
        (
            json!({"name": "X", "currency": "EUR", "tax_mode": "inclusive", "payment_provider": "cash"}),
            "payment_provider",
        ),
    ] {
        let answer = app.post("/v1/venues", Some(ADMIN_TOKEN), body).await;
        answer.assert_problem(422, "validation_failed");
        assert!(answer.body["detail"].as_str().unwrap().contains(field), "{:?}", answer.body);
    }
    // Only the admin token creates venues.
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    app.post("/v1/venues", Some(&venue.manager_key), json!({"name": "X", "currency": "EUR", "tax_mode": "inclusive"}))
        .await
        .assert_problem(403, "forbidden");
}

async fn managers_create_staff_and_revoke_keys(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let staff_path = format!("/v1/venues/{}/staff", venue.id);
    let server =
        app.post(&staff_path, Some(&venue.manager_key), json!({"name": "Ana", "role": "server"})).await.expect(201);
    assert_eq!(server["staff"]["role"], "server");
    let server_key = server["key"].as_str().unwrap().to_owned();
    // POS and servers cannot create staff.
    app.post(&staff_path, Some(&venue.pos_key), json!({"name": "Bo", "role": "server"}))
        .await
        .assert_problem(403, "forbidden");
    app.post(&staff_path, Some(&server_key), json!({"name": "Bo", "role": "manager"}))
        .await
        .assert_problem(403, "forbidden");
    app.post(&staff_path, Some(&venue.manager_key), json!({"name": "Bo", "role": "chef"}))
        .await
        .assert_problem(422, "validation_failed");
    // A server reads the venue's bills but may not write them.
    let bill = app.open_bill(&venue, "T1", json!([{"name": "Tea", "quantity": 1, "unit_price": 300}])).await;
    app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), Some(&server_key)).await.expect(200);
    app.post(
        &format!("/v1/bills/{}/items", bill["id"].as_str().unwrap()),
        Some(&server_key),
        json!({"items": [{"name": "Tea", "quantity": 1, "unit_price": 300}]}),
    )
    .await
    .assert_problem(403, "forbidden");
    // A new POS key works until revoked, then answers 401 at once.
    let key = app
        .post(&format!("/v1/venues/{}/api-keys", venue.id), Some(&venue.manager_key), json!({"name": "Till 2"}))
        .await
        .expect(201);
    assert_eq!(key["role"], "pos");
    let till = key["key"].as_str().unwrap();
    app.get(&format!("/v1/venues/{}", venue.id), Some(till)).await.expect(200);
    let revoked = app
        .call(Method::DELETE, &format!("/v1/api-keys/{}", key["id"].as_str().unwrap()), Some(&venue.manager_key), None)
        .await;
    assert_eq!(revoked.status.as_u16(), 204);
    app.get(&format!("/v1/venues/{}", venue.id), Some(till)).await.assert_problem(401, "unauthorized");
    let members = app.get(&staff_path, Some(&venue.manager_key)).await.expect(200);
    assert_eq!(members["data"].as_array().unwrap().len(), 2, "the manager and Ana");
}

async fn tables_have_unguessable_tokens_and_rotate(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "Terrace 4").await;
    let token = table["qr_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "at least 128 bits in URL-safe base64");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(table["guest_url"], format!("https://pay.example.test/t/{token}"));
    assert_eq!(table["status"], "free");
    // Labels are unique per venue.
    app.post(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key), json!({"label": "Terrace 4"}))
        .await
        .assert_problem(409, "conflict");
    let guest = app.get(&format!("/v1/t/{token}"), None).await.expect(200);
    assert_eq!(guest["table"]["label"], "Terrace 4");
    assert_eq!(guest["bill"], json!(null));

    let rotated = app
        .post(&format!("/v1/tables/{}/qr-token/rotate", table["id"].as_str().unwrap()), Some(&venue.pos_key), json!({}))
        .await
        .expect(200);
    let new_token = rotated["qr_token"].as_str().unwrap();
    assert_ne!(new_token, token);
    app.get(&format!("/v1/t/{token}"), None).await.assert_problem(404, "not_found");
    app.get(&format!("/v1/t/{new_token}"), None).await.expect(200);
    let listed = app.get(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key)).await.expect(200);
    assert_eq!(listed["data"][0]["qr_token"], new_token);
}

async fn the_guest_sees_the_bill_without_staff_ids(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 1000, 0).await;
    let server = app
        .post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": "Ana", "role": "server"}),
        )
        .await
        .expect(201);
    let table = app.create_table(&venue, "T9").await;
    let bill = app
        .post(
            &format!("/v1/venues/{}/bills", venue.id),
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "server_id": server["staff"]["id"], "external_ref": "CHK-1",
                   "items": [{"name": "Pasta", "quantity": 2, "unit_price": 1250}]}),
        )
        .await
        .expect(201);
    assert_eq!(bill["server"]["id"], server["staff"]["id"]);
    let guest = app.get(&format!("/v1/t/{}", table["qr_token"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(guest["venue"]["currency"], "EUR");
    assert_eq!(guest["venue"]["tip_presets_bps"], json!([1000, 1500, 2000]));
    let seen = &guest["bill"];
    assert_eq!(seen["id"], bill["id"]);
    assert_eq!(seen["totals"]["total"], 2500);
    assert_eq!(seen["totals"]["remaining"], 2500);
    assert_eq!(seen["server"], json!({"name": "Ana"}), "a guest sees the name, not the staff id");
    assert!(!guest.to_string().contains(server["staff"]["id"].as_str().unwrap()));
    assert!(seen.get("venue_id").is_none());
    app.get("/v1/t/not-a-real-token", None).await.assert_problem(404, "not_found");
}

async fn health_and_readiness(app: TestApp) {
    app.get("/healthz", None).await.expect(200);
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let (bill, qr) =
        crate::helpers::bill_with_qr(&app, &venue, "T1", json!([{"name": "Tea", "quantity": 1, "unit_price": 300}]))
            .await;
    app.pay(&qr, json!({"bill_id": bill["id"], "split": {"type": "remaining"}})).await.expect(201);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(
            r#"tablepay_http_requests_total{route="/v1/t/{qr_token}/payments",method="POST",status="201"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        r#"tablepay_http_request_duration_seconds_count{route="/v1/venues/{venue_id}/bills",status="201"} 1"#
    ));
    assert!(metrics.contains("tablepay_payments{status=\"pending\"} 1"));
    assert!(metrics.contains("tablepay_webhook_deliveries{status=\"pending\"} 0"));
    assert!(metrics.contains("tablepay_outbox_lag_seconds 0"));
    // The database work counters agree with the process's own handle on the database.
    let counter = |name: &str| -> u64 {
        metrics.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or_else(|| panic!("{name}"))
    };
    let writes = counter("tablepay_db_write_transactions_total ");
    assert!(writes >= 4 && writes <= app.db.writes_committed(), "{writes} write transactions");
    assert!(counter("tablepay_db_statements_total ") > writes);
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready["database"], if app.backend == crate::helpers::Backend::Sqlite { "sqlite" } else { "postgres" });
}

async fn guessing_tokens_meets_rate_limits_but_a_busy_table_does_not(app: TestApp) {
    let app = crate::helpers::spawn_app_with(app.backend, &[("TABLEPAY_RATE_LIMIT_TABLE", "40")]).await.unwrap();
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    let table = app.create_table(&venue, "T1").await;
    let qr = table["qr_token"].as_str().unwrap().to_owned();
    // 300 guesses from one address: the first 30 are told "not found", the rest to slow down.
    let mut statuses = std::collections::HashMap::new();
    for i in 0..300 {
        let answer = app.get(&format!("/v1/t/guess{i:04}aaaaaaaaaaaaaaaaaaaaaaaa"), None).await;
        *statuses.entry(answer.status.as_u16()).or_insert(0) += 1;
        if answer.status.as_u16() == 429 {
            answer.assert_problem(429, "rate_limited");
            let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
        }
    }
    assert_eq!(statuses.get(&404), Some(&30));
    assert_eq!(statuses.get(&429), Some(&270));
    // The same address still reaches its own table: a full restaurant shares one Wi-Fi.
    app.get(&format!("/v1/t/{qr}"), None).await.expect(200);
    // A known table has its own, larger allowance.
    let mut limited = 0;
    for _ in 0..45 {
        if app.get(&format!("/v1/t/{qr}"), None).await.status.as_u16() == 429 {
            limited += 1;
        }
    }
    assert_eq!(limited, 6, "41st to 46th requests of the minute");
}

async fn the_demo_command_sets_up_a_venue_to_try(app: TestApp) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tablepay-under-test"))
        .arg("demo")
        .env("DATABASE_URL", &app.database_url)
        .env("TABLEPAY_PUBLIC_URL", "https://pay.example.test")
        .env("RUST_LOG", "warn")
        .output()
        .expect("demo runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("POS key:      tp_pos_") && text.contains("Manager key:  tp_manager_"), "{text}");
    assert!(text.contains('█'), "a QR code is drawn");
    let url = text.lines().map(str::trim).find(|l| l.starts_with("https://pay.example.test/t/")).expect("guest URL");
    let token = url.rsplit('/').next().unwrap();
    let guest = app.guest(token).await;
    assert_eq!(guest["venue"]["name"], "Demo Bistro");
    assert_eq!(guest["bill"]["totals"]["total"], 7600);
    assert_eq!(guest["bill"]["items"].as_array().unwrap().len(), 4);
    assert!(text.contains("an open bill of 76.00 EUR on Table 1"), "amounts in the currency's format: {text}");
    assert!(text.contains("TABLEPAY_PUBLIC_URL=https://pay.example.test cargo run --release -- serve"), "{text}");

    // A phone on the Wi-Fi cannot open 127.0.0.1: --public-url names the address it can, and
    // the demo says how to start `serve` on it. Piped, the code has no colour codes; the log
    // shows no temporary listening address.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tablepay-under-test"))
        .args(["demo", "--public-url", "http://192.168.1.20:8080/"])
        .env("DATABASE_URL", &app.database_url)
        .env_remove("TABLEPAY_PUBLIC_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("demo runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (text, log) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.lines().any(|l| l.trim().starts_with("http://192.168.1.20:8080/t/")), "{text}");
    assert!(
        text.contains("TABLEPAY_BIND=0.0.0.0:8080 TABLEPAY_PUBLIC_URL=http://192.168.1.20:8080 cargo run"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no terminal colours when piped");
    assert!(!log.contains("listening on"), "{log}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_tablepay-under-test"))
        .args(["demo", "--public-url", "192.168.1.20"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .expect("demo runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--public-url needs a URL"));
}

/// Follows `next_cursor` through a list; returns each page's `field` values.
async fn pages(app: &TestApp, path: &str, key: &str, field: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut next = format!("{path}?limit=2");
    loop {
        let page = app.get(&next, Some(key)).await.expect(200);
        out.push(page["data"].as_array().unwrap().iter().map(|v| v[field].as_str().unwrap().to_owned()).collect());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}?limit=2&cursor={cursor}"),
            None => return out,
        }
    }
}

async fn lists_come_in_pages(app: TestApp) {
    let venue = app.create_venue("EUR", "inclusive", 0, 0).await;
    for label in ["T5", "T1", "T3", "T2", "T4"] {
        app.create_table(&venue, label).await;
    }
    let tables = format!("/v1/venues/{}/tables", venue.id);
    assert_eq!(pages(&app, &tables, &venue.pos_key, "label").await, [vec!["T1", "T2"], vec!["T3", "T4"], vec!["T5"]]);
    let all = app.get(&tables, Some(&venue.pos_key)).await.expect(200);
    assert_eq!((all["data"].as_array().unwrap().len(), all["next_cursor"].is_null()), (5, true), "50 by default");
    for bad in ["?limit=0", "?limit=201", "?limit=x", "?cursor=nope", "?sort=label"] {
        app.get(&format!("{tables}{bad}"), Some(&venue.pos_key)).await.assert_problem(400, "validation_failed");
    }
    for name in ["Ana", "Ben"] {
        app.post(
            &format!("/v1/venues/{}/staff", venue.id),
            Some(&venue.manager_key),
            json!({"name": name, "role": "server"}),
        )
        .await
        .expect(201);
    }
    let staff = format!("/v1/venues/{}/staff", venue.id);
    assert_eq!(pages(&app, &staff, &venue.manager_key, "name").await, [vec!["Manager", "Ana"], vec!["Ben"]]);
    let hooks = format!("/v1/venues/{}/webhook-endpoints", venue.id);
    // Public address literals: no DNS needed, no private-network switch.
    for host in ["8.8.8.1", "8.8.8.2", "8.8.8.3"] {
        app.post(&hooks, Some(&venue.pos_key), json!({"url": format!("https://{host}/hook")})).await.expect(201);
    }
    let urls = pages(&app, &hooks, &venue.pos_key, "url").await;
    assert_eq!(urls.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(urls[1], ["https://8.8.8.3/hook"]);
}

/// Three `serve` processes started at the same moment on a database nobody has migrated yet:
/// all come up (they take turns at the migrations) and serve the same data.
async fn processes_started_together_on_a_fresh_database_all_come_up(app: TestApp) {
    let fresh = FreshDatabase::new(app.backend).await.expect("a fresh database, as for the app");
    let (a, b, c) = tokio::join!(
        ServerProcess::start(&fresh.url, &[]),
        ServerProcess::start(&fresh.url, &[]),
        ServerProcess::start(&fresh.url, &[]),
    );
    let client = reqwest::Client::new();
    for server in [&a, &b, &c] {
        let ready = client.get(format!("{}/readyz", server.address)).send().await.expect("readyz answers");
        assert_eq!(ready.status().as_u16(), 200, "{} is ready", server.address);
    }
    let made = client
        .post(format!("{}/v1/venues", a.address))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Race", "currency": "EUR", "tax_mode": "inclusive", "tax_rate_bps": 0, "service_charge_bps": 0}))
        .send()
        .await
        .expect("create a venue");
    assert_eq!(made.status().as_u16(), 201);
    let made: serde_json::Value = made.json().await.expect("json");
    let key = made["api_key"]["key"].as_str().expect("pos key");
    let read = client
        .get(format!("{}/v1/venues/{}", c.address, made["venue"]["id"].as_str().expect("id")))
        .bearer_auth(key)
        .send()
        .await
        .expect("read it on another process");
    assert_eq!(read.status().as_u16(), 200);
    drop((a, b, c));
}

backend_tests!(
    processes_started_together_on_a_fresh_database_all_come_up,
    lists_come_in_pages,
    the_demo_command_sets_up_a_venue_to_try,
    guessing_tokens_meets_rate_limits_but_a_busy_table_does_not,
    creating_a_venue_returns_its_keys_once,
    venue_input_is_validated,
    managers_create_staff_and_revoke_keys,
    tables_have_unguessable_tokens_and_rotate,
    the_guest_sees_the_bill_without_staff_ids,
    health_and_readiness,
);

/// A PostgreSQL connection killed under the server (a restart, a failover, a proxy's idle
/// timeout) costs at most the one request that finds it dead: the pool drops it instead of
/// handing it out again, and tests one that has idled before use. PostgreSQL only: a SQLite
/// connection is a file handle that nothing outside the process can take away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_postgres_connections_cost_at_most_one_request_each() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await else { return };
    let kill = |url: String| async move {
        tokio::task::spawn_blocking(move || kill_other_connections(&url)).await.expect("join")
    };

    // Killed while fresh from use, so handed out again without a test: the request that finds
    // one dead fails, and every other connection is tested before its next use.
    assert!(all_ready(&app).await);
    let killed = kill(app.database_url.clone()).await;
    assert!(killed >= 8, "the pool's 8 connections (and the listener's) were killed: {killed}");
    let failed = app.get("/readyz", None).await;
    if failed.status != 200 {
        failed.assert_problem(503, "service_unavailable");
    }
    assert!(all_ready(&app).await, "no request fails after the first");
    for _ in 0..20 {
        app.get("/readyz", None).await.expect(200);
    }

    // Killed while idle: tested before use (unless the server's own background work found them
    // dead first) and replaced, so no request fails.
    assert!(all_ready(&app).await);
    kill(app.database_url.clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(all_ready(&app).await);
}

/// Sixteen `/readyz` at once, which keeps every pooled connection busy; true when all answered 200.
async fn all_ready(app: &TestApp) -> bool {
    let requests: Vec<_> = (0..16).map(|_| app.get("/readyz", None)).collect();
    futures_util::future::join_all(requests).await.iter().all(|a| a.status == 200)
}

/// Terminates every other session on the database `url` names and waits until they have
/// ended; returns how many there were.
fn kill_other_connections(url: &str) -> usize {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Session {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut conn = diesel::PgConnection::establish(url).expect("connect to the test database");
    let killed = diesel::sql_query(
        // The sessions are chosen in a materialized CTE, apart from the terminating: PostgreSQL
        // evaluates one WHERE's conditions in any order, and terminated other tests' sessions
        // (every database's) before checking the database.
        "WITH mine AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) \
         SELECT pid FROM mine WHERE pg_terminate_backend(pid)",
    )
    .load::<Session>(&mut conn)
    .expect("terminate the server's sessions");
    let pids = killed.iter().map(|s| s.pid.to_string()).collect::<Vec<_>>().join(",");
    for _ in 0..500 {
        let alive = diesel::sql_query(format!("SELECT pid FROM pg_stat_activity WHERE pid IN ({pids})"))
            .load::<Session>(&mut conn)
            .expect("read the sessions");
        if alive.is_empty() {
            return killed.len();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the terminated sessions did not end");
}
