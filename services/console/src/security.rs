//! Response headers every page carries, and the checks every POST passes.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::session::Session;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Strict headers on every response; nothing is cached (pages hold PHI, assets are tiny).
pub async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::CACHE_CONTROL, "no-store");
    set(header::PRAGMA, "no-cache");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(header::HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    response
}

/// A POST must come from this site's own pages. Fetch metadata decides where the browser sends it;
/// otherwise the Origin must be ours. (Under `Referrer-Policy: no-referrer` browsers send
/// `Origin: null` even for same-origin forms, so `null` alone proves nothing and is refused.)
/// A request with neither header comes from no browser, and so from no forged page.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (value("origin"), value("host")) {
        (Some(origin), Some(host)) => origin == format!("http://{host}") || origin == format!("https://{host}"),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The POST carries the session's CSRF token and comes from this site.
pub fn post_allowed(headers: &HeaderMap, session: &Session, csrf: &str) -> bool {
    same_origin(headers) && constant_time_eq(session.csrf.as_bytes(), csrf.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session cookie; `Secure` when the browser reached us over TLS (a terminating proxy says so).
pub fn session_cookie(id: &str, max_age: u64, headers: &HeaderMap) -> String {
    let tls = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        crate::session::COOKIE,
        if tls { "; Secure" } else { "" }
    )
}

pub fn clear_cookie() -> String {
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", crate::session::COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "null")])));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_behind_tls() {
        let plain = session_cookie("abc", 60, &HeaderMap::new());
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && !plain.contains("Secure"));
        assert!(session_cookie("abc", 60, &headers(&[("x-forwarded-proto", "https")])).ends_with("; Secure"));
    }
}
