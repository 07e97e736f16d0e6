//! `tablepay demo`: a venue to try on the embedded default, made through the API itself (an
//! in-process server on a free port), so the demo data passes every rule real data does.
//!
//! The QR code it prints is for a phone: it holds a URL on this machine's address in the local
//! network (or `--public-url`, or `TABLEPAY_PUBLIC_URL`), and is drawn dark on light whatever
//! the terminal's colours, since a scanner reads an inverted code poorly or not at all.

use std::io::IsTerminal;
use std::net::{IpAddr, TcpListener, UdpSocket};

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

/// Where a phone finds the server: `--public-url`, else `TABLEPAY_PUBLIC_URL`, else this
/// machine's address in the local network with the port `serve` binds (`None` when there is
/// no such address, offline say: then the settings' own URL, on the loopback).
fn phone_url(settings: &Settings, args: &[String]) -> anyhow::Result<Option<String>> {
    if let Some(i) = args.iter().position(|a| a == "--public-url") {
        let url = args.get(i + 1).map(|u| u.trim_end_matches('/').to_owned()).unwrap_or_default();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!(
                "--public-url needs a URL starting with http:// or https://, such as http://192.168.1.20:8080"
            );
        }
        return Ok(Some(url));
    }
    if std::env::var_os("TABLEPAY_PUBLIC_URL").is_some() {
        return Ok(Some(settings.public_url.clone()));
    }
    Ok(lan_address().map(|ip| format!("http://{ip}:{}", settings.bind.port())))
}

/// The address this machine reaches other hosts from (the interface of its default route),
/// when it is a private one a phone on the same Wi-Fi can reach. Connecting a UDP socket sends
/// nothing; it only picks the route.
fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(v4) if v4.is_private() || v4.is_link_local() => Some(IpAddr::V4(v4)),
        _ => None,
    }
}

/// The QR code in text, two modules per character; on a terminal, black on white whatever its
/// own colours (a scanner needs dark modules on light).
fn qr_text(url: &str, terminal: bool) -> anyhow::Result<String> {
    let code = QrCode::new(url.as_bytes())?;
    let text = code.render::<Dense1x2>().quiet_zone(true).build();
    if !terminal {
        return Ok(text);
    }
    // 256-colour black foreground on white background, reset at the end of each line.
    Ok(text.lines().map(|line| format!("\x1b[38;5;16;48;5;231m{line}\x1b[0m\n")).collect())
}

/// Creates the demo venue and prints its keys, the guest URL and its QR code.
pub fn run(settings: Settings, db: Store) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let reachable = phone_url(&settings, &args)?;
    let public_url = reachable.clone().unwrap_or_else(|| settings.public_url.clone());
    let admin = format!("tp_admin_{}", secrets::random_token(24));
    let bind_port = settings.bind.port();
    let state = AppState::new(
        db,
        Settings {
            webhooks: crate::settings::WebhookSettings { worker: false, ..settings.webhooks.clone() },
            public_url: public_url.clone(),
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
        let qr = qr_text(&guest_url, std::io::stdout().is_terminal())?;
        let currency: tablepay_domain::Currency = "EUR".parse()?;
        let total = bill["totals"]["total"].as_i64().unwrap_or_default();
        println!(
            "Demo venue \"Demo Bistro\" ({id}) created, with 4 tables and an open bill of {} on Table 1.\n",
            currency.format(tablepay_domain::MinorUnit(total))
        );
        println!("POS key:      {pos}");
        println!("Manager key:  {manager}");
        println!("Server key:   {} (Sam)", server["key"].as_str().unwrap_or_default());
        println!("\nTable 1's QR code holds its guest URL:\n  {guest_url}\n");
        println!("{qr}");
        match &reachable {
            Some(url) => println!(
                "Start the server where phones reach it, on that address:\n  \
                 TABLEPAY_BIND=0.0.0.0:{bind_port} TABLEPAY_PUBLIC_URL={url} cargo run --release -- serve\n"
            ),
            None => println!(
                "No address of this machine in a local network was found, so the URL opens on this machine only; \
                 for a phone, run `tablepay demo --public-url http://<an address phones reach>:{bind_port}`.\n\
                 Start the server: cargo run --release -- serve\n"
            ),
        }
        println!("Then:");
        println!("  the guest page (a phone's browser, or a narrow window): {guest_url}");
        println!("  the staff dashboard (sign in with the server or manager key): {public_url}/staff");
        println!("  the API as JSON: curl -s {public_url}/v1/t/{}", tables[0]["qr_token"].as_str().unwrap_or_default());
        println!("  the API reference: {public_url}/docs");
        println!("Payments use the sandbox: card 4242424242424242 succeeds, 4000000000000002 is declined.");
        anyhow::Ok(())
    })
}
