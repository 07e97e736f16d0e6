//! Diesel's view of the tables in `migrations/`. Portable column types only, so one schema
//! serves PostgreSQL and SQLite.

diesel::table! {
    venues (id) {
        id -> Text,
        name -> Text,
        currency -> Text,
        tax_mode -> Text,
        tax_rate_bps -> Integer,
        service_charge_bps -> Integer,
        tip_presets_bps -> Text,
        timezone -> Text,
        payment_provider -> Text,
        server_comp_limit -> BigInt,
        server_refund_limit -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    staff (id) {
        id -> Text,
        venue_id -> Text,
        name -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        venue_id -> Text,
        staff_id -> Nullable<Text>,
        name -> Text,
        role -> Text,
        key_hash -> Text,
        key_prefix -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dining_tables (id) {
        id -> Text,
        venue_id -> Text,
        label -> Text,
        qr_token -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bills (id) {
        id -> Text,
        venue_id -> Text,
        table_id -> Text,
        external_ref -> Nullable<Text>,
        server_id -> Nullable<Text>,
        status -> Text,
        version -> BigInt,
        equal_parts -> Nullable<Integer>,
        close_reason -> Nullable<Text>,
        opened_at -> Timestamp,
        updated_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bill_items (id) {
        id -> Text,
        bill_id -> Text,
        position -> Integer,
        name -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        tax_rate_bps -> Nullable<Integer>,
        external_ref -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        voided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        status -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(staff -> venues (venue_id));
diesel::joinable!(api_keys -> venues (venue_id));
diesel::joinable!(dining_tables -> venues (venue_id));
diesel::joinable!(bills -> dining_tables (table_id));
diesel::joinable!(bill_items -> bills (bill_id));

diesel::table! {
    payments (id) {
        id -> Text,
        venue_id -> Text,
        bill_id -> Text,
        status -> Text,
        split_type -> Text,
        amount -> BigInt,
        tip_amount -> BigInt,
        refunded_amount -> BigInt,
        currency -> Text,
        provider -> Text,
        provider_ref -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        failure_code -> Nullable<Text>,
        email -> Nullable<Text>,
        equal_parts -> Nullable<Integer>,
        equal_count -> Nullable<Integer>,
        server_id -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        request_fingerprint -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        succeeded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    payment_items (payment_id, item_id) {
        payment_id -> Text,
        item_id -> Text,
        bill_id -> Text,
        fraction_num -> BigInt,
        fraction_den -> BigInt,
        amount -> BigInt,
    }
}

diesel::table! {
    provider_events (provider, event_id) {
        provider -> Text,
        event_id -> Text,
        kind -> Text,
        payment_id -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::joinable!(payments -> bills (bill_id));
diesel::joinable!(payment_items -> payments (payment_id));

diesel::allow_tables_to_appear_in_same_query!(
    venues,
    staff,
    api_keys,
    dining_tables,
    bills,
    bill_items,
    idempotency_keys,
    payments,
    payment_items,
    provider_events,
);
