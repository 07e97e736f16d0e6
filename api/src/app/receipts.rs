//! Use case: a guest's receipt for one payment, as data or as a printable page, in the
//! guest's language and the venue's local time. Every split is itemised: an items split lists
//! the guest's own lines and parts; any other split lists the bill's lines with the part this
//! payment paid of each, and says which share of the bill it was. A paid payment's receipt
//! carries a number, sequential per venue, given when its receipt is first issued.

use serde::{Deserialize, Serialize};
use tablepay_domain::ledger::SplitKind;
use tablepay_domain::tax::{self, RateTax};
use tablepay_domain::{Currency, Fraction, MinorUnit, PaymentStatus, RefundStatus};
use tablepay_store::Store;
use tablepay_store::bills::BillRecord;
use tablepay_store::rows::{BillItem, Payment, PaymentItem, Refund, Venue};
use utoipa::ToSchema;

use crate::app::checkout::guest_payment;
use crate::app::locale::{Lang, escape, fill};
use crate::app::{AppError, AppResult};
use crate::billing::{Timestamp, currency, price};

/// One line of a receipt, in the receipt's language: `amount` is what this payment paid of
/// it; the lines' amounts sum to the payment's `amount`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    name: String,
    detail: String,
    amount: i64,
    /// The bill's line.
    item_id: Option<String>,
    /// Whole units of the line, when the part is a whole number of them.
    units: Option<i64>,
    /// The part of the line otherwise (`1/2` of a shared dish; `1/1` the whole line).
    share: Option<Fraction>,
    /// What the whole line costs (tax, discounts and service charge included).
    line_amount: i64,
}

impl ReceiptLine {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn amount(&self) -> i64 {
        self.amount
    }
}

impl TaxLine {
    pub fn tax(&self) -> i64 {
        self.tax
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Which share of the bill the payment paid, in words and as its split states it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareOfBill {
    #[serde(rename = "type")]
    split_type: SplitKind,
    /// "Your items", "1 of 3 equal shares", "The rest of the bill", "The whole bill"…
    text: String,
    /// `count` of `parts` equal shares, for an equal split.
    count: Option<i32>,
    parts: Option<i32>,
}

/// Tax at one rate contained in what the payment paid.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxLine {
    rate_bps: u32,
    /// What was paid of lines taxed at this rate, tax included.
    base: i64,
    tax: i64,
    /// "incl. VAT 20 % on 23.80 EUR".
    text: String,
}

/// A refund of the payment that went through.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundLine {
    amount: i64,
    at: Timestamp,
    /// The time in the venue's time zone, as the receipt's language writes it.
    at_local: String,
}

/// A payment's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    payment_id: String,
    /// Sequential per venue; given when a paid payment's receipt is first issued, `null` for a
    /// payment that was not paid.
    number: Option<i64>,
    language: Lang,
    status: PaymentStatus,
    /// The status in words ("Paid, partly refunded").
    status_label: String,
    venue: String,
    legal_name: Option<String>,
    address: Option<String>,
    vat_id: Option<String>,
    /// The table as people name it ("Table 2").
    table: String,
    bill_id: String,
    currency: String,
    split_type: SplitKind,
    share: ShareOfBill,
    lines: Vec<ReceiptLine>,
    /// The tax the payment's `amount` contains, rate by rate.
    taxes: Vec<TaxLine>,
    amount: i64,
    tip_amount: i64,
    total_amount: i64,
    refunded_amount: i64,
    refunds: Vec<RefundLine>,
    /// The amounts include tax, whether the venue's prices do or tax was added.
    tax_included: bool,
    paid_at: Option<Timestamp>,
    /// `paid_at` in the venue's time zone, as the receipt's language writes it.
    paid_at_local: Option<String>,
    timezone: String,
}

/// What a payment paid, line by line, with the tax it contains: the body of its receipt and
/// of its invoice.
#[derive(Debug, Clone)]
pub struct Itemised {
    pub lines: Vec<ReceiptLine>,
    pub taxes: Vec<TaxLine>,
    pub share: ShareOfBill,
}

