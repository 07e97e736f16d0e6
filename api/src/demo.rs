//! `tablepay demo`: a venue to try on the embedded default, made through the API itself (an
//! in-process server on a free port), so the demo data passes every rule real data does.

use std::net::TcpListener;

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::{Value, json};

use crate::settings::Settings;
use crate::{AppState, secrets};
use tablepay_store::Store;

async fn call(client: &reqwest::Client, base: &str, path: &str, key: &str, body: Value) -> anyhow::Result<Value> {
    let response = client.post(format!("{base}{path}")).bearer_auth(key).json(&body).send().await?;
    let status = response.status();
    let value: Value = response.json().await?;
    if !status.is_success() {
        anyhow::bail!("{path}: {status} {value}");
    }
    Ok(value)
}

/// Creates the demo venue and prints its keys, the guest URL and its QR code.
pub fn run(settings: Settings, db: Store) -> anyhow::Result<()> {
    let admin = format!("tp_admin_{}", secrets::random_token(24));
    let public_url = settings.public_url.clone();
    let state = AppState::new(
        db,
        Settings {
            webhooks: crate::settings::WebhookSettings { worker: false, ..settings.webhooks.clone() },
            ..settings
        },
        admin.clone(),
    )?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    actix_web::rt::System::new().block_on(async move {
        let running = crate::serve(listener, state)?;
        let handle = running.server.handle();
        actix_web::rt::spawn(running.server);
        let client = reqwest::Client::new();
        let venue = call(
            &client,
            &base,
            "/v1/venues",
            &admin,
            json!({"name": "Demo Bistro", "currency": "EUR", "tax_mode": "inclusive", "tax_rate_bps": 1000,
                   "limits": {"server_comp_limit": 1500, "server_refund_limit": 2000}}),
        )
        .await?;
        let id = venue["venue"]["id"].as_str().unwrap_or_default().to_owned();
        let pos = venue["api_key"]["key"].as_str().unwrap_or_default().to_owned();
        let manager = venue["manager_key"]["key"].as_str().unwrap_or_default().to_owned();
        let server =
            call(&client, &base, &format!("/v1/venues/{id}/staff"), &manager, json!({"name": "Sam", "role": "server"}))
                .await?;
        let mut tables = Vec::new();
        for label in ["Table 1", "Table 2", "Table 3", "Terrace"] {
            tables.push(call(&client, &base, &format!("/v1/venues/{id}/tables"), &pos, json!({"label": label})).await?);
        }
        let bill = call(
            &client,
            &base,
            &format!("/v1/venues/{id}/bills"),
            &pos,
            json!({"table_id": tables[0]["id"], "server_id": server["staff"]["id"], "external_ref": "DEMO-1", "items": [
                {"name": "Soupe à l'oignon", "quantity": 2, "unit_price": 850},
                {"name": "Steak frites", "quantity": 1, "unit_price": 2400},
                {"name": "Plateau de fromages (to share)", "quantity": 1, "unit_price": 1600},
                {"name": "Carafe de vin", "quantity": 1, "unit_price": 1900}]}),
        )
        .await?;
        handle.stop(true).await;
        let guest_url = tables[0]["guest_url"].as_str().unwrap_or_default().to_owned();
        let code = QrCode::new(guest_url.as_bytes())?;
        let qr = code.render::<Dense1x2>().quiet_zone(true).build();
        println!(
            "Demo venue \"Demo Bistro\" ({id}) created, with 4 tables and an open bill of {} on Table 1.\n",
            bill["totals"]["total"]
        );
        println!("POS key:      {pos}");
        println!("Manager key:  {manager}");
        println!("Server key:   {} (Sam)", server["key"].as_str().unwrap_or_default());
        println!("\nTable 1's QR code holds its guest URL:\n  {guest_url}\n");
        println!("{qr}");
        println!("Start the server (`cargo run --release -- serve`), then:");
        println!("  the guest page (a phone's browser, or a narrow window): {guest_url}");
        println!("  the staff dashboard (sign in with the server or manager key): {public_url}/staff");
        println!("  the API as JSON: curl -s {public_url}/v1/t/{}", tables[0]["qr_token"].as_str().unwrap_or_default());
        println!("  the API reference: {public_url}/docs");
        println!("Payments use the sandbox: card 4242424242424242 succeeds, 4000000000000002 is declined.");
        anyhow::Ok(())
    })
}
