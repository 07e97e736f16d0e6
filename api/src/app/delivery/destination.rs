//! Where a webhook may be sent. A venue names its endpoints' URLs, so a URL is a way to make
//! this server send requests: unless private networks are allowed, only public addresses are
//! accepted, checked when the endpoint is saved and again (pinned) at every attempt.

use std::net::{IpAddr, SocketAddr};

use crate::app::{AppError, AppResult};

/// The longest endpoint URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// IPv4 ranges of IANA's special-purpose address registry (RFC 6890 and its updates), plus
/// multicast and the limited broadcast: loopback, private, shared (CGNAT), link-local,
/// documentation, benchmarking, reserved, relay and AS112 ranges. None is a venue's public
/// receiver, so a webhook may never be sent there.
const SPECIAL_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (cloud metadata services live here)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 31, 196, 0], 24), // AS112-v4
    ([192, 52, 193, 0], 24), // AMT
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([192, 175, 48, 0], 24), // direct delegation AS112
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 (limited broadcast)
];

/// Special-purpose IPv6 ranges inside the global unicast block 2000::/3. Everything outside
/// 2000::/3 is special already: loopback, unspecified, the IPv4-mapped (::ffff:0:0/96),
/// IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96) forms, NAT64 (64:ff9b::/96,
/// 64:ff9b:1::/48), discard (100::/64), unique local (fc00::/7), link-local (fe80::/10),
/// site-local (fec0::/10) and multicast (ff00::/8).
const SPECIAL_V6: &[([u16; 8], u8)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments: Teredo, benchmarking, ORCHID…
    ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4, which embeds any IPv4 address
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
];

/// Whether `ip` lies in a special-purpose range (IANA's IPv4 and IPv6 registries, multicast
/// included), in any of its forms: an IPv6 address that embeds an IPv4 one (mapped,
/// compatible, translated, NAT64, 6to4, Teredo) is special as a whole. Only ordinary public
/// unicast addresses are not.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            SPECIAL_V4.iter().any(|(net, len)| in_prefix(bits.into(), u32::from_be_bytes(*net).into(), *len, 32))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let global_unicast = bits >> 125 == 0b001;
            !global_unicast
                || SPECIAL_V6
                    .iter()
                    .any(|(net, len)| in_prefix(bits, u128::from(std::net::Ipv6Addr::from(*net)), *len, 128))
        }
    }
}

/// Whether the top `len` of `width` bits of `addr` and `net` agree.
fn in_prefix(addr: u128, net: u128, len: u8, width: u32) -> bool {
    let shift = width - u32::from(len);
    addr >> shift == net >> shift
}

/// The host of a URL and the public addresses it resolves to (refused if any is not public).
pub async fn resolve_public(raw: &str) -> AppResult<(String, Vec<SocketAddr>)> {
    let url = check_destination(raw, true).await?;
    let (host, port) = host_and_port(&url)?;
    let addrs = resolve(&host, port).await?;
    if addrs.is_empty() || addrs.iter().any(|a| is_private(a.ip())) {
        return Err(AppError::invalid(
            "url resolves to a loopback, private, link-local or other special-purpose address",
        ));
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
            "url resolves to a loopback, private, link-local or other special-purpose address; set TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for a receiver on the venue's own network",
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
            // Embedded IPv4 forms and the other special-purpose ranges of IANA's registries.
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "::ffff:8.8.8.8",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "fec0::1",
            "100::1",
            "ff02::1",
            "::",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "192.88.99.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.69", "2a00:1450:4001::200e", "198.20.0.1", "100.128.0.1", "2003::1", "1.1.1.1"]
        {
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
