//! The lives of bills, payments, refunds, adjustments, webhook deliveries, bill lines and
//! calls for a server: one enum each, stored as text, with one transition function.
//!
//! "Can a refunded payment be confirmed?" has one answer, here, instead of string
//! comparisons spread over the handlers. Each `can_become` allows exactly the moves the
//! service makes; everything else is refused, so a late or replayed outcome can never undo
//! a final one (a failed payment never succeeds, a rejected refund is never executed).

/// An enum stored and sent as text: `ALL`, `as_str`, `parse` and `Display` from one table,
/// so that the text of a value is written once and serde, the database and the API agree.
macro_rules! text_enum {
    (
        $(#[doc = $doc:literal])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database and sent in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value whose text is exactly `s`; `None` for anything else (no trimming, no case folding).
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A string schema listing every text (utoipa's derive does not see the renames a
        /// macro writes, so the schema is built from the same table).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc: Vec<&str> = vec![$($doc.trim()),*];
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description(Some(doc.join(" ")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        /// How the store reads the value back: any other text is a corrupt row.
        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::status::UnknownText;

            fn try_from(text: String) -> Result<$name, Self::Error> {
                $name::parse(&text).ok_or($crate::status::UnknownText { kind: stringify!($name), text })
            }
        }

        /// How the store writes the value.
        impl ::std::convert::From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
}

/// Text read back from the database that names no value of `kind`: a corrupt row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownText {
    pub kind: &'static str,
    pub text: String,
}

impl std::fmt::Display for UnknownText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is no {}", self.text, self.kind)
    }
}

impl std::error::Error for UnknownText {}
pub(crate) use text_enum;

text_enum! {
    /// A bill's life. It is `open` while guests pay and staff change it, `paid` once every
    /// part is captured (the table has settled, but it is still seated), and leaves the table
    /// as `closed` (paid, or partly paid and closed by a manager), `void` (nothing paid,
    /// closed by a manager) or `merged` (another bill took everything on it).
    pub enum BillStatus {
        Open = "open",
        Paid = "paid",
        Closed = "closed",
        Void = "void",
        Merged = "merged",
    }
}

impl BillStatus {
    /// Whether `self → next` is a legal move:
    /// - `open → paid`: the last part was captured, or the bill was lowered to exactly what is paid;
    /// - `open → closed`: a manager closes a partly paid bill, with a reason;
    /// - `open → void`: a manager closes a bill nobody paid, with a reason;
    /// - `paid → closed`: the POS or a manager frees the table;
    /// - `open → merged`: another open bill took its items, payments and tenders.
    ///
    /// A closed, void or merged bill never moves again: closing it twice changes nothing.
    pub fn can_become(self, next: BillStatus) -> bool {
        use BillStatus::*;
        matches!((self, next), (Open, Paid | Closed | Void | Merged) | (Paid, Closed))
    }

    /// Only an open bill takes new payments: once paid or closed there is nothing to pay.
    pub fn accepts_payments(self) -> bool {
        self == BillStatus::Open
    }

    /// Only an open bill changes (lines added or voided, comps, discounts): a paid bill's
    /// amounts are what the guests paid and stay so.
    pub fn accepts_changes(self) -> bool {
        self == BillStatus::Open
    }

    /// The bill still sits on its table (open or paid): the table's current bill, found by
    /// its QR code, shown on the floor plan and matched by the POS's reference.
    pub fn occupies_table(self) -> bool {
        matches!(self, BillStatus::Open | BillStatus::Paid)
    }

    /// Closed, void and merged bills are history.
    pub fn is_terminal(self) -> bool {
        matches!(self, BillStatus::Closed | BillStatus::Void | BillStatus::Merged)
    }
}

text_enum! {
    /// A payment's life. Illegal moves are refused: a failed payment never succeeds, a
    /// succeeded one never fails.
    pub enum PaymentStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Canceled = "canceled",
        Expired = "expired",
        PartiallyRefunded = "partially_refunded",
        Refunded = "refunded",
    }
}

