//! Ids of the things tablepay stores, one type each, parsed once at the edge and trusted
//! after: a `PaymentId` can no longer be passed where a `BillId` is meant, and an id that
//! reached a query is known to be well formed.
//!
//! Every id is a UUID (time-ordered v7 for the ones we create) kept as text in its canonical
//! form: lower-case, hyphenated, 36 characters. The forms accepted on the way in are those of
//! the `uuid` crate's `Uuid::parse_str` — canonical, upper or mixed case, 32 bare hex
//! digits, `{braced}` and `urn:uuid:` — so an id the API accepted before still names the
//! same resource; each is stored and compared in the canonical form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The text is not an id. Whatever a caller sends that is not a UUID cannot name a resource,
/// so the API answers 404 for `what`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a {what} id: ids are UUIDs such as 0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
pub struct InvalidId {
    /// What the id should have named: "bill", "webhook delivery" …
    pub what: &'static str,
}

/// The canonical form of `raw` if it is a UUID in any form `Uuid::parse_str` accepts.
fn canonical(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|u| u.hyphenated().to_string())
}

/// The canonical text of a UUID given as its 16 bytes.
fn hyphenated(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// Declares id newtypes over `String`: parsing, the canonical text, and serde as a plain
/// string (deserializing checks the text like `parse`).
macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident => $what:literal;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = "uuid"))]
        pub struct $name(String);

        impl $name {
            /// Parses an id sent by a caller or read back; refuses anything that is not a UUID.
            pub fn parse(raw: &str) -> Result<$name, InvalidId> {
                canonical(raw).map($name).ok_or(InvalidId { what: $what })
            }

            /// The id of the UUID with these bytes: how a new id is made
            /// (`from_bytes(Uuid::now_v7().into_bytes())`) without this crate generating any.
            pub fn from_bytes(bytes: [u8; 16]) -> $name {
                $name(hyphenated(bytes))
            }

            /// The canonical text: lower-case, hyphenated.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<$name, InvalidId> {
                $name::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let raw = String::deserialize(deserializer)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

ids! {
    VenueId => "venue";
    TableId => "table";
    BillId => "bill";
    /// A line of a bill.
    ItemId => "item";
    PaymentId => "payment";
    RefundId => "refund";
    /// Money taken outside tablepay, recorded on a bill.
    TenderId => "tender";
    /// A comp or discount.
    AdjustmentId => "adjustment";
    StaffId => "staff";
    /// A webhook endpoint of a venue.
    EndpointId => "webhook endpoint";
    /// One event's delivery to one webhook endpoint.
    DeliveryId => "webhook delivery";
    EventId => "event";
    /// A guest's call for a server.
    AssistanceId => "assistance request";
    /// A venue credential (API key).
    KeyId => "API key";
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CANONICAL: &str = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77";

    #[test]
    fn accepts_what_uuid_parse_str_accepts_in_canonical_form() {
        for raw in [
            CANONICAL,
            "0199A0DE-3C55-7B2E-9D41-6F3B8A1C2E77",
            "0199a0de-3C55-7b2e-9D41-6f3b8a1c2e77",
            "0199a0de3c557b2e9d416f3b8a1c2e77",
            "{0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77}",
            "urn:uuid:0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77",
            "URN:UUID:0199A0DE-3C55-7B2E-9D41-6F3B8A1C2E77",
        ] {
            assert_eq!(BillId::parse(raw).map(BillId::into_inner), Ok(CANONICAL.to_owned()), "{raw}");
        }
        // Any version and the nil UUID are UUIDs too.
        assert!(VenueId::parse("00000000-0000-0000-0000-000000000000").is_ok());
        assert!(VenueId::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        for raw in [
            "",
            "bill",
            "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e7",   // 35
            "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e777", // 37
            "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e7g",  // not hex
            "0199a0de3-c55-7b2e-9d41-6f3b8a1c2e77",  // hyphen misplaced
            "0199a0de+3c55+7b2e+9d41+6f3b8a1c2e77",  // other separators
            " 0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77", // whitespace is not trimmed
            "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77\n",
            "0199a0de3c557b2e9d416f3b8a1c2e7",        // 31 bare digits
            "0199a0de-3c557b2e-9d41-6f3b8a1c2e77-",   // 36 with hyphens elsewhere
            "(0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77)", // only braces wrap
            "{0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77",
            "{0199a0de3c557b2e9d416f3b8a1c2e77}", // braces need the hyphens
            "urn:uuid:0199a0de3c557b2e9d416f3b8a1c2e77",
            "urn:uid:-0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77",
            "0199a0de-3c55-7b2e-9d41-6f3b8a1c2é7", // 36 bytes, not ASCII
        ] {
            assert_eq!(BillId::parse(raw), Err(InvalidId { what: "bill" }), "{raw:?}");
        }
        assert!(matches!(DeliveryId::parse("x"), Err(e) if e.to_string().starts_with("not a webhook delivery id:")));
    }

    #[test]
    fn from_bytes_prints_the_canonical_form() {
        let bytes = [0x01, 0x99, 0xa0, 0xde, 0x3c, 0x55, 0x7b, 0x2e, 0x9d, 0x41, 0x6f, 0x3b, 0x8a, 0x1c, 0x2e, 0x77];
        let id = PaymentId::from_bytes(bytes);
        assert_eq!(id, CANONICAL);
        assert_eq!(PaymentId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn reads_like_a_string() {
        let id: TableId = CANONICAL.parse().expect("an id");
        assert_eq!(id.to_string(), CANONICAL);
        let owned: String = CANONICAL.into();
        assert!(id == *CANONICAL && id == CANONICAL && id == owned);
        assert_eq!(String::from(id.clone()), CANONICAL);
        assert_eq!(id.as_ref(), CANONICAL);
    }

    proptest! {
        #[test]
        fn canonical_text_is_a_fixed_point(bytes in any::<[u8; 16]>(), upper in any::<bool>(), bare in any::<bool>()) {
            let id = ItemId::from_bytes(bytes);
            let mut raw = id.as_str().to_owned();
            if upper {
                raw = raw.to_uppercase();
            }
            if bare {
                raw.retain(|c| c != '-');
            }
            prop_assert_eq!(ItemId::parse(&raw), Ok(id.clone()));
            prop_assert_eq!(ItemId::parse(id.as_str()).map(ItemId::into_inner), Ok(id.into_inner()));
        }

        #[test]
        fn parsed_ids_are_canonical(raw in "\\PC{0,46}") {
            if let Ok(id) = EventId::parse(&raw) {
                prop_assert_eq!(id.as_str().len(), 36);
                prop_assert!(id.as_str().bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
        }
    }
}
