//! The benchmark's four measurements, each adding rows to the printed table and a section to
//! the JSON report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::{Api, Options, Rng, STRIDE, Server, Venue, db_ceiling, drive, seed_venue, start_receiver};

/// The printed rows and the JSON sections, in the order measured.
#[derive(Default)]
pub struct Report {
    pub rows: Vec<(String, String)>,
    pub results: serde_json::Map<String, Value>,
}

impl Report {
    fn row(&mut self, (name, value): (String, String)) {
        self.rows.push((name, value));
    }

    fn result(&mut self, name: &str, value: Value) {
        self.results.insert(name.to_owned(), value);
    }
}

/// Measurement 1: the guest's bill read against the framework's own ceiling (`/healthz`); peak RSS.
pub async fn guest_read(
    o: &Options,
    server: &Server,
    api: &Arc<Api>,
    venues: &[Venue],
    report: &mut Report,
) -> anyhow::Result<f64> {
    let tokens: Arc<Vec<String>> =
        Arc::new(venues.iter().flat_map(|v| v.tables.iter().map(|(qr, _)| qr.clone())).collect());
    server.reset_peak_rss();
    let work = api.count_work().await?;
    let read = {
        let (api, tokens) = (api.clone(), tokens.clone());
        drive(o.connections, o.seconds, move |w, n| {
            let (api, tokens) = (api.clone(), tokens.clone());
            async move {
                let qr = &tokens[(w * 7919 + n as usize) % tokens.len()];
                api.fetch(&format!("/v1/t/{qr}")).await
            }
        })
        .await
    };
    let (read_statements, _) = work.per(api, read.done + read.errors).await?;
    let health = {
        let api = api.clone();
        drive(o.connections, o.seconds, move |_, _| {
            let api = api.clone();
            async move { api.fetch("/healthz").await }
        })
        .await
    };
    let read_rss = server.peak_rss_mib();
    let read_ratio = read.per_second() / health.per_second();
    report.row((
        "guest bill read".into(),
        format!(
            "{:.0} rps, p50 {:.2} ms, p99 {:.2} ms ({} errors)",
            read.per_second(),
            read.p(0.5),
            read.p(0.99),
            read.errors
        ),
    ));
    report.row(("/healthz ceiling".into(), format!("{:.0} rps, p99 {:.2} ms", health.per_second(), health.p(0.99))));
    report.row(("read / ceiling".into(), format!("{read_ratio:.2} (goal ≥ 0.5)")));
    report.row(("SQL statements per guest read".into(), format!("{read_statements:.3}")));
    report.result(
        "guest_read",
        json!({"rps": read.per_second(), "p50_ms": read.p(0.5), "p99_ms": read.p(0.99), "errors": read.errors,
               "healthz_rps": health.per_second(), "ratio": read_ratio, "peak_rss_mib": read_rss,
               "statements_per_read": read_statements}),
    );

    Ok(read_rss)
}

/// The pay flow (create + sandbox confirm) over many bills against the database's ceiling
/// (measurement 2); peak RSS.
pub async fn pay_flow(
    o: &Options,
    server: &Server,
    api: &Arc<Api>,
    venues: &[Venue],
    report: &mut Report,
) -> anyhow::Result<f64> {
    server.reset_peak_rss();
    let work = api.count_work().await?;
    let bills: Arc<Vec<(String, String)>> = Arc::new(venues.iter().flat_map(|v| v.tables.clone()).collect());
    let pay = {
        let (api, bills) = (api.clone(), bills.clone());
        drive(o.connections, o.seconds, move |w, n| {
            let (api, bills) = (api.clone(), bills.clone());
            async move {
                let (qr, bill) = &bills[(w + n as usize * STRIDE) % bills.len()];
                let p = api
                    .post(
                        &format!("/v1/t/{qr}/payments"),
                        None,
                        json!({"bill_id": bill, "split": {"type": "amount", "amount": 1}}),
                    )
                    .await?;
                let id = p["id"].as_str().context("payment id")?;
                api.post(
                    &format!("/v1/sandbox/payments/{id}/confirm"),
                    None,
                    json!({"card_number": "4242424242424242"}),
                )
                .await
                .map(drop)
            }
        })
        .await
    };
    let (statements_per_flow, tx_per_flow) = work.per(api, pay.done + pay.errors).await?;
    let pay_rss = server.peak_rss_mib();
    let ceiling = {
        let (url, c, s) = (server.database_url.clone(), o.connections, o.seconds);
        tokio::task::spawn_blocking(move || db_ceiling(&url, c, s)).await??
    };
    let pay_ratio = pay.per_second() / ceiling;
    report.row((
        "pay flow".into(),
        format!(
            "{:.0} flows/s, p50 {:.2} ms, p99 {:.2} ms ({} errors)",
            pay.per_second(),
            pay.p(0.5),
            pay.p(0.99),
            pay.errors
        ),
    ));
    report.row(("database ceiling".into(), format!("{ceiling:.0} one-row write tx/s")));
    report.row(("flows / ceiling".into(), format!("{pay_ratio:.3} (goal ≥ 0.1, then 0.25)")));
    report.row((
        "database work per flow".into(),
        format!("{tx_per_flow:.2} write transactions, {statements_per_flow:.1} SQL statements"),
    ));
    report.result(
        "pay_flow",
        json!({"flows_per_s": pay.per_second(), "p50_ms": pay.p(0.5), "p99_ms": pay.p(0.99), "errors": pay.errors,
               "db_ceiling_tx_per_s": ceiling, "ratio": pay_ratio, "write_tx_per_flow": tx_per_flow,
               "statements_per_flow": statements_per_flow, "peak_rss_mib": pay_rss}),
    );

    Ok(pay_rss)
}