impl PaymentStatus {
    /// Whether `self → next` is a legal move: a pending payment ends (succeeded, failed,
    /// canceled, expired); a captured one is refunded in part, again in part, or in full.
    ///
    /// `partially_refunded → partially_refunded` is allowed on purpose: a second partial
    /// refund records a larger refunded amount without changing the status.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Succeeded | Failed | Canceled | Expired)
                | (Succeeded | PartiallyRefunded, PartiallyRefunded | Refunded)
        )
    }

    /// A pending payment holds its amount: nobody else can take it.
    pub fn holds(self) -> bool {
        self == PaymentStatus::Pending
    }

    /// Money was captured (refunds are accounted separately).
    pub fn captured(self) -> bool {
        matches!(self, PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded)
    }

    /// Paid or held: the part is taken.
    pub fn takes_part(self) -> bool {
        self.holds() || self.captured()
    }

    /// The hold ended without money: declined, cancelled or expired. A provider that captures
    /// such a payment anyway (a 3-D Secure finished late, a confirm raced a cancel) captured
    /// money the bill no longer reserved for it.
    pub fn is_released(self) -> bool {
        matches!(self, PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired)
    }

    /// Nothing happens to the payment any more: it never held money, released its hold, or
    /// gave everything back.
    pub fn is_terminal(self) -> bool {
        use PaymentStatus::*;
        matches!(self, Failed | Canceled | Expired | Refunded)
    }
}

text_enum! {
    /// A refund's life. A refund within the requester's limit starts `processing` (the
    /// provider is asked at once); above it, `pending_approval` until a manager decides.
    pub enum RefundStatus {
        PendingApproval = "pending_approval",
        Processing = "processing",
        Succeeded = "succeeded",
        Failed = "failed",
        Rejected = "rejected",
    }
}

impl RefundStatus {
    /// Whether `self → next` is a legal move:
    /// - `pending_approval → processing` (a manager approved) or `→ rejected`;
    /// - `processing → succeeded` (the provider refunded) or `→ failed` (it refused).
    ///
    /// A provider that does not answer leaves the refund `processing`; a retry asks again
    /// without a move.
    pub fn can_become(self, next: RefundStatus) -> bool {
        use RefundStatus::*;
        matches!((self, next), (PendingApproval, Processing | Rejected) | (Processing, Succeeded | Failed))
    }

    /// The amount is committed: refunded, or asked of the provider and maybe refunded. It
    /// counts against what is left to refund of the payment, so two refunds under way can
    /// never give back more than was captured.
    pub fn committed(self) -> bool {
        matches!(self, RefundStatus::Processing | RefundStatus::Succeeded)
    }

    /// A server's refunds on a bill count against their limit once committed, including
    /// those a manager approved; pending, failed and rejected ones do not.
    pub fn counts_against_limit(self) -> bool {
        self.committed()
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, RefundStatus::Succeeded | RefundStatus::Failed | RefundStatus::Rejected)
    }
}

text_enum! {
    /// A comp's or discount's life: applied at once within the requester's limit, else
    /// waiting for a manager other than the requester.
    pub enum AdjustmentStatus {
        PendingApproval = "pending_approval",
        Applied = "applied",
        Rejected = "rejected",
    }
}

impl AdjustmentStatus {
    /// Whether `self → next` is a legal move: only a pending adjustment moves, to `applied`
    /// (approved) or `rejected`. An applied adjustment is never taken back by a status
    /// change.
    pub fn can_become(self, next: AdjustmentStatus) -> bool {
        use AdjustmentStatus::*;
        matches!((self, next), (PendingApproval, Applied | Rejected))
    }

    /// Applied comps and discounts lower the bill and count against the requester's limit
    /// on it (including those a manager approved).
    pub fn counts_against_limit(self) -> bool {
        self == AdjustmentStatus::Applied
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, AdjustmentStatus::Applied | AdjustmentStatus::Rejected)
    }
}

/// The one approvals flow of comps, discounts and refunds: a request within the requester's
/// limit goes ahead at once; above it, it waits for a manager other than the requester, who
/// approves (it goes ahead) or rejects it.
pub trait Approval: Copy + Eq {
    /// Waiting in the managers' approvals queue.
    const PENDING: Self;
    /// Going ahead: what a request within the limit starts as, and what approval moves a
    /// pending one to.
    const APPROVED: Self;
    const REJECTED: Self;

    /// The status a new request starts in.
    fn on_request(within_limit: bool) -> Self {
        if within_limit { Self::APPROVED } else { Self::PENDING }
    }

