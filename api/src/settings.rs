//! Typed configuration read once from the environment, validated at start.

use std::net::SocketAddr;

use tablepay_payments::StripeConfig;

use tablepay_store::DatabaseUrl;

/// Everything `tablepay` reads from its environment. Defaults make `cargo run -- serve` work
/// with no set-up: a SQLite file in the working directory and the sandbox provider.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// `None` when unset: `serve` then generates one and prints it once.
    pub admin_token: Option<String>,
    /// Base of the guest URLs printed on QR codes, without a trailing slash.
    pub public_url: String,
    pub db_pool_size: u32,
    pub http_workers: usize,
    /// `TABLEPAY_LOG_FORMAT=json`: one JSON object per log line.
    pub json_logs: bool,
    /// The guest web page's origin, allowed by CORS on the guest routes.
    pub guest_origin: Option<String>,
    /// When set, `/metrics` answers only this bearer token.
    pub metrics_token: Option<String>,
    /// The Apple Pay domain association file Stripe gave for this domain (its contents, read
    /// at start from the file `TABLEPAY_APPLE_PAY_DOMAIN_ASSOCIATION` names).
    pub apple_pay_domain_association: Option<String>,
    /// How long a pending payment holds its part of the bill.
    pub hold_seconds: u64,
    /// How often expired holds are looked for.
    pub sweep_interval_ms: u64,
    /// Stripe, when its keys are set.
    pub stripe: Option<StripeConfig>,
    pub webhooks: WebhookSettings,
    /// E-mailed receipts, when `TABLEPAY_SMTP_URL` is set.
    pub mail: Option<MailSettings>,
    /// Lookups of unknown QR tokens per client address per minute.
    pub rate_limit_unknown_qr: u32,
    /// Guest requests per known table per minute.
    pub rate_limit_table: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `TABLEPAY_ASSETS_DIR`: serve the web pages' files from this folder instead of the
    /// copies built into the binary, so front-end work needs no rebuild.
    pub assets_dir: Option<std::path::PathBuf>,
}

/// How receipts are e-mailed.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, or STARTTLS with `?tls=required`), `smtps://host:port`
    /// (TLS), with `user:password@` when the server asks for a login.
    pub smtp_url: String,
    /// The sender, `receipts@example.com` or `Chez Marcel <receipts@example.com>`.
    pub from: String,
    /// Delay before each attempt, as for webhooks.
    pub retry_schedule: Vec<std::time::Duration>,
    /// Whether this process sends (with the webhook worker: `TABLEPAY_WEBHOOK_WORKER`).
    pub worker: bool,
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Delay before each attempt: the first entry before the first attempt, and so on.
    pub retry_schedule: Vec<std::time::Duration>,
    /// An attempt that has no answer after this counts as failed.
    pub timeout: std::time::Duration,
    /// Endpoints on loopback, private and link-local addresses (a POS on the venue's LAN).
    pub allow_private_networks: bool,
    /// Whether this process delivers; API-only processes can leave it to others.
    pub worker: bool,
    /// The safety-net poll when no wake-up arrives.
    pub poll_interval: std::time::Duration,
}

/// `0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h`.
pub const DEFAULT_RETRY_SCHEDULE: &[u64] = &[0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000];

fn parse_schedule(name: &str, text: &str) -> Result<Vec<std::time::Duration>, String> {
    let schedule: Option<Vec<std::time::Duration>> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>().ok().filter(|s| s.is_finite() && (0.0..=604_800.0).contains(s)))
        .map(|s| s.map(std::time::Duration::from_secs_f64))
        .collect();
    match schedule {
        Some(s) if !s.is_empty() && s.len() <= 50 => Ok(s),
        _ => Err(format!("{name} must be 1 to 50 comma-separated delays in seconds (0 to 604800), got {text:?}")),
    }
}