/// A payment of the table behind `qr_token` with what its documents need: 404 for a payment
/// of another table.
pub struct Paid {
    pub table_label: String,
    pub venue: Venue,
    pub payment: Payment,
    pub parts: Vec<PaymentItem>,
    pub record: BillRecord,
    pub refunds: Vec<Refund>,
}

pub async fn load(store: &Store, qr_token: String, payment_id: String) -> AppResult<Paid> {
    store
        .run(move |conn| -> AppResult<_> {
            let (_, _, payment, parts) = guest_payment(conn, &qr_token, &payment_id)?;
            gather(conn, payment, parts)
        })
        .await
}

/// A payment known to exist (the mail worker's), with what its documents need.
pub async fn load_payment(store: &Store, payment_id: String) -> AppResult<Paid> {
    store
        .run(move |conn| -> AppResult<_> {
            let (payment, parts) =
                tablepay_store::payments::with_parts(conn, &payment_id)?.ok_or(AppError::NotFound("payment"))?;
            gather(conn, payment, parts)
        })
        .await
}

fn gather(conn: &mut tablepay_store::DbConn, payment: Payment, parts: Vec<PaymentItem>) -> AppResult<Paid> {
    let record = tablepay_store::bills::load(conn, &payment.bill_id)?.ok_or(AppError::NotFound("bill"))?;
    let refunds = tablepay_store::refunds::of_payment(conn, &payment.id)?;
    Ok(Paid { table_label: record.table.label.clone(), venue: record.venue.clone(), payment, parts, record, refunds })
}

