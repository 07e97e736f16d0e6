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
        event_seq -> BigInt,
        legal_name -> Nullable<Text>,
        address -> Nullable<Text>,
        vat_id -> Nullable<Text>,
        receipt_seq -> BigInt,
        invoice_seq -> BigInt,
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
        content_version -> BigInt,
        split_round -> Integer,
        merged_into -> Nullable<Text>,
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
        split_round -> Integer,
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

diesel::table! {
    events (id) {
        id -> Text,
        venue_id -> Text,
        seq -> BigInt,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        venue_id -> Text,
        url -> Text,
        event_types -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        venue_id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        lock_token -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        started_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(refunds -> payments (payment_id));
diesel::joinable!(bills -> venues (venue_id));
diesel::table! {
    webhook_retired_secrets (endpoint_id, secret) {
        endpoint_id -> Text,
        secret -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::table! {
    adjustments (id) {
        id -> Text,
        venue_id -> Text,
        bill_id -> Text,
        item_id -> Nullable<Text>,
        kind -> Text,
        amount -> BigInt,
        percent_bps -> Nullable<Integer>,
        reason -> Text,
        status -> Text,
        created_by_id -> Text,
        created_by_name -> Text,
        created_by_role -> Text,
        approved_by_id -> Nullable<Text>,
        approved_by_name -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        refund_id -> Nullable<Text>,
    }
}

diesel::table! {
    adjustment_lines (adjustment_id, item_id) {
        adjustment_id -> Text,
        bill_id -> Text,
        item_id -> Text,
        amount -> BigInt,
    }
}

diesel::table! {
    refunds (id) {
        id -> Text,
        venue_id -> Text,
        payment_id -> Text,
        bill_id -> Text,
        amount -> BigInt,
        reason -> Text,
        status -> Text,
        provider_ref -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_by_id -> Text,
        created_by_name -> Text,
        created_by_role -> Text,
        approved_by_id -> Nullable<Text>,
        approved_by_name -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
        adjust_bill -> Bool,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        venue_id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        actor_name -> Text,
        actor_role -> Text,
        action -> Text,
        bill_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        amount -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        approved_by -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    assistance_requests (id) {
        id -> Text,
        venue_id -> Text,
        table_id -> Text,
        bill_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
    }
}

diesel::table! {
    feedback (id) {
        id -> Text,
        venue_id -> Text,
        table_id -> Text,
        bill_id -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        rating -> Integer,
        comment -> Nullable<Text>,
        flagged -> Bool,
        created_at -> Timestamp,
    }
}

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
    events,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    adjustments,
    adjustment_lines,
    refunds,
    audit_log,
    assistance_requests,
    feedback,
    tenders,
    receipts,
    invoices,
    emails,
);

diesel::table! {
    emails (id) {
        id -> Text,
        venue_id -> Text,
        payment_id -> Text,
        recipient -> Text,
        lang -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        lock_token -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        request_key -> Nullable<Text>,
    }
}

diesel::table! {
    receipts (payment_id) {
        payment_id -> Text,
        venue_id -> Text,
        number -> BigInt,
        issued_at -> Timestamp,
        body -> Text,
    }
}

diesel::table! {
    invoices (id) {
        id -> Text,
        venue_id -> Text,
        payment_id -> Text,
        number -> BigInt,
        company_name -> Text,
        address -> Text,
        vat_id -> Nullable<Text>,
        body -> Text,
        issued_at -> Timestamp,
    }
}

diesel::table! {
    tenders (id) {
        id -> Text,
        venue_id -> Text,
        bill_id -> Text,
        kind -> Text,
        amount -> BigInt,
        tip_amount -> BigInt,
        reference -> Nullable<Text>,
        note -> Nullable<Text>,
        status -> Text,
        recorded_by_id -> Text,
        recorded_by_name -> Text,
        recorded_by_role -> Text,
        void_reason -> Nullable<Text>,
        voided_by_name -> Nullable<Text>,
        created_at -> Timestamp,
        voided_at -> Nullable<Timestamp>,
    }
}
