//! E-mailed receipts: a guest asks for her receipt by e-mail; the request queues it in the
//! mail outbox (`emails`) in the transaction that gives the receipt its number, and the mail
//! worker sends it over SMTP, retrying on a schedule while the server is unreachable or
//! answers "try later", and giving up at once when it refuses the address for good.
//!
//! Each queued e-mail is sent by one process at a time (a lease, as for webhooks) and marked
//! sent as soon as the server took it, so one request is one e-mail. The one window left is a
//! process that dies after the server took the message and before it was marked: the e-mail
//! is then sent again, with the same `Message-ID`, which receiving systems use to drop it.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use tablepay_store::Store;
use tablepay_store::issued::mail::{self as outbox, Attempted};
use tablepay_store::rows::Email;
use tokio::sync::{Notify, watch};
use utoipa::ToSchema;

use crate::app::error::Code;
use crate::app::locale::Lang;
use crate::app::receipts;
use crate::app::{AppError, AppResult};
use crate::billing::Timestamp;
use crate::settings::MailSettings;

/// A lease far longer than one attempt (a handful of SMTP commands, each within the timeout):
/// one e-mail is claimed at a time, so a lease never runs out while its e-mail waits its turn.
const LEASE: Duration = Duration::from_secs(600);
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The shortest wait between two claims that found nothing to do or failed.
const IDLE: Duration = Duration::from_millis(50);
/// E-mails of one receipt a table may ask for: enough for everyone at it, too few to use the
/// venue's mail server for anything else.
const MAX_PER_RECEIPT: i64 = 10;
/// The longest address SMTP carries (RFC 5321).
const MAX_ADDRESS: usize = 254;

/// Whether `url` is an SMTP URL lettre can connect with.
pub fn check_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map(|_| ()).map_err(|e| e.to_string())
}

/// Whether `from` is a sender (`a@b.c` or `Name <a@b.c>`).
pub fn check_sender(from: &str) -> Result<(), String> {
    from.parse::<Mailbox>().map(|_| ()).map_err(|e| e.to_string())
}

/// A guest's e-mail address, checked: one address, at most 254 characters.
pub fn recipient(email: &str) -> AppResult<String> {
    let email = email.trim();
    // A mailbox on a named domain: no address literals ("[127.0.0.1]"), no dotless hosts.
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    let named = domain.contains('.') && !domain.starts_with('[') && !domain.ends_with('.');
    if email.is_empty() || email.len() > MAX_ADDRESS || !named || email.parse::<Address>().is_err() {
        return Err(AppError::invalid(format!(
            "email must be one e-mail address such as guest@example.com (at most {MAX_ADDRESS} characters)"
        )));
    }
    Ok(email.to_owned())
}

/// A queued e-mail as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    id: String,
    /// `pending` until the SMTP server took it (`sent`), or gave up (`failed`).
    status: String,
    email: String,
    created_at: Timestamp,
}

impl EmailView {
    fn of(email: &Email) -> EmailView {
        EmailView {
            id: email.id.clone(),
            status: email.status.clone(),
            email: email.recipient.clone(),
            created_at: Timestamp(email.created_at),
        }
    }
}

/// What a guest asks to e-mail.
#[derive(Debug)]
pub struct EmailRequest {
    pub qr_token: String,
    pub payment_id: String,
    pub email: String,
    pub lang: Lang,
    /// The request's `Idempotency-Key`: the same key finds the e-mail it queued.
    pub key: Option<String>,
}