/// What a payment paid, line by line, in no language. It is computed from the bill and stored
/// with the receipt's number when the receipt is first issued, so a numbered receipt never
/// changes: not when other guests pay later, nor when staff discount or void a line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paper {
    lines: Vec<PaperLine>,
    taxes: Vec<PaperTax>,
    /// The payment paid the whole bill.
    whole: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PaperLine {
    item_id: Option<String>,
    name: String,
    quantity: i64,
    unit_price: i64,
    /// What the payment paid of the line.
    amount: i64,
    line_amount: i64,
    /// Whole units of the line paid, when they are whole; the part of it otherwise.
    units: Option<i64>,
    share: Option<Fraction>,
    /// The guest's own item part (an items split), rather than a share of a bill line.
    own: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PaperTax {
    rate_bps: u32,
    base: i64,
    tax: i64,
}

impl Paper {
    /// What the payment paid of the bill as it stands now.
    pub fn of(paid: &Paid) -> AppResult<Paper> {
        let (payment, record) = (&paid.payment, &paid.record);
        let priced = price(&record.venue, &record.items, &record.adjustment_lines)?;
        let active: Vec<&BillItem> = record.items.iter().filter(|i| i.status.is_active()).collect();
        let overflow = |_| AppError::internal("a receipt's sums overflowed");
        let mut of_line = vec![MinorUnit::ZERO; active.len()];
        let lines: Vec<PaperLine> = if payment.split_type == SplitKind::Items {
            let mut lines = Vec::with_capacity(paid.parts.len());
            for part in &paid.parts {
                let at = active.iter().position(|i| i.id == part.item_id);
                if let Some(at) = at {
                    of_line[at] = of_line[at].checked_add(MinorUnit(part.amount)).map_err(overflow)?;
                }
                let item = record.items.iter().find(|i| i.id == part.item_id);
                let line_amount = at.map_or(part.amount, |at| priced.lines[at].amount.get());
                lines.push(PaperLine::part(part, item, line_amount));
            }
            lines
        } else {
            // The share is spread over what of each line other guests' items did not take.
            let others: Vec<&str> = record
                .payments
                .iter()
                .filter(|p| p.id != payment.id && p.status.takes_part())
                .map(|p| p.id.as_str())
                .collect();
            let open: Vec<i64> = active
                .iter()
                .zip(&priced.lines)
                .map(|(item, line)| {
                    let taken: i64 = record
                        .parts
                        .iter()
                        .filter(|p| p.item_id == item.id && others.contains(&p.payment_id.as_str()))
                        .map(|p| p.amount)
                        .sum();
                    (line.amount.get() - taken).max(0)
                })
                .collect();
            // Spread over the open lines while they can hold the share, else over whole lines.
            let weights = if open.iter().sum::<i64>() >= payment.amount {
                open
            } else {
                priced.lines.iter().map(|l| l.amount.get()).collect()
            };
            if !weights.is_empty() {
                of_line = tablepay_domain::allocate(MinorUnit(payment.amount), &weights).map_err(overflow)?;
            }
            active
                .iter()
                .zip(&priced.lines)
                .zip(&of_line)
                .filter(|(_, part)| part.get() > 0)
                .map(|((item, line), part)| PaperLine {
                    item_id: Some(item.id.clone()),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                    amount: part.get(),
                    line_amount: line.amount.get(),
                    units: (*part == line.amount).then_some(item.quantity),
                    share: None,
                    own: false,
                })
                .collect()
        };
        let taxes = tax::tax_in(&priced, &of_line)
            .map_err(overflow)?
            .into_iter()
            .filter(|t: &RateTax| t.base.get() > 0)
            .map(|t| PaperTax { rate_bps: t.rate_bps, base: t.base.get(), tax: t.tax.get() })
            .collect();
        Ok(Paper { lines, taxes, whole: payment.amount == priced.total.get() && payment.amount > 0 })
    }

    /// The paper as stored with the receipt's number.
    pub fn body(&self) -> AppResult<String> {
        serde_json::to_string(self).map_err(|e| AppError::internal(format!("receipt body: {e}")))
    }

    fn read(body: &str) -> AppResult<Paper> {
        serde_json::from_str(body).map_err(|e| AppError::internal(format!("stored receipt body: {e}")))
    }

    /// The paper in `lang`, amounts in `money`, for `payment`'s split.
    pub fn words(&self, payment: &Payment, lang: Lang, money: Currency) -> Itemised {
        let words = lang.words();
        let lines = self.lines.iter().map(|l| l.words(lang, money)).collect();
        let taxes = self
            .taxes
            .iter()
            .map(|t| TaxLine {
                rate_bps: t.rate_bps,
                base: t.base,
                tax: t.tax,
                text: fill(
                    words.tax_of_rate,
                    &[("rate", &lang.rate(t.rate_bps)), ("base", &lang.money(money, MinorUnit(t.base)))],
                ),
            })
            .collect();
        let (count, parts) = match payment.split_type {
            SplitKind::Equal => (Some(payment.equal_count.unwrap_or(1)), Some(payment.equal_parts.unwrap_or(1))),
            _ => (None, None),
        };
        let text = match payment.split_type {
            SplitKind::Items => words.your_items.to_owned(),
            SplitKind::Equal => fill(
                words.equal_shares,
                &[("k", &count.unwrap_or(1).to_string()), ("n", &parts.unwrap_or(1).to_string())],
            ),
            SplitKind::Remaining | SplitKind::Amount if self.whole => words.whole_bill.to_owned(),
            SplitKind::Remaining => words.rest_of_bill.to_owned(),
            SplitKind::Amount => words.custom_amount.to_owned(),
        };
        Itemised { lines, taxes, share: ShareOfBill { split_type: payment.split_type, text, count, parts } }
    }
}

impl PaperLine {
    /// The guest's own part of a line, named after the bill's line.
    fn part(part: &PaymentItem, item: Option<&BillItem>, line_amount: i64) -> PaperLine {
        // Fractions are stored reduced: 2 of 4 beers is 1/2 of the line.
        let units = item
            .map(|i| i128::from(part.fraction_num) * i128::from(i.quantity))
            .filter(|u| u % i128::from(part.fraction_den) == 0)
            .map(|u| (u / i128::from(part.fraction_den)) as i64);
        PaperLine {
            item_id: Some(part.item_id.clone()),
            name: item.map_or_else(|| "–".to_owned(), |i| i.name.clone()),
            quantity: item.map_or(1, |i| i.quantity),
            unit_price: item.map_or(0, |i| i.unit_price),
            amount: part.amount,
            line_amount,
            units,
            share: units.is_none().then_some(Fraction { num: part.fraction_num, den: part.fraction_den }),
            own: true,
        }
    }

    fn words(&self, lang: Lang, money: Currency) -> ReceiptLine {
        let words = lang.words();
        let detail = if self.own {
            match (self.units, self.share) {
                (Some(u), _) => format!("{u} × {}", self.name),
                (None, Some(f)) if f.num == f.den => words.whole_item.to_owned(),
                (None, Some(f)) => fill(words.share_of_item, &[("n", &f.num.to_string()), ("d", &f.den.to_string())]),
                (None, None) => words.whole_item.to_owned(),
            }
        } else {
            let mut detail = format!("{} × {}", self.quantity, lang.money(money, MinorUnit(self.unit_price)));
            if self.amount != self.line_amount {
                detail.push_str(" · ");
                detail.push_str(&fill(
                    words.part_of_line,
                    &[("amount", &lang.money(money, MinorUnit(self.line_amount)))],
                ));
            }
            detail
        };
        ReceiptLine {
            name: self.name.clone(),
            detail,
            amount: self.amount,
            item_id: self.item_id.clone(),
            units: self.units,
            share: self.share,
            line_amount: self.line_amount,
        }
    }
}

/// A payment's receipt number and what it itemises: as issued the first time, or (a paid
/// payment's first time) the venue's next number and the bill as it stands, stored now. An
/// unpaid payment's receipt has no number and follows the bill.
pub async fn issue(store: &Store, paid: &Paid) -> AppResult<(Option<i64>, Paper)> {
    if !paid.payment.status.captured() {
        return Ok((None, Paper::of(paid)?));
    }
    let payment_id = paid.payment.id.clone();
    if let Some((number, body)) = store.run(move |conn| tablepay_store::issued::receipt_of(conn, &payment_id)).await? {
        return Ok((Some(number), Paper::read(&body)?));
    }
    let body = Paper::of(paid)?.body()?;
    let (venue_id, payment_id) = (paid.venue.id.clone(), paid.payment.id.clone());
    let (number, body) = store
        .write(move |conn| {
            tablepay_store::issued::number_receipt(conn, &venue_id, &payment_id, &body, tablepay_store::now())
        })
        .await?;
    Ok((Some(number), Paper::read(&body)?))
}

/// Issues the receipt of a paid payment in a write transaction the caller runs (the e-mail's):
/// its number, taken now with `body` unless it was issued before.
pub fn issue_in(conn: &mut tablepay_store::DbConn, venue_id: &str, payment_id: &str, body: &str) -> AppResult<i64> {
    let (number, _) = tablepay_store::issued::number_receipt(conn, venue_id, payment_id, body, tablepay_store::now())?;
    Ok(number)
}

/// The receipt of a payment of the table behind `qr_token`, in `lang`, with the venue whose
/// currency prints its amounts; 404 for a payment of another table.
pub async fn receipt(store: &Store, qr_token: String, payment_id: String, lang: Lang) -> AppResult<(Receipt, Venue)> {
    let paid = load(store, qr_token, payment_id).await?;
    let (number, paper) = issue(store, &paid).await?;
    of(paid, number, &paper, lang)
}

/// The receipt of a loaded payment, numbered `number`, itemising `paper`, in `lang`.
pub fn of(paid: Paid, number: Option<i64>, paper: &Paper, lang: Lang) -> AppResult<(Receipt, Venue)> {
    let money = currency(&paid.venue)?;
    let Itemised { lines, taxes, share } = paper.words(&paid.payment, lang, money);
    let timezone = paid.venue.timezone.clone();
    let refunds = paid
        .refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
        .map(|r| {
            let at = r.decided_at.unwrap_or(r.created_at);
            RefundLine { amount: r.amount, at: Timestamp(at), at_local: lang.local_time(&timezone, at) }
        })
        .collect();
    let Paid { table_label, venue, payment, .. } = paid;
    let receipt = Receipt {
        number,
        language: lang,
        status_label: lang.status(payment.status).to_owned(),
        venue: venue.name.clone(),
        legal_name: venue.legal_name.clone(),
        address: venue.address.clone(),
        vat_id: venue.vat_id.clone(),
        table: lang.table(&table_label),
        bill_id: payment.bill_id.clone(),
        currency: payment.currency.clone(),
        split_type: payment.split_type,
        share,
        lines,
        taxes,
        amount: payment.amount,
        tip_amount: payment.tip_amount,
        total_amount: payment.amount + payment.tip_amount,
        refunded_amount: payment.refunded_amount,
        refunds,
        tax_included: true,
        paid_at: payment.succeeded_at.map(Timestamp),
        paid_at_local: payment.succeeded_at.map(|at| lang.local_time(&timezone, at)),
        timezone,
        payment_id: payment.id,
        status: payment.status,
    };
    Ok((receipt, venue))
}

/// One row of a printable document: a label with its detail below, and an amount (already
/// formatted and escaped) on the right.
pub fn row(label: &str, detail: &str, value: String, class: &str) -> String {
    let detail = if detail.is_empty() { String::new() } else { format!("<br><small>{}</small>", escape(detail)) };
    format!("<tr class=\"{class}\"><td>{}{detail}</td><td class=\"n\">{value}</td></tr>", escape(label))
}

/// The receipt as a printable page in its language, amounts in the venue's currency.
pub fn html(receipt: &Receipt, venue: &Venue) -> AppResult<String> {
    let money = currency(venue)?;
    let lang = receipt.language;
    let words = lang.words();
    let amount = |v: i64| escape(&lang.money(money, MinorUnit(v)));
    let lines: String = receipt.lines.iter().map(|l| row(&l.name, &l.detail, amount(l.amount), "")).collect();
    let mut totals = row(words.your_part, &receipt.share.text, amount(receipt.amount), "sum");
    totals.extend(receipt.taxes.iter().map(|t| row(&t.text, "", amount(t.tax), "tax")));
    if receipt.tip_amount > 0 {
        totals.push_str(&row(words.tip, "", amount(receipt.tip_amount), ""));
    }
    totals.push_str(&row(words.total_charged, "", amount(receipt.total_amount), "grand"));
    for refund in &receipt.refunds {
        totals.push_str(&row(&fill(words.refund, &[("time", &refund.at_local)]), "", amount(-refund.amount), ""));
    }
    if receipt.refunded_amount > 0 {
        totals.push_str(&row(words.net_charged, "", amount(receipt.total_amount - receipt.refunded_amount), "grand"));
    }
    let number = match receipt.number {
        Some(n) => fill(words.receipt_number, &[("n", &n.to_string())]),
        None => words.receipt_unnumbered.to_owned(),
    };
    let when = receipt.paid_at_local.as_deref().map(|t| fill(words.paid_on, &[("time", t)]));
    let meta = [Some(receipt.table.clone()), when].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    let body = format!(
        "<header>{seller}<p class=\"no\">{number}</p></header><p>{meta}</p>\
<table><tbody>{lines}</tbody><tfoot>{totals}</tfoot></table>\
<p><small>{included} {payment} · {status}</small></p>",
        seller = seller(&receipt.venue, &receipt.legal_name, &receipt.address, &receipt.vat_id, lang),
        number = escape(&number),
        meta = escape(&meta),
        included = escape(words.amounts_include_tax),
        payment = escape(&fill(words.payment, &[("id", &receipt.payment_id)])),
        status = escape(&receipt.status_label),
    );
    Ok(document(lang, &format!("{} — {}", words.receipt, receipt.venue), &body))
}

/// The venue as a document's header names it: trading name, legal name, address, VAT id.
pub fn seller(
    name: &str,
    legal: &Option<String>,
    address: &Option<String>,
    vat_id: &Option<String>,
    lang: Lang,
) -> String {
    let mut html = format!("<h1>{}</h1>", escape(name));
    let mut lines = Vec::new();
    if let Some(legal) = legal.as_deref().filter(|l| *l != name) {
        lines.push(escape(legal));
    }
    if let Some(address) = address {
        lines.extend(address.lines().map(escape));
    }
    if let Some(vat_id) = vat_id {
        lines.push(format!("{} {}", escape(lang.words().vat_id), escape(vat_id)));
    }
    if !lines.is_empty() {
        html.push_str(&format!("<p class=\"seller\">{}</p>", lines.join("<br>")));
    }
    html
}

/// A printable page: one column, black on white on paper, readable at 390 px.
pub fn document(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{title}</title><style>:root{{color-scheme:light dark}}body{{font:16px/1.4 system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fff}}\
table{{width:100%;border-collapse:collapse}}td{{padding:.4rem 0;border-bottom:1px solid #ddd;vertical-align:top}}.n{{text-align:right;white-space:nowrap;padding-left:1rem}}\
tfoot td{{border:0;padding:.2rem 0}}tfoot .grand td,tfoot .sum td{{font-weight:600}}.tax td{{color:#444;font-size:.9rem}}small,.seller{{color:#444}}h1{{margin:0 0 .3rem;font-size:1.5rem}}\
.no{{font-weight:600}}@media (prefers-color-scheme:dark){{body{{color:#eee;background:#111}}td{{border-color:#444}}small,.seller,.tax td{{color:#bbb}}}}\
@media print{{body{{margin:0;color:#000;background:#fff}}}}</style></head><body>{body}</body></html>",
        lang = lang.code(),
        title = escape(title),
    )
}

/// The receipt as plain text, for the e-mail's text part: the same lines as the page.
pub fn text(receipt: &Receipt, venue: &Venue) -> AppResult<String> {
    let money = currency(venue)?;
    let lang = receipt.language;
    let words = lang.words();
    let amount = |v: i64| lang.money(money, MinorUnit(v));
    let mut out = vec![receipt.venue.clone()];
    out.extend(receipt.legal_name.iter().filter(|l| **l != receipt.venue).cloned());
    out.extend(receipt.address.iter().flat_map(|a| a.lines().map(str::to_owned)));
    out.extend(receipt.vat_id.iter().map(|v| format!("{} {v}", words.vat_id)));
    out.push(String::new());
    out.push(match receipt.number {
        Some(n) => fill(words.receipt_number, &[("n", &n.to_string())]),
        None => words.receipt_unnumbered.to_owned(),
    });
    out.push(receipt.table.clone());
    out.extend(receipt.paid_at_local.as_deref().map(|t| fill(words.paid_on, &[("time", t)])));
    out.push(String::new());
    for line in &receipt.lines {
        out.push(format!("{}  {}", line.name, amount(line.amount)));
        out.push(format!("  {}", line.detail));
    }
    out.push(String::new());
    out.push(format!("{} ({})  {}", words.your_part, receipt.share.text, amount(receipt.amount)));
    out.extend(receipt.taxes.iter().map(|t| format!("  {}  {}", t.text, amount(t.tax))));
    if receipt.tip_amount > 0 {
        out.push(format!("{}  {}", words.tip, amount(receipt.tip_amount)));
    }
    out.push(format!("{}  {}", words.total_charged, amount(receipt.total_amount)));
    for refund in &receipt.refunds {
        out.push(format!("{}  {}", fill(words.refund, &[("time", &refund.at_local)]), amount(-refund.amount)));
    }
    if receipt.refunded_amount > 0 {
        out.push(format!("{}  {}", words.net_charged, amount(receipt.total_amount - receipt.refunded_amount)));
    }
    out.push(String::new());
    out.push(format!(
        "{} {} · {}",
        words.amounts_include_tax,
        fill(words.payment, &[("id", &receipt.payment_id)]),
        receipt.status_label
    ));
    Ok(out.join("\r\n"))
}

/// The e-mail's subject: "Receipt no. 12 — Chez Marcel".
pub fn subject(receipt: &Receipt) -> String {
    let words = receipt.language.words();
    match receipt.number {
        Some(n) => format!("{} — {}", fill(words.receipt_number, &[("n", &n.to_string())]), receipt.venue),
        None => format!("{} — {}", words.receipt, receipt.venue),
    }
}
