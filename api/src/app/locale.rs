//! The languages receipts and invoices are printed in, chosen per request (`?lang=`, else
//! `Accept-Language`, else English), with amounts, rates and times written as each language
//! writes them, in the venue's time zone.

use chrono::{NaiveDateTime, TimeZone};
use serde::Serialize;
use tablepay_domain::{Currency, MinorUnit, PaymentStatus};
use utoipa::ToSchema;

/// A language documents are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The language of a tag such as `fr`, `fr-CA` or `FR`, if it is one we print in.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The language asked for by `?lang=`, else the first supported one of `Accept-Language`
    /// by preference (`q`), else English.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = query.and_then(Lang::of_tag) {
            return lang;
        }
        let mut offered: Vec<(u16, usize, Lang)> = accept_language
            .unwrap_or("")
            .split(',')
            .enumerate()
            .filter_map(|(order, entry)| {
                let mut parts = entry.split(';');
                let lang = Lang::of_tag(parts.next()?)?;
                let q = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })?;
                (q > 0).then_some((q, order, lang))
            })
            .collect();
        offered.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        offered.first().map_or(Lang::En, |o| o.2)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    /// An amount as this language writes it: `12.50 EUR`, `12,50 €`.
    pub fn money(self, currency: Currency, amount: MinorUnit) -> String {
        let plain = currency.format(amount);
        match self {
            Lang::En => plain,
            Lang::Fr => {
                let number = plain.rsplit_once(' ').map_or(plain.as_str(), |(n, _)| n).replace('.', ",");
                let symbol = match currency.code() {
                    "EUR" => "€",
                    code => code,
                };
                format!("{number}\u{a0}{symbol}")
            }
        }
    }

    /// A rate in basis points as a percentage: `20 %`, `5.5 %` (`5,5 %` in French).
    pub fn rate(self, bps: u32) -> String {
        let whole = bps / 100;
        let cents = bps % 100;
        let number = if cents == 0 {
            whole.to_string()
        } else {
            let decimals = format!("{cents:02}");
            format!("{whole}.{}", decimals.trim_end_matches('0'))
        };
        let number = if self == Lang::Fr { number.replace('.', ",") } else { number };
        format!("{number}\u{a0}%")
    }

    /// A UTC time in the venue's time zone, as this language writes dates, with the zone named:
    /// `2026-12-01 10:12 (Europe/Paris)`, `01/12/2026 10:12 (Europe/Paris)`.
    pub fn local_time(self, timezone: &str, at: NaiveDateTime) -> String {
        let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = zone.from_utc_datetime(&at);
        let pattern = match self {
            Lang::En => "%Y-%m-%d %H:%M",
            Lang::Fr => "%d/%m/%Y %H:%M",
        };
        format!("{} ({})", local.format(pattern), zone.name())
    }

    /// A table as people name it: "Table 12" for a bare number, else its label ("Terrace 3").
    pub fn table(self, label: &str) -> String {
        if !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()) {
            format!("{} {label}", self.words().table)
        } else {
            label.to_owned()
        }
    }

    pub fn status(self, status: PaymentStatus) -> &'static str {
        let w = self.words();
        match status {
            PaymentStatus::Pending => w.status_pending,
            PaymentStatus::Succeeded => w.status_succeeded,
            PaymentStatus::Failed => w.status_failed,
            PaymentStatus::Canceled => w.status_canceled,
            PaymentStatus::Expired => w.status_expired,
            PaymentStatus::PartiallyRefunded => w.status_partially_refunded,
            PaymentStatus::Refunded => w.status_refunded,
        }
    }
}

/// Every word of a receipt or an invoice. `{…}` marks what [`fill`] puts in.
pub struct Words {
    pub receipt: &'static str,
    pub receipt_number: &'static str,
    pub receipt_unnumbered: &'static str,
    pub invoice: &'static str,
    pub invoice_number: &'static str,
    pub table: &'static str,
    pub vat_id: &'static str,
    pub paid_on: &'static str,
    pub issued_on: &'static str,
    pub billed_to: &'static str,
    pub seller: &'static str,
    pub whole_bill: &'static str,
    pub your_items: &'static str,
    pub equal_shares: &'static str,
    pub rest_of_bill: &'static str,
    pub custom_amount: &'static str,
    pub whole_item: &'static str,
    pub share_of_item: &'static str,
    pub part_of_line: &'static str,
    pub your_part: &'static str,
    pub tip: &'static str,
    pub total_charged: &'static str,
    pub refund: &'static str,
    pub net_charged: &'static str,
    pub tax_of_rate: &'static str,
    pub net_of_tax: &'static str,
    pub total_with_tax: &'static str,
    pub amounts_include_tax: &'static str,
    pub payment: &'static str,
    pub status_pending: &'static str,
    pub status_succeeded: &'static str,
    pub status_failed: &'static str,
    pub status_canceled: &'static str,
    pub status_expired: &'static str,
    pub status_partially_refunded: &'static str,
    pub status_refunded: &'static str,
    pub print: &'static str,
}

