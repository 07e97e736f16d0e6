//! Use case: an invoice of a paid payment to a company, for a business meal. Invoices of a
//! venue are numbered in one gap-free sequence; the invoice is stored as issued (lines, tax,
//! total), so asking again with the same company returns the same invoice whatever happened to
//! the bill since. A payment is invoiced once: another company gets 409.

use serde::{Deserialize, Serialize};
use tablepay_domain::{MinorUnit, PaymentStatus};
use tablepay_store::Store;
use tablepay_store::issued::{self, Issued};
use tablepay_store::rows::Invoice;
use utoipa::ToSchema;

use crate::app::error::Code;
use crate::app::locale::{Lang, escape, fill};
use crate::app::receipts::{self, Itemised, ReceiptLine, TaxLine, document, row, seller};
use crate::app::{AppError, AppResult};
use crate::billing::{Timestamp, currency};

/// Whom the invoice is made out to, each field already checked as text.
#[derive(Debug, Clone)]
pub struct InvoiceRequest {
    pub company_name: String,
    pub address: String,
    pub vat_id: Option<String>,
}

/// The venue issuing the invoice, as printed on it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Seller {
    name: String,
    legal_name: Option<String>,
    address: Option<String>,
    vat_id: Option<String>,
}

/// What an invoice says, stored as issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Body {
    language: Lang,
    seller: Seller,
    currency: String,
    lines: Vec<ReceiptLine>,
    taxes: Vec<TaxLine>,
    amount: i64,
    tip_amount: i64,
    timezone: String,
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Lang, D::Error> {
        let tag = String::deserialize(deserializer)?;
        Lang::of_tag(&tag).ok_or_else(|| serde::de::Error::custom(format!("unknown language {tag}")))
    }
}

/// An invoice as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    id: String,
    /// In the venue's one gap-free sequence of invoices: 1, 2, 3…
    number: i64,
    payment_id: String,
    company_name: String,
    address: String,
    vat_id: Option<String>,
    seller: Seller,
    language: Lang,
    currency: String,
    /// What the payment paid, line by line (tax included).
    lines: Vec<ReceiptLine>,
    /// The tax contained, rate by rate.
    taxes: Vec<TaxLine>,
    /// All the tax the invoice contains.
    tax: i64,
    /// The bill's part paid, excluding tax.
    net_amount: i64,
    /// The bill's part paid, tax included.
    amount: i64,
    /// The tip (no tax).
    tip_amount: i64,
    /// What the company paid: `amount + tip_amount`.
    total: i64,
    issued_at: Timestamp,
    /// `issued_at` in the venue's time zone.
    issued_at_local: String,
}

/// The invoice of a payment of the table behind `qr_token` to `to`: issued now with the
/// venue's next number, or the one issued before to the same company. 409 `payment_not_paid`
/// for a payment that is not paid (or was refunded in full), 409 `conflict` when the payment
/// was invoiced to another company.
pub async fn invoice(
    store: &Store,
    qr_token: String,
    payment_id: String,
    to: InvoiceRequest,
    lang: Lang,
) -> AppResult<InvoiceView> {
    let paid = receipts::load(store, qr_token, payment_id).await?;
    if let Some(existing) = {
        let id = paid.payment.id.clone();
        store.run(move |conn| issued::invoice_of_payment(conn, &id)).await?
    } {
        return same(existing, &to);
    }
    invoiceable(paid.payment.status)?;
    // The receipt is issued first: an invoiced payment has a receipt too, and the invoice
    // itemises what it does.
    let (_, paper) = receipts::issue(store, &paid).await?;
    let Itemised { lines, taxes, .. } = paper.words(&paid.payment, lang, currency(&paid.venue)?);
    let venue = &paid.venue;
    let body = Body {
        language: lang,
        seller: Seller {
            name: venue.name.clone(),
            legal_name: venue.legal_name.clone(),
            address: venue.address.clone(),
            vat_id: venue.vat_id.clone(),
        },
        currency: paid.payment.currency.clone(),
        lines,
        taxes,
        amount: paid.payment.amount,
        tip_amount: paid.payment.tip_amount,
        timezone: venue.timezone.clone(),
    };
    let row = Invoice {
        id: tablepay_store::new_id(),
        venue_id: venue.id.clone(),
        payment_id: paid.payment.id.clone(),
        number: 0,
        company_name: to.company_name.clone(),
        address: to.address.clone(),
        vat_id: to.vat_id.clone(),
        body: serde_json::to_string(&body).map_err(|e| AppError::internal(format!("invoice body: {e}")))?,
        issued_at: tablepay_store::now(),
    };
    let issued = store
        .write(move |conn| -> AppResult<Issued> {
            // A refund in full may have landed since the payment was read.
            invoiceable(tablepay_store::payments::get(conn, &row.payment_id)?.status)?;
            Ok(issued::issue_invoice(conn, row)?)
        })
        .await?;
    match issued {
        Issued::New(invoice) => view(invoice),
        // Another request invoiced the payment meanwhile.
        Issued::Existing(invoice) => same(invoice, &to),
    }
}

