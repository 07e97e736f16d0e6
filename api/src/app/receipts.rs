//! Use case: a guest's receipt for one payment, as data or as a printable page. Each line
//! says in English what was paid (for printing) and the same as fields (for a page that
//! speaks the guest's language).

use serde::Serialize;
use tablepay_domain::ledger::SplitKind;
use tablepay_domain::{Currency, Fraction, MinorUnit, PaymentStatus};
use tablepay_store::Store;
use tablepay_store::bills::BillRecord;
use tablepay_store::rows::{Payment, PaymentItem, Venue};
use utoipa::ToSchema;

use crate::app::checkout::guest_payment;
use crate::app::{AppError, AppResult};
use crate::billing::{Timestamp, currency};

/// One line of a receipt: `name` and `detail` in English for printing, and what they say as
/// fields, for a page that speaks the guest's language.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    name: String,
    detail: String,
    amount: i64,
    /// The bill's line, for an items split.
    item_id: Option<String>,
    /// Whole units of the line, when the part is a whole number of them.
    units: Option<i64>,
    /// The part of the line otherwise (`1/2` of a shared dish; `1/1` the whole line).
    share: Option<Fraction>,
    /// `count` of `parts` equal shares, for an equal split.
    equal: Option<EqualShares>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EqualShares {
    count: i32,
    parts: i32,
}

impl ReceiptLine {
    /// A line for a part of the bill as a whole (no item of it).
    fn whole(amount: i64) -> ReceiptLine {
        ReceiptLine {
            name: String::new(),
            detail: String::new(),
            amount,
            item_id: None,
            units: None,
            share: None,
            equal: None,
        }
    }

    /// The line for one item part, named after the bill's line.
    fn item(part: &PaymentItem, record: &BillRecord) -> ReceiptLine {
        let item = record.items.iter().find(|i| i.id == part.item_id);
        let name = item.map_or_else(|| "Item".to_owned(), |i| i.name.clone());
        // Fractions are stored reduced: 2 of 4 beers is 1/2 of the line.
        let units = item
            .map(|i| i128::from(part.fraction_num) * i128::from(i.quantity))
            .filter(|u| u % i128::from(part.fraction_den) == 0);
        let units = units.map(|u| (u / i128::from(part.fraction_den)) as i64);
        let detail = match units {
            Some(u) => format!("{u} × {name}"),
            None if part.fraction_num == part.fraction_den => "whole item".to_owned(),
            None => format!("{}/{} share", part.fraction_num, part.fraction_den),
        };
        ReceiptLine {
            name,
            detail,
            amount: part.amount,
            item_id: Some(part.item_id.clone()),
            units,
            share: units.is_none().then_some(Fraction { num: part.fraction_num, den: part.fraction_den }),
            equal: None,
        }
    }
}

/// A payment's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    payment_id: String,
    status: PaymentStatus,
    venue: String,
    table: String,
    bill_id: String,
    currency: String,
    split_type: SplitKind,
    lines: Vec<ReceiptLine>,
    amount: i64,
    tip_amount: i64,
    total_amount: i64,
    refunded_amount: i64,
    /// The amounts include tax, whether the venue's prices do or tax was added.
    tax_included: bool,
    paid_at: Option<Timestamp>,
}

/// The receipt of a payment of the table behind `qr_token`, with the venue whose currency
/// prints its amounts; 404 for a payment of another table.
pub async fn receipt(store: &Store, qr_token: String, payment_id: String) -> AppResult<(Receipt, Venue)> {
    let (table, venue, payment, parts, record) = store
        .run(move |conn| -> AppResult<_> {
            let (table, venue, payment, parts) = guest_payment(conn, &qr_token, &payment_id)?;
            let record = tablepay_store::bills::load(conn, &payment.bill_id)?.ok_or(AppError::NotFound("bill"))?;
            Ok((table, venue, payment, parts, record))
        })
        .await?;
    let receipt = Receipt {
        lines: lines(&payment, &parts, &record),
        payment_id: payment.id,
        status: payment.status,
        venue: venue.name.clone(),
        table: table.label,
        bill_id: payment.bill_id,
        currency: payment.currency,
        split_type: payment.split_type,
        amount: payment.amount,
        tip_amount: payment.tip_amount,
        total_amount: payment.amount + payment.tip_amount,
        refunded_amount: payment.refunded_amount,
        tax_included: true,
        paid_at: payment.succeeded_at.map(Timestamp),
    };
    Ok((receipt, venue))
}

/// What the payment paid, line by line, as its split describes it.
fn lines(payment: &Payment, parts: &[PaymentItem], record: &BillRecord) -> Vec<ReceiptLine> {
    match payment.split_type {
        SplitKind::Items => parts.iter().map(|part| ReceiptLine::item(part, record)).collect(),
        SplitKind::Equal => {
            let (count, parts) = (payment.equal_count.unwrap_or(1), payment.equal_parts.unwrap_or(1));
            vec![ReceiptLine {
                name: "Equal share of the bill".into(),
                detail: format!("{count} of {parts} shares"),
                equal: Some(EqualShares { count, parts }),
                ..ReceiptLine::whole(payment.amount)
            }]
        }
        SplitKind::Remaining => vec![ReceiptLine {
            name: "Remaining balance".into(),
            detail: "the rest of the bill".into(),
            ..ReceiptLine::whole(payment.amount)
        }],
        SplitKind::Amount => vec![ReceiptLine {
            name: "Part of the bill".into(),
            detail: "custom amount".into(),
            ..ReceiptLine::whole(payment.amount)
        }],
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The receipt as a printable page, amounts in the venue's currency.
pub fn html(receipt: &Receipt, venue: &Venue) -> AppResult<String> {
    Ok(page(receipt, currency(venue)?))
}

fn page(r: &Receipt, currency: Currency) -> String {
    let money = |v: i64| escape(&currency.format(MinorUnit(v)));
    let rows: String = r
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}<br><small>{}</small></td><td class=\"n\">{}</td></tr>",
                escape(&l.name),
                escape(&l.detail),
                money(l.amount)
            )
        })
        .collect();
    let paid = r
        .paid_at
        .map(|t| t.0.and_utc().format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| r.status.to_string());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Receipt — {venue}</title><style>body{{font:16px/1.4 system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#111}}\
table{{width:100%;border-collapse:collapse}}td{{padding:.4rem 0;border-bottom:1px solid #ddd;vertical-align:top}}.n{{text-align:right;white-space:nowrap}}\
tfoot td{{font-weight:600;border:0}}small{{color:#555}}@media print{{body{{margin:0}}}}</style></head><body>\
<h1>{venue}</h1><p>Table {table} · {paid}</p><table><tbody>{rows}</tbody><tfoot>\
<tr><td>Subtotal</td><td class=\"n\">{amount}</td></tr><tr><td>Tip</td><td class=\"n\">{tip}</td></tr>\
<tr><td>Total charged</td><td class=\"n\">{total}</td></tr></tfoot></table>\
<p><small>Amounts include tax. Payment {id} · status {status}.</small></p></body></html>",
        venue = escape(&r.venue),
        table = escape(&r.table),
        paid = escape(&paid),
        rows = rows,
        amount = money(r.amount),
        tip = money(r.tip_amount),
        total = money(r.total_amount),
        id = escape(&r.payment_id),
        status = escape(r.status.as_str()),
    )
}