fn parse_bool(var: &impl Fn(&str) -> Option<String>, name: &str, default: bool) -> Result<bool, String> {
    match var(name).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(format!("{name} must be true or false, got {other:?}")),
    }
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        Settings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `var`, so tests can pass their own environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let database_url =
            DatabaseUrl::parse(&var("DATABASE_URL").unwrap_or_else(|| "sqlite://./tablepay.db".to_owned()))?;
        let bind_text = var("TABLEPAY_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            format!("TABLEPAY_BIND must be an address and port such as 127.0.0.1:8080, got {bind_text:?}")
        })?;
        let admin_token = var("TABLEPAY_ADMIN_TOKEN");
        if let Some(token) = &admin_token
            && (token.len() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err("TABLEPAY_ADMIN_TOKEN must be at least 16 characters without spaces".into());
        }
        let public_url = var("TABLEPAY_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(format!("TABLEPAY_PUBLIC_URL must start with http:// or https://, got {public_url:?}"));
        }
        let db_pool_size = parse_number(&var, "TABLEPAY_DB_POOL_SIZE", 10, 1, 500)?;
        let http_workers = parse_number(&var, "TABLEPAY_HTTP_WORKERS", 2, 1, 256)?;
        let hold_seconds = parse_number(&var, "TABLEPAY_HOLD_SECONDS", 600, 1, 86_400)?;
        let sweep_interval_ms = parse_number(&var, "TABLEPAY_SWEEP_INTERVAL_MS", 1000, 10, 60_000)?;
        let stripe = stripe_settings(&var)?;
        let webhooks = webhook_settings(&var)?;
        let mail = mail_settings(&var, webhooks.worker)?;
        let trusted_proxies = trusted_proxies(&var)?;
        let json_logs = match var("TABLEPAY_LOG_FORMAT").as_deref() {
            None | Some("human") => false,
            Some("json") => true,
            Some(other) => return Err(format!("TABLEPAY_LOG_FORMAT must be human or json, got {other:?}")),
        };
        let guest_origin = guest_origin(&var)?;
        let assets_dir = var("TABLEPAY_ASSETS_DIR").map(std::path::PathBuf::from);
        if let Some(dir) = &assets_dir
            && !dir.is_dir()
        {
            return Err(format!("TABLEPAY_ASSETS_DIR must be a folder, got {}", dir.display()));
        }
        let apple_pay_domain_association = match var("TABLEPAY_APPLE_PAY_DOMAIN_ASSOCIATION") {
            Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                format!("TABLEPAY_APPLE_PAY_DOMAIN_ASSOCIATION must name a readable file, got {path:?}: {e}")
            })?),
            None => None,
        };
        Ok(Settings {
            apple_pay_domain_association,
            assets_dir,
            metrics_token: var("TABLEPAY_METRICS_TOKEN"),
            json_logs,
            guest_origin,
            rate_limit_unknown_qr: parse_number(&var, "TABLEPAY_RATE_LIMIT_UNKNOWN_QR", 30, 1, 1_000_000)? as u32,
            rate_limit_table: parse_number(&var, "TABLEPAY_RATE_LIMIT_TABLE", 600, 1, 1_000_000)? as u32,
            trusted_proxies,
            webhooks,
            mail,
            hold_seconds,
            sweep_interval_ms,
            stripe,
            database_url,
            bind,
            admin_token,
            public_url: public_url.trim_end_matches('/').to_owned(),
            db_pool_size: db_pool_size as u32,
            http_workers: http_workers as usize,
        })
    }
}

/// The three Stripe keys, all or none.
fn stripe_settings(var: &impl Fn(&str) -> Option<String>) -> Result<Option<StripeConfig>, String> {
    match (
        var("TABLEPAY_STRIPE_SECRET_KEY"),
        var("TABLEPAY_STRIPE_PUBLISHABLE_KEY"),
        var("TABLEPAY_STRIPE_WEBHOOK_SECRET"),
    ) {
        (None, None, None) => Ok(None),
        (Some(secret_key), Some(publishable_key), Some(webhook_secret)) => Ok(Some(StripeConfig {
            secret_key,
            publishable_key,
            webhook_secret,
            base_url: var("TABLEPAY_STRIPE_API_BASE"),
            timeout: std::time::Duration::from_millis(parse_number(
                var,
                "TABLEPAY_STRIPE_TIMEOUT_MS",
                20_000,
                100,
                120_000,
            )?),
        })),
        _ => Err("Stripe needs all three of TABLEPAY_STRIPE_SECRET_KEY, TABLEPAY_STRIPE_PUBLISHABLE_KEY \
                  and TABLEPAY_STRIPE_WEBHOOK_SECRET"
            .into()),
    }
}

fn webhook_settings(var: &impl Fn(&str) -> Option<String>) -> Result<WebhookSettings, String> {
    Ok(WebhookSettings {
        retry_schedule: match var("TABLEPAY_WEBHOOK_RETRY_SCHEDULE") {
            Some(text) => parse_schedule("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", &text)?,
            None => DEFAULT_RETRY_SCHEDULE.iter().map(|s| std::time::Duration::from_secs(*s)).collect(),
        },
        timeout: std::time::Duration::from_millis(parse_number(
            var,
            "TABLEPAY_WEBHOOK_TIMEOUT_MS",
            10_000,
            100,
            60_000,
        )?),
        allow_private_networks: parse_bool(var, "TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", false)?,
        worker: parse_bool(var, "TABLEPAY_WEBHOOK_WORKER", true)?,
        poll_interval: std::time::Duration::from_millis(parse_number(
            var,
            "TABLEPAY_OUTBOX_POLL_MS",
            1000,
            10,
            60_000,
        )?),
    })
}

/// Default delays before each e-mail attempt: at once, then 1 min, 5 min, 30 min, 2 h, 6 h.
const DEFAULT_MAIL_SCHEDULE: &[u64] = &[0, 60, 300, 1800, 7200, 21_600];