/// Measurement 3: settle → webhook latency over 200 settlements; peak RSS.
pub async fn settle_to_webhook(
    server: &Server,
    api: &Arc<Api>,
    rng: &mut Rng,
    report: &mut Report,
) -> anyhow::Result<f64> {
    server.reset_peak_rss();
    let (hook, got) = start_receiver();
    let venue = seed_venue(api, rng, 200, "Settlements").await?;
    api.post(
        &format!("/v1/venues/{}/webhook-endpoints", venue.id),
        Some(&venue.pos),
        json!({"url": hook, "event_types": ["table.settled"]}),
    )
    .await?;
    for (qr, bill) in &venue.tables {
        let p = api
            .post(&format!("/v1/t/{qr}/payments"), None, json!({"bill_id": bill, "split": {"type": "remaining"}}))
            .await?;
        api.post(
            &format!("/v1/sandbox/payments/{}/confirm", p["id"].as_str().unwrap()),
            None,
            json!({"card_number": "4242424242424242"}),
        )
        .await?;
    }
    let wait_until = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < venue.tables.len() && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for (at, event) in got.lock().unwrap().iter() {
        let settled = chrono::DateTime::parse_from_rfc3339(event["data"]["settled_at"].as_str().unwrap_or_default())?;
        let arrived = chrono::DateTime::<chrono::Utc>::from(*at);
        let _ = latency
            .record((arrived - settled.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0).max(1) as u64);
    }
    let delivered = latency.len();
    let hook_rss = server.peak_rss_mib();
    let (p50, p99) = (latency.value_at_quantile(0.5) as f64 / 1000.0, latency.value_at_quantile(0.99) as f64 / 1000.0);
    report.row((
        "settle → webhook".into(),
        format!("p50 {p50:.2} ms, p99 {p99:.2} ms over {delivered} settlements (goal p99 ≤ 50 ms)"),
    ));
    report.result(
        "settle_to_webhook",
        json!({"settlements": delivered, "p50_ms": p50, "p99_ms": p99, "peak_rss_mib": hook_rss}),
    );

    Ok(hook_rss)
}

/// Measurement 4: the floor view with 10, 100 and 1 000 tables; peak RSS.
pub async fn floor_view(server: &Server, api: &Arc<Api>, rng: &mut Rng, report: &mut Report) -> anyhow::Result<f64> {
    server.reset_peak_rss();
    let mut floor = serde_json::Map::new();
    for size in [10_usize, 100, 1000] {
        let v = seed_venue(api, rng, size, &format!("Floor {size}")).await?;
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for _ in 0..30 {
            let t = Instant::now();
            api.send(reqwest::Method::GET, &format!("/v1/venues/{}/floor", v.id), Some(&v.manager), None).await?;
            let _ = h.record(t.elapsed().as_micros() as u64);
        }
        let (p50, p99) = (h.value_at_quantile(0.5) as f64 / 1000.0, h.value_at_quantile(0.99) as f64 / 1000.0);
        report.row((
            format!("floor view, {size} tables"),
            format!("p50 {p50:.2} ms, p99 {p99:.2} ms, {:.1} µs per table", p50 * 1000.0 / size as f64),
        ));
        floor.insert(size.to_string(), json!({"p50_ms": p50, "p99_ms": p99}));
    }
    let floor_rss = server.peak_rss_mib();
    floor.insert("peak_rss_mib".into(), json!(floor_rss));
    report.result("floor_view", Value::Object(floor));
    Ok(floor_rss)
}