    /// The status a manager's decision moves a pending request to.
    fn on_decision(approved: bool) -> Self {
        if approved { Self::APPROVED } else { Self::REJECTED }
    }

    fn awaits_approval(self) -> bool {
        self == Self::PENDING
    }
}

impl Approval for RefundStatus {
    const PENDING: Self = RefundStatus::PendingApproval;
    /// An approved refund is asked of the provider at once.
    const APPROVED: Self = RefundStatus::Processing;
    const REJECTED: Self = RefundStatus::Rejected;
}

impl Approval for AdjustmentStatus {
    const PENDING: Self = AdjustmentStatus::PendingApproval;
    const APPROVED: Self = AdjustmentStatus::Applied;
    const REJECTED: Self = AdjustmentStatus::Rejected;
}

text_enum! {
    /// An outgoing webhook delivery's life: `pending` while attempts are due, then
    /// `succeeded` or `failed` (the schedule ran out, the receiver answered 410, the endpoint
    /// was disabled or deleted).
    pub enum DeliveryStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

impl DeliveryStatus {
    /// Whether `self → next` is a legal move:
    /// - `pending → succeeded` (a 2xx answer) or `→ failed`;
    /// - `pending → pending`, allowed on purpose: a failed attempt with retries left stays
    ///   pending, rescheduled, with one more attempt recorded;
    /// - `failed → pending` and `succeeded → pending`: staff retry a finished delivery by
    ///   hand, and the retry sends it again even when it had succeeded (the receiver
    ///   deduplicates by the unchanged `webhook-id`).
    ///
    /// A delivery never finishes from another finished status: a failed one succeeds only
    /// after being pending again.
    pub fn can_become(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        matches!((self, next), (Pending, _) | (Succeeded | Failed, Pending))
    }

    /// No attempt is due any more; staff may retry it by hand.
    pub fn is_finished(self) -> bool {
        self != DeliveryStatus::Pending
    }

    /// No status is final: a finished delivery can always be sent again by hand.
    pub fn is_terminal(self) -> bool {
        false
    }
}

text_enum! {
    /// A line of a bill. A voided line stays in the bill's history but is no longer priced,
    /// paid or discounted.
    pub enum ItemStatus {
        Active = "active",
        Void = "void",
    }
}

impl ItemStatus {
    /// Whether `self → next` is a legal move: only `active → void` (the POS or a manager
    /// voids a line nobody paid or holds). Voiding a void line again changes nothing.
    pub fn can_become(self, next: ItemStatus) -> bool {
        matches!((self, next), (ItemStatus::Active, ItemStatus::Void))
    }

    /// The line counts: it is priced, and can be paid and discounted.
    pub fn is_active(self) -> bool {
        self == ItemStatus::Active
    }

    pub fn is_terminal(self) -> bool {
        self == ItemStatus::Void
    }
}

text_enum! {
    /// Money taken outside tablepay and recorded on a bill: it counts toward `paid` while
    /// `recorded`; a `void` tender (recorded in error) counts nothing. Voiding is final.
    pub enum TenderStatus {
        Recorded = "recorded",
        Void = "void",
    }
}

text_enum! {
    /// How a tender was paid: cash at the table, the venue's own card terminal, a voucher.
    pub enum TenderKind {
        Cash = "cash",
        CardPresent = "card_present",
        Voucher = "voucher",
        Other = "other",
    }
}

text_enum! {
    /// A guest's call for a server. A table has at most one open call: calling again while
    /// one is open returns it.
    pub enum AssistanceStatus {
        Open = "open",
        Resolved = "resolved",
    }
}

impl AssistanceStatus {
    /// Whether `self → next` is a legal move: only `open → resolved` (a staff member
    /// answered). Resolving twice changes nothing.
    pub fn can_become(self, next: AssistanceStatus) -> bool {
        matches!((self, next), (AssistanceStatus::Open, AssistanceStatus::Resolved))
    }

    /// Waiting for a server.
    pub fn is_open(self) -> bool {
        self == AssistanceStatus::Open
    }

    pub fn is_terminal(self) -> bool {
        self == AssistanceStatus::Resolved
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// Checks one pair `(from, to)` of a machine: a terminal state has no exit, a state with
    /// no exit is terminal, and a self-move is allowed only where documented (`self_moves`).
    fn check_pair<S: Copy + Eq + fmt::Debug>(
        all: &[S],
        can_become: fn(S, S) -> bool,
        is_terminal: fn(S) -> bool,
        self_moves: &[S],
        (from, to): (&Index, &Index),
    ) -> Result<(), TestCaseError> {
        let (from, to) = (*from.get(all), *to.get(all));
        if is_terminal(from) {
            prop_assert!(!can_become(from, to), "{from:?} is terminal but may become {to:?}");
        } else {
            prop_assert!(all.iter().any(|&n| can_become(from, n)), "{from:?} has no exit but is not terminal");
        }
        if from == to {
            prop_assert_eq!(can_become(from, to), self_moves.contains(&from), "self-move of {:?}", from);
        }
        Ok(())
    }

    /// Every status's text with one character replaced, or any text.
    fn near_texts() -> impl Strategy<Value = String> {
        let known: Vec<&'static str> = texts(BillStatus::ALL, BillStatus::as_str)
            .into_iter()
            .chain(texts(PaymentStatus::ALL, PaymentStatus::as_str))
            .chain(texts(RefundStatus::ALL, RefundStatus::as_str))
            .chain(texts(AdjustmentStatus::ALL, AdjustmentStatus::as_str))
            .chain(texts(DeliveryStatus::ALL, DeliveryStatus::as_str))
            .chain(texts(ItemStatus::ALL, ItemStatus::as_str))
            .chain(texts(AssistanceStatus::ALL, AssistanceStatus::as_str))
            .collect();
        let mutated = (prop::sample::select(known), any::<Index>(), any::<char>()).prop_map(|(text, at, c)| {
            let mut chars: Vec<char> = text.chars().collect();
            let at = at.index(chars.len());
            chars[at] = c;
            chars.into_iter().collect()
        });
        prop_oneof![mutated, "\\PC{0,20}"]
    }

    proptest! {
        #[test]
        fn terminal_states_have_no_exit_and_self_moves_are_documented(from in any::<Index>(), to in any::<Index>()) {
            let pair = (&from, &to);
            check_pair(BillStatus::ALL, BillStatus::can_become, BillStatus::is_terminal, &[], pair)?;
            check_pair(
                PaymentStatus::ALL,
                PaymentStatus::can_become,
                PaymentStatus::is_terminal,
                &[PaymentStatus::PartiallyRefunded],
                pair,
            )?;
            check_pair(RefundStatus::ALL, RefundStatus::can_become, RefundStatus::is_terminal, &[], pair)?;
            check_pair(AdjustmentStatus::ALL, AdjustmentStatus::can_become, AdjustmentStatus::is_terminal, &[], pair)?;
            check_pair(
                DeliveryStatus::ALL,
                DeliveryStatus::can_become,
                DeliveryStatus::is_terminal,
                &[DeliveryStatus::Pending],
                pair,
            )?;
            check_pair(ItemStatus::ALL, ItemStatus::can_become, ItemStatus::is_terminal, &[], pair)?;
            check_pair(AssistanceStatus::ALL, AssistanceStatus::can_become, AssistanceStatus::is_terminal, &[], pair)?;
        }

        #[test]
        fn parse_accepts_only_the_exact_texts(s in near_texts()) {
            let parsed = [
                BillStatus::parse(&s).map(BillStatus::as_str),
                PaymentStatus::parse(&s).map(PaymentStatus::as_str),
                RefundStatus::parse(&s).map(RefundStatus::as_str),
                AdjustmentStatus::parse(&s).map(AdjustmentStatus::as_str),
                DeliveryStatus::parse(&s).map(DeliveryStatus::as_str),
                ItemStatus::parse(&s).map(ItemStatus::as_str),
                AssistanceStatus::parse(&s).map(AssistanceStatus::as_str),
            ];
            for text in parsed.into_iter().flatten() {
                prop_assert_eq!(text, s.as_str());
            }
        }
    }

    /// Every value's text parses back to it, texts are distinct, and near misses are refused.
    fn round_trips<S: Copy + Eq + fmt::Debug + fmt::Display>(
        all: &[S],
        as_str: fn(S) -> &'static str,
        parse: fn(&str) -> Option<S>,
    ) {
        for &s in all {
            assert_eq!(parse(as_str(s)), Some(s));
            assert_eq!(s.to_string(), as_str(s));
            assert_eq!(parse(&as_str(s).to_uppercase()), None, "{s:?}: text is case-sensitive");
            assert_eq!(parse(&format!(" {}", as_str(s))), None, "{s:?}: text is not trimmed");
        }
        assert_eq!(all.iter().map(|&s| as_str(s)).collect::<std::collections::HashSet<_>>().len(), all.len());
        assert_eq!(parse(""), None);
    }

    #[test]
    fn every_status_round_trips() {
        round_trips(BillStatus::ALL, BillStatus::as_str, BillStatus::parse);
        round_trips(PaymentStatus::ALL, PaymentStatus::as_str, PaymentStatus::parse);
        round_trips(RefundStatus::ALL, RefundStatus::as_str, RefundStatus::parse);
        round_trips(AdjustmentStatus::ALL, AdjustmentStatus::as_str, AdjustmentStatus::parse);
        round_trips(DeliveryStatus::ALL, DeliveryStatus::as_str, DeliveryStatus::parse);
        round_trips(ItemStatus::ALL, ItemStatus::as_str, ItemStatus::parse);
        round_trips(AssistanceStatus::ALL, AssistanceStatus::as_str, AssistanceStatus::parse);
    }

    fn texts<S: Copy>(all: &[S], as_str: fn(S) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|&s| as_str(s)).collect()
    }

    #[test]
    fn texts_match_the_database_checks() {
        // `merged` is stored as `void` with `merged_into` set (the CHECK predates merging and
        // cannot be altered portably); the store reads it back as `merged`.
        assert_eq!(texts(BillStatus::ALL, BillStatus::as_str), ["open", "paid", "closed", "void", "merged"]);
        assert_eq!(
            texts(PaymentStatus::ALL, PaymentStatus::as_str),
            ["pending", "succeeded", "failed", "canceled", "expired", "partially_refunded", "refunded"]
        );
        assert_eq!(
            texts(RefundStatus::ALL, RefundStatus::as_str),
            ["pending_approval", "processing", "succeeded", "failed", "rejected"]
        );
        assert_eq!(texts(AdjustmentStatus::ALL, AdjustmentStatus::as_str), ["pending_approval", "applied", "rejected"]);
        assert_eq!(texts(DeliveryStatus::ALL, DeliveryStatus::as_str), ["pending", "succeeded", "failed"]);
        assert_eq!(texts(ItemStatus::ALL, ItemStatus::as_str), ["active", "void"]);
        assert_eq!(texts(AssistanceStatus::ALL, AssistanceStatus::as_str), ["open", "resolved"]);
    }

    #[test]
    fn bill_transitions() {
        use BillStatus::*;
        assert!(Open.can_become(Paid), "settled");
        assert!(Open.can_become(Closed), "a partly paid bill closed by a manager");
        assert!(Open.can_become(Void), "an unpaid bill closed by a manager");
        assert!(Paid.can_become(Closed), "the table is freed");
        assert!(!Paid.can_become(Open), "a paid bill never reopens");
        assert!(!Paid.can_become(Void), "what was paid is never voided");
        assert!(!Closed.can_become(Open) && !Void.can_become(Open) && !Void.can_become(Closed));
        assert!(Open.accepts_payments() && !Paid.accepts_payments() && !Closed.accepts_payments());
        assert!(Open.accepts_changes() && !Paid.accepts_changes());
        assert!(Open.occupies_table() && Paid.occupies_table() && !Closed.occupies_table() && !Void.occupies_table());
    }

    #[test]
    fn payment_transitions() {
        use PaymentStatus::*;
        assert!(Pending.can_become(Succeeded));
        assert!(!Failed.can_become(Succeeded));
        assert!(!Succeeded.can_become(Failed));
        assert!(!Expired.can_become(Succeeded));
        assert!(!Canceled.can_become(Succeeded));
        assert!(Succeeded.can_become(PartiallyRefunded));
        assert!(PartiallyRefunded.can_become(Refunded));
        assert!(!Refunded.can_become(Succeeded));
        assert!(!Refunded.can_become(PartiallyRefunded), "refunded money does not come back");
        assert!(!Pending.can_become(Refunded), "nothing captured, nothing refunded");
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(*s));
        }
        assert!(Pending.holds() && Pending.takes_part() && !Pending.captured());
        assert!(Refunded.captured() && !Failed.takes_part() && !Expired.takes_part());
    }

    #[test]
    fn refund_transitions() {
        use RefundStatus::*;
        assert!(PendingApproval.can_become(Processing), "approved");
        assert!(PendingApproval.can_become(Rejected));
        assert!(Processing.can_become(Succeeded) && Processing.can_become(Failed));
        assert!(!PendingApproval.can_become(Succeeded), "nothing is refunded without asking the provider");
        assert!(!Rejected.can_become(Processing), "a rejected refund is never executed");
        assert!(!Failed.can_become(Succeeded) && !Succeeded.can_become(Failed));
        assert!(!Processing.can_become(Rejected), "a refund under way can no longer be rejected");
        assert_eq!(RefundStatus::on_request(true), Processing);
        assert_eq!(RefundStatus::on_request(false), PendingApproval);
        assert_eq!(RefundStatus::on_decision(true), Processing);
        assert_eq!(RefundStatus::on_decision(false), Rejected);
        let counted: Vec<_> = RefundStatus::ALL.iter().filter(|s| s.counts_against_limit()).collect();
        assert_eq!(counted, [&Processing, &Succeeded]);
        assert!(PendingApproval.awaits_approval() && !Processing.awaits_approval());
    }

    #[test]
    fn adjustment_transitions() {
        use AdjustmentStatus::*;
        assert!(PendingApproval.can_become(Applied) && PendingApproval.can_become(Rejected));
        assert!(!Applied.can_become(Rejected), "an applied comp is not taken back by a status");
        assert!(!Rejected.can_become(Applied));
        assert_eq!(AdjustmentStatus::on_request(true), Applied);
        assert_eq!(AdjustmentStatus::on_request(false), PendingApproval);
        assert_eq!(AdjustmentStatus::on_decision(false), Rejected);
        let counted: Vec<_> = AdjustmentStatus::ALL.iter().filter(|s| s.counts_against_limit()).collect();
        assert_eq!(counted, [&Applied]);
    }

    /// A decision is a legal move from pending, and only a request above the limit waits.
    fn approval_flow<S: Approval + fmt::Debug>(can_become: fn(S, S) -> bool) {
        assert!(can_become(S::PENDING, S::on_decision(true)), "{:?} approved", S::PENDING);
        assert!(can_become(S::PENDING, S::on_decision(false)), "{:?} rejected", S::PENDING);
        assert!(S::on_request(false).awaits_approval() && !S::on_request(true).awaits_approval());
        assert!(!S::on_decision(true).awaits_approval() && !S::on_decision(false).awaits_approval());
    }

    #[test]
    fn approvals_follow_the_transitions() {
        approval_flow(RefundStatus::can_become);
        approval_flow(AdjustmentStatus::can_become);
    }

    #[test]
    fn delivery_transitions() {
        use DeliveryStatus::*;
        assert!(Pending.can_become(Succeeded) && Pending.can_become(Failed));
        assert!(Pending.can_become(Pending), "rescheduled after a failed attempt");
        assert!(Failed.can_become(Pending), "a manual retry");
        assert!(Succeeded.can_become(Pending), "a manual retry resends a delivered event");
        assert!(!Failed.can_become(Succeeded), "a failed delivery succeeds only by being attempted again");
        assert!(!Succeeded.can_become(Failed));
        assert!(!Failed.can_become(Failed) && !Succeeded.can_become(Succeeded));
        assert!(Succeeded.is_finished() && Failed.is_finished() && !Pending.is_finished());
    }

    #[test]
    fn item_and_assistance_transitions() {
        assert!(ItemStatus::Active.can_become(ItemStatus::Void));
        assert!(!ItemStatus::Void.can_become(ItemStatus::Active), "a voided line never comes back");
        assert!(!ItemStatus::Void.can_become(ItemStatus::Void));
        assert!(ItemStatus::Active.is_active() && !ItemStatus::Void.is_active());
        assert!(AssistanceStatus::Open.can_become(AssistanceStatus::Resolved));
        assert!(!AssistanceStatus::Resolved.can_become(AssistanceStatus::Open));
        assert!(AssistanceStatus::Open.is_open());
    }
}