fn mail_settings(var: &impl Fn(&str) -> Option<String>, worker: bool) -> Result<Option<MailSettings>, String> {
    let Some(smtp_url) = var("TABLEPAY_SMTP_URL") else {
        return Ok(None);
    };
    crate::app::mail::check_url(&smtp_url).map_err(|e| {
        format!("TABLEPAY_SMTP_URL must be an SMTP URL such as smtp://127.0.0.1:2525 or smtps://user:pass@mail.example.com: {e}")
    })?;
    let from = var("TABLEPAY_MAIL_FROM")
        .ok_or("TABLEPAY_MAIL_FROM must name the sender of e-mailed receipts when TABLEPAY_SMTP_URL is set")?;
    crate::app::mail::check_sender(&from)
        .map_err(|e| format!("TABLEPAY_MAIL_FROM must be an address such as receipts@example.com: {e}"))?;
    let retry_schedule = match var("TABLEPAY_MAIL_RETRY_SCHEDULE") {
        Some(text) => parse_schedule("TABLEPAY_MAIL_RETRY_SCHEDULE", &text)?,
        None => DEFAULT_MAIL_SCHEDULE.iter().map(|s| std::time::Duration::from_secs(*s)).collect(),
    };
    Ok(Some(MailSettings { smtp_url, from, retry_schedule, worker }))
}

fn trusted_proxies(var: &impl Fn(&str) -> Option<String>) -> Result<Vec<std::net::IpAddr>, String> {
    match var("TABLEPAY_TRUSTED_PROXIES") {
        None => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|ip| {
                ip.trim()
                    .parse()
                    .map_err(|_| format!("TABLEPAY_TRUSTED_PROXIES must be comma-separated IP addresses, got {ip:?}"))
            })
            .collect(),
    }
}

/// The guest page's origin, when it is served from another host than the API.
fn guest_origin(var: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    let origin = var("TABLEPAY_GUEST_ORIGIN").map(|o| o.trim_end_matches('/').to_owned());
    if let Some(origin) = &origin
        && origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_none_or(|host| host.is_empty() || host.contains('/'))
    {
        return Err(format!("TABLEPAY_GUEST_ORIGIN must be an origin such as https://pay.example.com, got {origin:?}"));
    }
    Ok(origin)
}

fn parse_number(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, String> {
    match var(name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("{name} must be a whole number from {min} to {max}, got {text:?}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn defaults_run_without_setup() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("./tablepay.db".into()));
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(s.admin_token.is_none());
    }

    #[test]
    fn invalid_values_are_named() {
        assert!(settings(&[("TABLEPAY_BIND", "nowhere")]).expect_err("bad bind").contains("TABLEPAY_BIND"));
        assert!(settings(&[("TABLEPAY_ADMIN_TOKEN", "short")]).expect_err("short").contains("TABLEPAY_ADMIN_TOKEN"));
        assert!(settings(&[("DATABASE_URL", "mysql://x")]).expect_err("mysql").contains("DATABASE_URL"));
        assert!(settings(&[("TABLEPAY_DB_POOL_SIZE", "0")]).expect_err("zero").contains("TABLEPAY_DB_POOL_SIZE"));
        assert!(settings(&[("TABLEPAY_HOLD_SECONDS", "-5")]).expect_err("negative").contains("TABLEPAY_HOLD_SECONDS"));
        assert!(settings(&[("TABLEPAY_STRIPE_SECRET_KEY", "sk_test_x")]).expect_err("partial").contains("STRIPE"));
        assert!(settings(&[("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", "0,x")]).expect_err("bad").contains("SCHEDULE"));
        assert!(settings(&[("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "maybe")]).is_err());
        assert!(settings(&[("TABLEPAY_LOG_FORMAT", "xml")]).expect_err("format").contains("TABLEPAY_LOG_FORMAT"));
        assert!(settings(&[("TABLEPAY_GUEST_ORIGIN", "http://")]).is_err());
        assert!(settings(&[("TABLEPAY_GUEST_ORIGIN", "https://pay.example.com/path")]).is_err());
        assert!(settings(&[("TABLEPAY_GUEST_ORIGIN", "https://pay.example.com/")]).is_ok());
    }

    #[test]
    fn retry_schedule() {
        let default = settings(&[]).expect("valid").webhooks.retry_schedule;
        assert_eq!(default.len(), 8);
        assert_eq!(default[2], std::time::Duration::from_secs(300));
        let fast = settings(&[("TABLEPAY_WEBHOOK_RETRY_SCHEDULE", "0,1,1")]).expect("valid").webhooks.retry_schedule;
        assert_eq!(
            fast,
            vec![std::time::Duration::ZERO, std::time::Duration::from_secs(1), std::time::Duration::from_secs(1)]
        );
    }
}
