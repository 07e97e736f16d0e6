//! HTTP routes, one module per resource, one handler per operation.

pub mod adjustments;
pub mod bills;
pub mod events;
pub mod feedback;
pub mod floor;
pub mod guest;
pub mod guest_events;
pub mod openapi;
pub mod payments;
pub mod providers;
pub mod refunds;
pub mod staff;
pub mod system;
pub mod tables;
pub mod tenders;
pub mod venues;
pub mod webhooks;

use actix_web::web;

use crate::{assets, metrics};

/// One table for every operation: it registers the route and puts its `#[utoipa::path]`
/// into the OpenAPI document, so no route exists undocumented (a handler without the
/// annotation does not compile) and `ROUTES` lets a test compare both.
macro_rules! route_table {
    ($($method:ident $path:literal => $module:ident :: $handler:ident,)*) => {
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($module::$handler));)*
            // Not in the table: a path parameter that spans slashes has no OpenAPI form.
            cfg.route("/assets/{path:.*}", web::get().to(assets::asset));
        }

        /// `(method, path)` of every operation.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// `(method, path, operationId)`: the id is `module_handler`, unique like the handlers.
        pub const OPERATION_IDS: &[(&str, &str, &str)] = &[
            $((stringify!($method), $path, concat!(stringify!($module), "_", stringify!($handler))),)*
            ("get", "/assets/{path}", "assets_asset"),
        ];

        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler,)* assets::asset))]
        pub struct ApiDoc;
    };
}

route_table! {
    get "/healthz" => system::healthz,
    // actix tries the routes in this order, each dynamic one by a regular expression: the
    // guests' routes (most of the traffic) and the sandbox's confirmation come first.
    get "/v1/t/{qr_token}" => guest::view,
    get "/v1/t/{qr_token}/events" => guest_events::stream,
    post "/v1/t/{qr_token}/payments" => payments::create,
    get "/v1/t/{qr_token}/payments/{payment_id}" => payments::get,
    post "/v1/t/{qr_token}/payments/{payment_id}/cancel" => payments::cancel,
    get "/v1/t/{qr_token}/payments/{payment_id}/receipt" => payments::receipt,
    post "/v1/t/{qr_token}/payments/{payment_id}/invoice" => payments::invoice,
    post "/v1/t/{qr_token}/payments/{payment_id}/receipt/email" => payments::email_receipt,
    post "/v1/sandbox/payments/{payment_id}/confirm" => providers::sandbox_confirm,
    post "/v1/t/{qr_token}/assistance" => guest::assistance,
    get "/v1/t/{qr_token}/assistance/{assistance_id}" => guest::call_status,
    post "/v1/t/{qr_token}/feedback" => guest::feedback,
    get "/.well-known/apple-developer-merchantid-domain-association" => system::apple_pay_domain_association,
    get "/metrics" => metrics::scrape,
    get "/readyz" => system::readyz,
    get "/openapi.json" => openapi::openapi_json,
    get "/docs" => openapi::docs,
    get "/t/{qr_token}" => assets::guest_page,
    get "/staff" => assets::staff_page,
    get "/v1/me" => staff::me,
    post "/v1/venues" => venues::create,
    get "/v1/venues/{venue_id}" => venues::get,
    patch "/v1/venues/{venue_id}" => venues::change,
    post "/v1/venues/{venue_id}/staff" => venues::create_staff,
    get "/v1/venues/{venue_id}/staff" => venues::list_staff,
    post "/v1/venues/{venue_id}/api-keys" => venues::create_key,
    delete "/v1/api-keys/{key_id}" => venues::revoke_key,
    post "/v1/venues/{venue_id}/tables" => tables::create,
    get "/v1/venues/{venue_id}/tables" => tables::list,
    get "/v1/tables/{table_id}" => tables::get,
    post "/v1/tables/{table_id}/qr-token/rotate" => tables::rotate_qr,
    post "/v1/venues/{venue_id}/bills" => bills::create,
    put "/v1/venues/{venue_id}/bills/by-ref/{external_ref}" => bills::upsert_by_ref,
    get "/v1/bills/{bill_id}" => bills::get,
    post "/v1/bills/{bill_id}/items" => bills::add_items,
    delete "/v1/bills/{bill_id}/items/{item_id}" => bills::void_item,
    post "/v1/bills/{bill_id}/close" => bills::close,
    post "/v1/bills/{bill_id}/move" => bills::move_bill,
    post "/v1/bills/{bill_id}/merge" => bills::merge,
    post "/v1/bills/{bill_id}/tenders" => tenders::create,
    post "/v1/tenders/{tender_id}/void" => tenders::void,
    post "/v1/providers/stripe/webhook" => providers::stripe_webhook,
    get "/v1/venues/{venue_id}/events" => events::stream,
    post "/v1/venues/{venue_id}/webhook-endpoints" => webhooks::create,
    get "/v1/venues/{venue_id}/webhook-endpoints" => webhooks::list,
    get "/v1/webhook-endpoints/{endpoint_id}" => webhooks::get,
    patch "/v1/webhook-endpoints/{endpoint_id}" => webhooks::update,
    delete "/v1/webhook-endpoints/{endpoint_id}" => webhooks::delete,
    post "/v1/webhook-endpoints/{endpoint_id}/rotate-secret" => webhooks::rotate,
    get "/v1/venues/{venue_id}/webhook-deliveries" => webhooks::deliveries,
    post "/v1/webhook-deliveries/{delivery_id}/retry" => webhooks::retry,
    post "/v1/bills/{bill_id}/adjustments" => adjustments::create,
    post "/v1/adjustments/{adjustment_id}/approve" => adjustments::approve,
    post "/v1/adjustments/{adjustment_id}/reject" => adjustments::reject,
    post "/v1/payments/{payment_id}/refunds" => refunds::create,
    post "/v1/refunds/{refund_id}/approve" => refunds::approve,
    post "/v1/refunds/{refund_id}/reject" => refunds::reject,
    get "/v1/venues/{venue_id}/floor" => floor::view,
    get "/v1/venues/{venue_id}/approvals" => staff::approvals,
    get "/v1/venues/{venue_id}/assistance" => staff::open_assistance,
    get "/v1/venues/{venue_id}/audit-log" => floor::audit_log,
    get "/v1/venues/{venue_id}/reports/daily" => floor::daily_report,
    post "/v1/assistance/{assistance_id}/resolve" => floor::resolve_assistance,
    get "/v1/venues/{venue_id}/feedback" => feedback::list,
}
