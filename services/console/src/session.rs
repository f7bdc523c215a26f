//! Signed-in users: the bearer token and what the console remembers between pages (the selected
//! client, the as-of point), kept server-side under a random session id so that neither the token
//! nor any PHI ever travels in a URL or a readable cookie.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use carelog_auth::Role;
use serde::Deserialize;
use uuid::Uuid;

use crate::asof::AsOf;

pub const COOKIE: &str = "carelog_console";

/// Who a token names. Read without checking the signature: only to shape the pages; the gRPC
/// services verify the token on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub subject: Uuid,
    pub role: Role,
    pub clinician: Option<Uuid>,
    /// The display name the token carries (None without one, or when it is not a printable name).
    pub name: Option<String>,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    role: String,
    #[serde(default)]
    clinician: Option<String>,
    #[serde(default)]
    name: Option<String>,
    exp: u64,
}

/// Why a pasted token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("token: paste a Carelog bearer token (three dot-separated parts, from `carelog token --role auditor`)")]
    Malformed,
    #[error("token: it has expired; mint a new one (`carelog token --role auditor`)")]
    Expired,
    #[error("token: {0}")]
    Unusable(String),
}

pub fn read_token(token: &str, now: u64) -> Result<TokenInfo, TokenProblem> {
    let token = token.trim().strip_prefix("Bearer ").unwrap_or(token.trim());
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenProblem::Malformed);
    };
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenProblem::Malformed)?;
    let claims: RawClaims = serde_json::from_slice(&bytes).map_err(|_| TokenProblem::Malformed)?;
    let subject = Uuid::parse_str(&claims.sub).map_err(|_| TokenProblem::Unusable("`sub` is not a user id".into()))?;
    let role = claims.role.parse::<Role>().map_err(TokenProblem::Unusable)?;
    let clinician = claims.clinician.as_deref().and_then(|c| Uuid::parse_str(c).ok());
    if claims.exp <= now {
        return Err(TokenProblem::Expired);
    }
    let name = claims.name.as_deref().and_then(|n| carelog_auth::display_name(n).ok().flatten());
    Ok(TokenInfo { subject, role, clinician, name, expires_at: claims.exp })
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub who: TokenInfo,
    /// Echoed in every form: a POST without it is refused.
    pub csrf: String,
    pub client: Option<String>,
    pub as_of: Option<AsOf>,
    /// A message for the next page (e.g. a malformed as-of).
    pub flash: Option<String>,
    /// From the last episode shown: its clinician (for the caseload) and billing accounts (for the ledger).
    pub clinician_of_client: Option<String>,
    pub accounts: Vec<String>,
    /// The caseload page's clinician, when chosen by hand.
    pub caseload_of: Option<String>,
    /// The log's head when the record was last shown as it stands now: the as-of slider's end.
    pub head: u64,
}

impl Session {
    pub fn new(token: String, who: TokenInfo) -> Self {
        Self {
            token,
            who,
            csrf: random_id(),
            client: None,
            as_of: None,
            flash: None,
            clinician_of_client: None,
            accounts: Vec::new(),
            caseload_of: None,
            head: 0,
        }
    }
}

/// The sessions of this process (a restart signs everyone out).
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    pub fn create(&self, session: Session, now: u64) -> String {
        let id = random_id();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.who.expires_at > now);
        map.insert(id.clone(), session);
        id
    }

    /// The live session under `id`; an expired one is dropped.
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(id) {
            Some(session) if session.who.expires_at > now => Some(session.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn update(&self, id: &str, change: impl FnOnce(&mut Session)) {
        if let Some(session) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get_mut(id) {
            change(session);
        }
    }

    pub fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The session id from a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).map(|(_, v)| v)
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(claims))
    }

    #[test]
    fn a_token_names_its_user_and_role() {
        let id = Uuid::now_v7();
        let info = read_token(&token(&format!(r#"{{"sub":"{id}","role":"auditor","exp":200}}"#)), 100).unwrap();
        assert_eq!(info, TokenInfo { subject: id, role: Role::Auditor, clinician: None, name: None, expires_at: 200 });
    }

    #[test]
    fn a_display_name_is_read_when_printable_and_dropped_otherwise() {
        let id = Uuid::now_v7();
        let named = |name: &str| {
            let claims = serde_json::json!({"sub": id.to_string(), "role": "auditor", "exp": 200, "name": name});
            read_token(&token(&claims.to_string()), 100).unwrap().name
        };
        assert_eq!(named(" Dr. Ana Ruiz ").as_deref(), Some("Dr. Ana Ruiz"));
        assert_eq!(named("Ana\u{202E}zuiR"), None, "a name that disguises itself is not shown");
        assert_eq!(named(""), None);
    }

    #[test]
    fn expired_malformed_and_foreign_tokens_are_refused_with_the_reason() {
        let id = Uuid::now_v7();
        let expired = token(&format!(r#"{{"sub":"{id}","role":"auditor","exp":100}}"#));
        assert_eq!(read_token(&expired, 100), Err(TokenProblem::Expired));
        assert_eq!(read_token("not a token", 100), Err(TokenProblem::Malformed));
        assert_eq!(read_token("a.b.c", 100), Err(TokenProblem::Malformed));
        let role = token(&format!(r#"{{"sub":"{id}","role":"janitor","exp":200}}"#));
        assert!(matches!(read_token(&role, 100), Err(TokenProblem::Unusable(m)) if m.contains("janitor")));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(cookie_value("a=1; carelog_console=abc; b=2"), Some("abc"));
        assert_eq!(cookie_value("a=1"), None);
    }

    #[test]
    fn an_expired_session_is_gone() {
        let sessions = Sessions::default();
        let who =
            TokenInfo { subject: Uuid::now_v7(), role: Role::Auditor, clinician: None, name: None, expires_at: 50 };
        let id = sessions.create(Session::new("t".into(), who), 10);
        assert!(sessions.get(&id, 49).is_some());
        assert!(sessions.get(&id, 50).is_none());
        assert!(sessions.get(&id, 10).is_none(), "removed once seen expired");
    }
}
