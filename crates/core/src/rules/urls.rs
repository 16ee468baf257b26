//! The public base URL the gateway is reached at, for links it prints (Context Services content
//! URLs, the WSDL's addresses). A configured public URL wins; else the request's forwarded headers;
//! else its `Host`. Only the first value of a comma-separated forwarded list counts (the client's
//! side of the first proxy).

/// What a request says about how it was reached.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOrigin<'a> {
    pub forwarded_proto: Option<&'a str>,
    pub forwarded_host: Option<&'a str>,
    pub host: Option<&'a str>,
    /// The scheme of the connection itself (`http` unless TLS is terminated by the gateway).
    pub scheme: &'a str,
}

/// `scheme://host[:port]` with no trailing slash.
pub fn public_base_url(configured: Option<&str>, origin: RequestOrigin<'_>) -> String {
    if let Some(url) = configured.map(str::trim).filter(|u| !u.is_empty()) {
        return url.trim_end_matches('/').to_string();
    }
    let proto = first(origin.forwarded_proto)
        .filter(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"))
        .unwrap_or(origin.scheme)
        .to_ascii_lowercase();
    let host =
        first(origin.forwarded_host).or(first(origin.host)).filter(|h| is_plausible_host(h)).unwrap_or("localhost");
    format!("{proto}://{host}")
}

fn first(v: Option<&str>) -> Option<&str> {
    v.and_then(|v| v.split(',').next()).map(str::trim).filter(|v| !v.is_empty())
}

/// A host header that cannot smuggle a path, user info or markup into the links we print.
fn is_plausible_host(host: &str) -> bool {
    host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_then_forwarded_then_host() {
        let origin = RequestOrigin {
            forwarded_proto: Some("https, http"),
            forwarded_host: Some("gw.example.com, inner"),
            host: Some("10.0.0.5:8080"),
            scheme: "http",
        };
        assert_eq!(public_base_url(Some("https://pub.example/"), origin), "https://pub.example");
        assert_eq!(public_base_url(None, origin), "https://gw.example.com");
        let plain = RequestOrigin { host: Some("127.0.0.1:8080"), scheme: "http", ..Default::default() };
        assert_eq!(public_base_url(None, plain), "http://127.0.0.1:8080");
    }

    #[test]
    fn hostile_hosts_fall_back() {
        let evil = RequestOrigin { host: Some("evil.com/<script>"), scheme: "http", ..Default::default() };
        assert_eq!(public_base_url(None, evil), "http://localhost");
        let proto = RequestOrigin {
            forwarded_proto: Some("javascript"),
            host: Some("h"),
            scheme: "http",
            ..Default::default()
        };
        assert_eq!(public_base_url(None, proto), "http://h");
    }
}