/// A payment is invoiced while it is paid (a partial refund leaves it paid).
fn invoiceable(status: PaymentStatus) -> AppResult<()> {
    if matches!(status, PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded) {
        Ok(())
    } else {
        Err(AppError::conflict(Code::PaymentNotPaid, format!("only a paid payment is invoiced; this one is {status}")))
    }
}

/// The stored invoice if it was made out to the same company; 409 otherwise.
fn same(invoice: Invoice, to: &InvoiceRequest) -> AppResult<InvoiceView> {
    if invoice.company_name == to.company_name && invoice.address == to.address && invoice.vat_id == to.vat_id {
        view(invoice)
    } else {
        Err(AppError::conflict(
            Code::Conflict,
            format!(
                "this payment was already invoiced to another company (invoice {}); ask the venue to correct it",
                invoice.number
            ),
        ))
    }
}

fn view(invoice: Invoice) -> AppResult<InvoiceView> {
    let body: Body =
        serde_json::from_str(&invoice.body).map_err(|e| AppError::internal(format!("stored invoice body: {e}")))?;
    let tax: i64 = body.taxes.iter().map(|t| t.tax()).sum();
    Ok(InvoiceView {
        issued_at_local: body.language.local_time(&body.timezone, invoice.issued_at),
        id: invoice.id,
        number: invoice.number,
        payment_id: invoice.payment_id,
        company_name: invoice.company_name,
        address: invoice.address,
        vat_id: invoice.vat_id,
        seller: body.seller,
        language: body.language,
        currency: body.currency,
        lines: body.lines,
        taxes: body.taxes,
        tax,
        net_amount: body.amount - tax,
        amount: body.amount,
        tip_amount: body.tip_amount,
        total: body.amount + body.tip_amount,
        issued_at: Timestamp(invoice.issued_at),
    })
}

/// The invoice as a printable page in its language.
pub fn html(invoice: &InvoiceView) -> AppResult<String> {
    let lang = invoice.language;
    let words = lang.words();
    let money = invoice.currency.parse().map_err(|_| AppError::internal("stored currency is invalid"))?;
    let amount = |v: i64| escape(&lang.money(money, MinorUnit(v)));
    let lines: String = invoice.lines.iter().map(|l| row(l.name(), l.detail(), amount(l.amount()), "")).collect();
    let mut totals = row(words.net_of_tax, "", amount(invoice.net_amount), "sum");
    totals.extend(invoice.taxes.iter().map(|t| row(t.text(), "", amount(t.tax()), "tax")));
    totals.push_str(&row(words.total_with_tax, "", amount(invoice.amount), "grand"));
    if invoice.tip_amount > 0 {
        totals.push_str(&row(words.tip, "", amount(invoice.tip_amount), ""));
        totals.push_str(&row(words.total_charged, "", amount(invoice.total), "grand"));
    }
    let mut customer = vec![escape(&invoice.company_name)];
    customer.extend(invoice.address.lines().map(escape));
    if let Some(vat_id) = &invoice.vat_id {
        customer.push(format!("{} {}", escape(words.vat_id), escape(vat_id)));
    }
    let s = &invoice.seller;
    let body = format!(
        "<header>{seller}<p class=\"no\">{number}</p><p>{issued}</p></header>\
<h2>{billed_to}</h2><p>{customer}</p><table><tbody>{lines}</tbody><tfoot>{totals}</tfoot></table>\
<p><small>{payment}</small></p>",
        seller = seller(&s.name, &s.legal_name, &s.address, &s.vat_id, lang),
        number = escape(&fill(words.invoice_number, &[("n", &invoice.number.to_string())])),
        issued = escape(&fill(words.issued_on, &[("time", &invoice.issued_at_local)])),
        billed_to = escape(words.billed_to),
        customer = customer.join("<br>"),
        payment = escape(&fill(words.payment, &[("id", &invoice.payment_id)])),
    );
    Ok(document(lang, &format!("{} {} — {}", words.invoice, invoice.number, s.name), &body))
}
