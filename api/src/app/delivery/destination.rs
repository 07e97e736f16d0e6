//! Where a webhook may be sent. A venue names its endpoints' URLs, so a URL is a way to make
//! this server send requests: unless private networks are allowed, only public addresses are
//! accepted, checked when the endpoint is saved and again (pinned) at every attempt.

use std::net::{IpAddr, SocketAddr};

use crate::app::{AppError, AppResult};

/// The longest endpoint URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// Loopback, private, link-local, shared and other addresses no public receiver has.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// The host of a URL and the public addresses it resolves to (refused if any is not public).
pub async fn resolve_public(raw: &str) -> AppResult<(String, Vec<SocketAddr>)> {
    let url = check_destination(raw, true).await?;
    let (host, port) = host_and_port(&url)?;
    let addrs = resolve(&host, port).await?;
    if addrs.is_empty() || addrs.iter().any(|a| is_private(a.ip())) {
        return Err(AppError::invalid("url resolves to a loopback, private or link-local address"));
    }
    Ok((host, addrs))
}

/// An endpoint URL as it is saved: at most [`MAX_URL_CHARS`], and a checked destination.
pub async fn checked_url(raw: &str, allow_private: bool) -> AppResult<String> {
    if raw.len() > MAX_URL_CHARS {
        return Err(AppError::invalid(format!("url must be at most {MAX_URL_CHARS} characters")));
    }
    Ok(check_destination(raw, allow_private).await?.to_string())
}

/// Checks an endpoint URL: http(s), a host, no credentials, and, unless private networks
/// are allowed, every address it resolves to public.
pub async fn check_destination(raw: &str, allow_private: bool) -> AppResult<url::Url> {
    let url = url::Url::parse(raw).map_err(|e| AppError::invalid(format!("url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AppError::invalid("url must be http:// or https://"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::invalid("url must not carry credentials"));
    }
    let (host, port) = host_and_port(&url)?;
    if allow_private {
        return Ok(url);
    }
    let addresses = resolve(&host, port).await?;
    if addresses.is_empty() || addresses.iter().any(|a| is_private(a.ip())) {
        return Err(AppError::invalid(
            "url resolves to a loopback, private or link-local address; set TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for a receiver on the venue's own network",
        ));
    }
    Ok(url)
}

/// The URL's host without IPv6 brackets, and its port (the scheme's by default).
fn host_and_port(url: &url::Url) -> AppResult<(String, u16)> {
    let host = url.host_str().ok_or_else(|| AppError::invalid("url needs a host"))?.trim_matches(['[', ']']);
    Ok((host.to_owned(), url.port_or_known_default().unwrap_or(443)))
}

/// The addresses a host names: itself when it is an IP address, else what DNS answers.
async fn resolve(host: &str, port: u16) -> AppResult<Vec<SocketAddr>> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Ok(vec![SocketAddr::new(ip, port)]),
        Err(_) => Ok(tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| AppError::invalid(format!("url host {host:?} does not resolve")))?
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.69", "2a00:1450:4001::200e"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn destinations() {
        assert!(check_destination("ftp://example.com/x", true).await.is_err());
        assert!(check_destination("https://user:pw@example.com/x", true).await.is_err());
        assert!(check_destination("http://127.0.0.1:9000/hook", false).await.is_err());
        assert!(check_destination("http://[::1]:9000/hook", false).await.is_err());
        assert!(check_destination("http://127.0.0.1:9000/hook", true).await.is_ok());
        assert!(check_destination("https://8.8.8.8/hook", false).await.is_ok());
    }
}