/// Queues the receipt of a paid payment of the table behind `qr_token` to `email`, in `lang`.
/// The same address asked again while its e-mail waits gets that e-mail, not a second one; so
/// does a request sent again with its `Idempotency-Key`. 503 `email_unavailable` when no SMTP
/// server is set up; 409 `payment_not_paid` for a payment not paid; 409 `conflict` past
/// [`MAX_PER_RECEIPT`] e-mails of one receipt.
pub async fn email_receipt(
    store: &Store,
    mail: Option<&MailSettings>,
    wake: &Notify,
    request: EmailRequest,
) -> AppResult<EmailView> {
    let EmailRequest { qr_token, payment_id, email, lang, key } = request;
    if mail.is_none() {
        return Err(AppError::Unavailable(
            Code::EmailUnavailable,
            "receipts cannot be e-mailed here: no SMTP server is set up (TABLEPAY_SMTP_URL)".into(),
        ));
    }
    let paid = receipts::load(store, qr_token, payment_id).await?;
    if !paid.payment.status.captured() {
        return Err(AppError::conflict(
            Code::PaymentNotPaid,
            format!("only a paid payment's receipt is e-mailed; this one is {}", paid.payment.status),
        ));
    }
    let now = tablepay_store::now();
    let body = receipts::Paper::of(&paid)?.body()?;
    let row = Email {
        id: tablepay_store::new_id(),
        venue_id: paid.venue.id.clone(),
        payment_id: paid.payment.id.clone(),
        recipient: email,
        lang: lang.code().to_owned(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        locked_until: None,
        lock_token: None,
        last_error: None,
        created_at: now,
        sent_at: None,
        request_key: key,
    };
    let queued = store
        .write(move |conn| -> AppResult<Email> {
            receipts::issue_in(conn, &row.venue_id, &row.payment_id, &body)?;
            if let Some(key) = &row.request_key
                && let Some(queued) = outbox::by_request_key(conn, &row.payment_id, key)?
            {
                return Ok(queued);
            }
            if let Some(waiting) = outbox::pending_to(conn, &row.payment_id, &row.recipient)? {
                return Ok(waiting);
            }
            if outbox::count_of_payment(conn, &row.payment_id)? >= MAX_PER_RECEIPT {
                return Err(AppError::conflict(
                    Code::Conflict,
                    format!(
                        "this receipt was e-mailed {MAX_PER_RECEIPT} times already; ask a server for a printed copy"
                    ),
                ));
            }
            outbox::enqueue(conn, &row)?;
            Ok(row)
        })
        .await?;
    wake.notify_one();
    Ok(EmailView::of(&queued))
}

/// Sends queued receipts until `shutdown` turns true. Woken when this process queues one, with
/// a poll for those other processes queue and for retries.
pub async fn worker(
    store: Store,
    settings: MailSettings,
    poll: Duration,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url) {
        Ok(builder) => builder.timeout(Some(SMTP_TIMEOUT)).build(),
        Err(e) => {
            tracing::error!(error = %e, "cannot use TABLEPAY_SMTP_URL; receipts are not e-mailed");
            return;
        }
    };
    let Ok(from) = settings.from.parse::<Mailbox>() else {
        tracing::error!("TABLEPAY_MAIL_FROM is not an address; receipts are not e-mailed");
        return;
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        let token = tablepay_store::new_id();
        let now = tablepay_store::now();
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let claim_token = token.clone();
        let claimed = store.write(move |conn| outbox::claim_due(conn, now, 1, &claim_token, until)).await;
        let wait = match claimed {
            Ok(claimed) if !claimed.is_empty() => {
                for email in &claimed {
                    let outcome = send(&store, &transport, &from, email).await;
                    record(&store, &settings, email, &token, outcome).await;
                }
                continue;
            }
            Ok(_) => {
                let next = store.run(outbox::next_due).await.ok().flatten();
                next.map_or(poll, |at| (at - tablepay_store::now()).to_std().unwrap_or(Duration::ZERO).min(poll))
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim e-mails to send");
                poll
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(IDLE)) => {}
            _ = wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// What one attempt came to.
enum Sent {
    Taken,
    /// Try again later.
    Later(String),
    /// The server refused for good, or the receipt cannot be made.
    Never(String),
}

async fn send(store: &Store, transport: &AsyncSmtpTransport<Tokio1Executor>, from: &Mailbox, email: &Email) -> Sent {
    let message = match message(store, from, email).await {
        Ok(m) => m,
        // The database failed underneath: the receipt can be made later.
        Err(e @ AppError::Store(_)) => return Sent::Later(format!("the receipt cannot be read now: {e}")),
        Err(e) => return Sent::Never(format!("the receipt cannot be made: {e}")),
    };
    match transport.send(message).await {
        Ok(_) => Sent::Taken,
        Err(e) if e.is_permanent() => Sent::Never(format!("the SMTP server refused: {e}")),
        Err(e) => Sent::Later(format!("the SMTP server did not take it: {e}")),
    }
}

/// The receipt as an e-mail: text and HTML alternatives, with a `Message-ID` of its own.
async fn message(store: &Store, from: &Mailbox, email: &Email) -> AppResult<Message> {
    let paid = receipts::load_payment(store, email.payment_id.clone()).await?;
    let (number, paper) = receipts::issue(store, &paid).await?;
    let lang = Lang::of_tag(&email.lang).unwrap_or(Lang::En);
    let (receipt, venue) = receipts::of(paid, number, &paper, lang)?;
    let to: Mailbox =
        email.recipient.parse().map_err(|e| AppError::invalid(format!("the stored address is not one: {e}")))?;
    let sender = Mailbox::new(Some(venue.name.clone()), from.email.clone());
    Message::builder()
        .from(sender)
        .to(to)
        .subject(receipts::subject(&receipt))
        .message_id(Some(format!("<{}@tablepay>", email.id)))
        .multipart(MultiPart::alternative_plain_html(
            receipts::text(&receipt, &venue)?,
            receipts::html(&receipt, &venue)?,
        ))
        .map_err(|e| AppError::internal(format!("the e-mail cannot be built: {e}")))
}

/// Records an attempt. Once the server took the e-mail, recording it is retried for as long as
/// the lease lasts: an e-mail left unmarked would be sent again.
async fn record(store: &Store, settings: &MailSettings, email: &Email, token: &str, sent: Sent) {
    let taken = matches!(sent, Sent::Taken);
    let attempt = attempted(settings, email, sent);
    for wait in [0u64, 100, 500, 2_000, 10_000, 30_000, 60_000, 120_000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let (id, token, attempt) = (email.id.clone(), token.to_owned(), attempt.clone());
        let written = store
            .write(move |conn| {
                let (status, error, retry_at, at) = attempt;
                outbox::record(conn, &id, &token, &Attempted { status, error: error.as_deref(), retry_at, at })
            })
            .await;
        match written {
            Ok(true) => return,
            Ok(false) => {
                tracing::warn!(email = %email.id, "the e-mail's lease ran out before its attempt was recorded");
                return;
            }
            Err(e) if taken => {
                tracing::warn!(error = %e, email = %email.id, "cannot record a sent e-mail yet; retrying")
            }
            Err(e) => {
                // Not sent: the lease runs out and the e-mail is tried again.
                tracing::warn!(error = %e, email = %email.id, "cannot record an e-mail attempt");
                return;
            }
        }
    }
}

type Attempt = (&'static str, Option<String>, Option<NaiveDateTime>, NaiveDateTime);

/// What an attempt comes to: `sent`, `failed` for good, or `pending` again at a time.
fn attempted(settings: &MailSettings, email: &Email, sent: Sent) -> Attempt {
    let at = tablepay_store::now();
    let attempt = email.attempts as usize + 1;
    let (status, error, retry_at): (&'static str, Option<String>, Option<NaiveDateTime>) = match sent {
        Sent::Taken => ("sent", None, None),
        Sent::Never(e) => ("failed", Some(e), None),
        Sent::Later(e) => match settings.retry_schedule.get(attempt) {
            Some(delay) => ("pending", Some(e), Some(at + chrono::Duration::from_std(*delay).unwrap_or_default())),
            None => ("failed", Some(e), None),
        },
    };
    match status {
        "sent" => tracing::info!(email = %email.id, "receipt e-mailed"),
        "failed" => tracing::warn!(email = %email.id, error = ?error, "receipt not e-mailed; giving up"),
        _ => tracing::info!(email = %email.id, error = ?error, "receipt not e-mailed yet; will retry"),
    }
    (status, error, retry_at, at)
}
