//! HTTP routes, one module per resource, one handler per operation.

pub mod adjustments;
pub mod bills;
pub mod events;
pub mod floor;
pub mod guest;
pub mod payments;
pub mod providers;
pub mod refunds;
pub mod system;
pub mod tables;
pub mod venues;
pub mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(system::healthz))
        .route("/metrics", web::get().to(crate::metrics::scrape))
        .route("/readyz", web::get().to(system::readyz))
        .service(
            web::scope("/v1")
                .route("/venues", web::post().to(venues::create))
                .route("/venues/{venue_id}", web::get().to(venues::get))
                .route("/venues/{venue_id}/staff", web::post().to(venues::create_staff))
                .route("/venues/{venue_id}/staff", web::get().to(venues::list_staff))
                .route("/venues/{venue_id}/api-keys", web::post().to(venues::create_key))
                .route("/api-keys/{key_id}", web::delete().to(venues::revoke_key))
                .route("/venues/{venue_id}/tables", web::post().to(tables::create))
                .route("/venues/{venue_id}/tables", web::get().to(tables::list))
                .route("/tables/{table_id}", web::get().to(tables::get))
                .route("/tables/{table_id}/qr-token/rotate", web::post().to(tables::rotate_qr))
                .route("/venues/{venue_id}/bills", web::post().to(bills::create))
                .route("/venues/{venue_id}/bills/by-ref/{external_ref}", web::put().to(bills::upsert_by_ref))
                .route("/bills/{bill_id}", web::get().to(bills::get))
                .route("/bills/{bill_id}/items", web::post().to(bills::add_items))
                .route("/bills/{bill_id}/items/{item_id}", web::delete().to(bills::void_item))
                .route("/bills/{bill_id}/close", web::post().to(bills::close))
                .route("/t/{qr_token}", web::get().to(guest::view))
                .route("/t/{qr_token}/payments", web::post().to(payments::create))
                .route("/t/{qr_token}/payments/{payment_id}", web::get().to(payments::get))
                .route("/t/{qr_token}/payments/{payment_id}/cancel", web::post().to(payments::cancel))
                .route("/t/{qr_token}/payments/{payment_id}/receipt", web::get().to(payments::receipt))
                .route("/sandbox/payments/{payment_id}/confirm", web::post().to(providers::sandbox_confirm))
                .route("/providers/stripe/webhook", web::post().to(providers::stripe_webhook))
                .route("/venues/{venue_id}/events", web::get().to(events::stream))
                .route("/venues/{venue_id}/webhook-endpoints", web::post().to(webhooks::create))
                .route("/venues/{venue_id}/webhook-endpoints", web::get().to(webhooks::list))
                .route("/webhook-endpoints/{endpoint_id}", web::get().to(webhooks::get))
                .route("/webhook-endpoints/{endpoint_id}", web::patch().to(webhooks::update))
                .route("/webhook-endpoints/{endpoint_id}", web::delete().to(webhooks::delete))
                .route("/webhook-endpoints/{endpoint_id}/rotate-secret", web::post().to(webhooks::rotate))
                .route("/venues/{venue_id}/webhook-deliveries", web::get().to(webhooks::deliveries))
                .route("/webhook-deliveries/{delivery_id}/retry", web::post().to(webhooks::retry))
                .route("/bills/{bill_id}/adjustments", web::post().to(adjustments::create))
                .route("/adjustments/{adjustment_id}/approve", web::post().to(adjustments::approve))
                .route("/adjustments/{adjustment_id}/reject", web::post().to(adjustments::reject))
                .route("/payments/{payment_id}/refunds", web::post().to(refunds::create))
                .route("/refunds/{refund_id}/approve", web::post().to(refunds::approve))
                .route("/refunds/{refund_id}/reject", web::post().to(refunds::reject))
                .route("/venues/{venue_id}/floor", web::get().to(floor::view))
                .route("/venues/{venue_id}/audit-log", web::get().to(floor::audit_log))
                .route("/venues/{venue_id}/reports/daily", web::get().to(floor::daily_report))
                .route("/assistance/{assistance_id}/resolve", web::post().to(floor::resolve_assistance))
                .route("/t/{qr_token}/assistance", web::post().to(guest::assistance))
                .route("/t/{qr_token}/feedback", web::post().to(guest::feedback)),
        );
}