static EN: Words = Words {
    receipt: "Receipt",
    receipt_number: "Receipt no. {n}",
    receipt_unnumbered: "Not paid: no receipt number",
    invoice: "Invoice",
    invoice_number: "Invoice no. {n}",
    table: "Table",
    vat_id: "VAT id",
    paid_on: "Paid on {time}",
    issued_on: "Issued on {time}",
    billed_to: "Billed to",
    seller: "Seller",
    whole_bill: "The whole bill",
    your_items: "Your items",
    equal_shares: "{k} of {n} equal shares",
    rest_of_bill: "The rest of the bill",
    custom_amount: "A custom amount of the bill",
    whole_item: "whole item",
    share_of_item: "{n}/{d} share",
    part_of_line: "your part of {amount}",
    your_part: "Your part of the bill",
    tip: "Tip",
    total_charged: "Total charged",
    refund: "Refund of {time}",
    net_charged: "Charged after refunds",
    tax_of_rate: "incl. VAT {rate} on {base}",
    net_of_tax: "Total excl. VAT",
    total_with_tax: "Total incl. VAT",
    amounts_include_tax: "Amounts include tax.",
    payment: "Payment {id}",
    status_pending: "Waiting for payment",
    status_succeeded: "Paid",
    status_failed: "Payment failed",
    status_canceled: "Canceled",
    status_expired: "Expired",
    status_partially_refunded: "Paid, partly refunded",
    status_refunded: "Refunded",
    print: "Print",
};

static FR: Words = Words {
    receipt: "Reçu",
    receipt_number: "Reçu n° {n}",
    receipt_unnumbered: "Non payé : pas de numéro de reçu",
    invoice: "Facture",
    invoice_number: "Facture n° {n}",
    table: "Table",
    vat_id: "N° TVA",
    paid_on: "Payé le {time}",
    issued_on: "Émise le {time}",
    billed_to: "Facturé à",
    seller: "Vendeur",
    whole_bill: "L'addition entière",
    your_items: "Vos articles",
    equal_shares: "{k} part(s) égale(s) sur {n}",
    rest_of_bill: "Le reste de l'addition",
    custom_amount: "Un montant libre de l'addition",
    whole_item: "article entier",
    share_of_item: "part de {n}/{d}",
    part_of_line: "votre part de {amount}",
    your_part: "Votre part de l'addition",
    tip: "Pourboire",
    total_charged: "Total débité",
    refund: "Remboursement du {time}",
    net_charged: "Débité après remboursements",
    tax_of_rate: "dont TVA {rate} sur {base}",
    net_of_tax: "Total HT",
    total_with_tax: "Total TTC",
    amounts_include_tax: "Montants TTC.",
    payment: "Paiement {id}",
    status_pending: "En attente de paiement",
    status_succeeded: "Payé",
    status_failed: "Paiement refusé",
    status_canceled: "Annulé",
    status_expired: "Expiré",
    status_partially_refunded: "Payé, partiellement remboursé",
    status_refunded: "Remboursé",
    print: "Imprimer",
};

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// Text made safe to place in HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_then_the_preferred_supported_language() {
        assert_eq!(Lang::negotiate(Some("fr"), Some("en")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("xx"), Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("de-DE, en;q=0.5, fr;q=0.7")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("fr;q=0, en")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
    }

    #[test]
    fn amounts_rates_and_times_are_written_the_languages_way() {
        let eur: Currency = "EUR".parse().expect("EUR");
        assert_eq!(Lang::En.money(eur, MinorUnit(7600)), "76.00 EUR");
        assert_eq!(Lang::Fr.money(eur, MinorUnit(-1250)), "-12,50\u{a0}€");
        assert_eq!(Lang::Fr.rate(550), "5,5\u{a0}%");
        assert_eq!(Lang::En.rate(2000), "20\u{a0}%");
        let at = chrono::NaiveDate::from_ymd_opt(2026, 7, 14).and_then(|d| d.and_hms_opt(19, 5, 0)).expect("date");
        assert_eq!(Lang::Fr.local_time("Europe/Paris", at), "14/07/2026 21:05 (Europe/Paris)");
        assert_eq!(Lang::En.local_time("UTC", at), "2026-07-14 19:05 (UTC)");
        assert_eq!(Lang::Fr.table("2"), "Table 2");
        assert_eq!(Lang::Fr.table("Table 2"), "Table 2");
    }
}
