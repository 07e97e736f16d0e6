//! Prometheus metrics at `GET /metrics`: requests and latency by route and status from
//! this process, and payments, webhook deliveries and outbox lag from the database (so
//! every process reports the same business figures).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::error::ApiError;
use crate::secrets::constant_time_eq;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What this process has served.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, u16), Latency>>,
}

impl Metrics {
    /// Records one answered request under its route pattern (never the raw path, whose ids
    /// would make the label set unbounded).
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        // Any token is a method to HTTP; only the ones we know make labels.
        const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        let method = KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER");
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let entry = latency.entry((route.to_owned(), status)).or_default();
            let seconds = elapsed.as_secs_f64();
            for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            entry.count += 1;
            entry.sum += seconds;
        }
    }

    fn render(&self, out: &mut String) {
        out.push_str("# HELP tablepay_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE tablepay_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((route, method, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "tablepay_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP tablepay_http_request_duration_seconds Time to answer, by route and status.\n");
        out.push_str("# TYPE tablepay_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for ((route, status), l) in latency.iter() {
                let labels = format!("route=\"{route}\",status=\"{status}\"");
                for (bound, n) in BUCKETS.iter().zip(l.buckets) {
                    let _ =
                        writeln!(out, "tablepay_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
                }
                let _ =
                    writeln!(out, "tablepay_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", l.count);
                let _ = writeln!(out, "tablepay_http_request_duration_seconds_sum{{{labels}}} {}", l.sum);
                let _ = writeln!(out, "tablepay_http_request_duration_seconds_count{{{labels}}} {}", l.count);
            }
        }
    }
}

/// `GET /metrics`; with `TABLEPAY_METRICS_TOKEN` set, only for that bearer token.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("bearer" = [])), responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
    (status = 401, description = "TABLEPAY_METRICS_TOKEN is set and another token was given", content_type = "application/problem+json", body = crate::error::Problem),
))]
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.settings.metrics_token {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            return Err(ApiError::unauthorized());
        }
    }
    let figures = crate::app::venues::figures(&state.db).await?;
    let now = tablepay_store::now();
    let oldest_due = figures.oldest_due.map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
    let mut out = String::new();
    state.metrics.render(&mut out);
    out.push_str("# HELP tablepay_payments Payments by status.\n# TYPE tablepay_payments gauge\n");
    for (status, n) in figures.payments {
        let _ = writeln!(out, "tablepay_payments{{status=\"{status}\"}} {n}");
    }
    out.push_str(
        "# HELP tablepay_webhook_deliveries Webhook deliveries by outcome.\n# TYPE tablepay_webhook_deliveries gauge\n",
    );
    for (status, n) in figures.deliveries {
        let _ = writeln!(out, "tablepay_webhook_deliveries{{status=\"{status}\"}} {n}");
    }
    out.push_str(
        "# HELP tablepay_outbox_lag_seconds Age of the oldest webhook delivery that is due and not yet delivered.\n",
    );
    out.push_str("# TYPE tablepay_outbox_lag_seconds gauge\n");
    let _ = writeln!(out, "tablepay_outbox_lag_seconds {}", oldest_due.unwrap_or(0.0));
    out.push_str("# HELP tablepay_db_statements_total SQL statements run by this process's connection pool, its liveness tests aside.\n");
    out.push_str("# TYPE tablepay_db_statements_total counter\n");
    let _ = writeln!(out, "tablepay_db_statements_total {}", state.db.queries_run());
    out.push_str("# HELP tablepay_db_write_transactions_total Write transactions this process committed.\n");
    out.push_str("# TYPE tablepay_db_write_transactions_total counter\n");
    let _ = writeln!(out, "tablepay_db_write_transactions_total {}", state.db.writes_committed());
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(out))
}
