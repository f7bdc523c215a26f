//! HTML building blocks: escaping, the page frame, and a plain table for JSON rows. Every value
//! from the API passes through `esc` before it reaches a page.

use std::fmt::Write;

use carelog_auth::policy::{self, Access};

use crate::session::Session;

pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Cents as dollars.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// A form posting to `action` with the session's CSRF token.
pub fn form_open(action: &str, session: &Session, class: &str) -> String {
    format!(
        r#"<form method="post" action="{action}" class="{class}"><input type="hidden" name="csrf" value="{}">"#,
        esc(&session.csrf)
    )
}

/// A button opening a client's record (by POST: the id never goes into a URL).
pub fn open_client_button(session: &Session, client_id: &str) -> String {
    format!(
        r#"{}<input type="hidden" name="client_id" value="{}"><button type="submit">Open</button></form>"#,
        form_open("/client", session, "inline"),
        esc(client_id)
    )
}

/// The navigation: each page and the calls it needs (a role sees the pages it may read).
const NAV: &[(&str, &str, &[&str])] = &[
    ("/", "Find a client", &[]),
    ("/episode", "Episode", &["RecordsService/GetEpisode"]),
    ("/timeline", "Timeline", &["RecordsService/ListAuditTrail"]),
    ("/diff", "What changed", &["RecordsService/GetEpisodeAsOf", "RecordsService/ListAuditTrail"]),
    ("/ledger", "Ledger", &["RecordsService/GetLedger"]),
    ("/disclosures", "Disclosures", &["RecordsService/ListDisclosures"]),
    ("/report", "Report", &crate::report::CALLS),
    ("/caseload", "Caseload", &["RecordsService/GetCaseload"]),
];

/// The page frame: header with navigation and the signed-in user, then `body`.
pub fn page(title: &str, session: Option<&Session>, body: &str) -> String {
    let mut out = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · Carelog audit console</title><link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script></head><body><header><a class="brand" href="/">Carelog <span>audit console</span></a>"#,
        esc(title)
    );
    if let Some(session) = session {
        out.push_str("<nav>");
        for (href, name, calls) in NAV {
            let may = calls.iter().all(|rpc| matches!(policy::access(rpc, session.who.role), Access::Granted(_)));
            if may {
                let _ = write!(out, r#"<a href="{href}">{name}</a>"#);
            }
        }
        out.push_str("</nav>");
        let _ = write!(
            out,
            r#"<div class="who"><span id="who-role">{}</span>{}<button type="submit">Sign out</button></form></div>"#,
            esc(&crate::show::actor(
                session.who.name.as_deref().unwrap_or(""),
                session.who.role.as_str(),
                &session.who.subject.to_string()
            )),
            form_open("/signout", session, "inline"),
        );
    }
    let _ = write!(
        out,
        "</header><main>{body}</main><footer>Read-only. Every view of a record is itself recorded in the audit trail.</footer></body></html>"
    );
    out
}

/// A message box for the user.
pub fn notice(kind: &str, message: &str) -> String {
    format!(r#"<p class="notice {kind}" role="alert">{}</p>"#, esc(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn money_prints_dollars_and_cents() {
        assert_eq!(money(95000), "$950.00");
        assert_eq!(money(-5), "-$0.05");
    }
}
