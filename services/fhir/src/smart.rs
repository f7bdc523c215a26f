//! SMART Backend Services (client-credentials with a signed JWT assertion): a registered
//! connector signs an assertion with its private key (RS384 or ES384), the token endpoint checks
//! it against the connector's registered JWKS and hands out a short-lived access token whose
//! role is the one the connector was registered with and whose scopes narrow the resource types.
//!
//! Access tokens are HS256 JWTs under a key made at start and never stored, with an issuer of
//! their own: they cannot be confused with Carelog tokens, and a restart revokes them all (a
//! connector asks again, as SMART clients do when a token is refused).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use carelog_auth::{Principal, Role};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::outcome::FhirError;
use crate::search::TYPES;

/// How long an access token lives.
pub const TOKEN_SECONDS: u64 = 300;
/// An assertion may live at most this long (SMART: no more than five minutes).
const MAX_ASSERTION_SECONDS: u64 = 300;
const ISSUER: &str = "carelog-fhir-smart";

/// One connector allowed to ask for tokens (the registration file holds a JSON array of these).
#[derive(Debug, Clone, Deserialize)]
pub struct Registration {
    pub client_id: String,
    /// The Carelog role its tokens carry: `connector` or `auditor`.
    pub role: String,
    /// The user id its reads are logged under.
    pub subject: Uuid,
    pub jwks: JwkSet,
}

/// Why the token endpoint refused (OAuth 2.0 error codes, RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
}

impl TokenRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    role: String,
    scope: String,
    exp: u64,
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    jti: String,
    exp: u64,
}

/// The token endpoint's state: registrations, the access-token key, assertions already used.
pub struct Smart {
    clients: HashMap<String, Registration>,
    token_url: String,
    key: Vec<u8>,
    /// `(client, jti)` → expiry: an assertion is good once.
    used: Mutex<HashMap<(String, String), u64>>,
}

impl std::fmt::Debug for Smart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smart").field("clients", &self.clients.keys()).field("token_url", &self.token_url).finish()
    }
}

impl Smart {
    pub fn new(registrations: Vec<Registration>, token_url: String) -> anyhow::Result<Self> {
        let mut clients = HashMap::new();
        for r in registrations {
            anyhow::ensure!(
                matches!(Role::parse(&r.role), Some(Role::Connector | Role::Auditor)),
                "SMART client {}: role must be connector or auditor, not {:?}",
                r.client_id,
                r.role
            );
            anyhow::ensure!(
                r.jwks.keys.iter().all(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_))),
                "SMART client {}: only public keys (RSA, EC) may be registered",
                r.client_id
            );
            clients.insert(r.client_id.clone(), r);
        }
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Ok(Self { clients, token_url, key, used: Mutex::new(HashMap::new()) })
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Checks a client-credentials request and returns `(access_token, scope)`.
    pub fn grant(&self, form: &HashMap<String, String>) -> Result<(String, String), TokenRefusal> {
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        if field("grant_type") != "client_credentials" {
            return Err(TokenRefusal::UnsupportedGrantType("grant_type must be client_credentials".into()));
        }
        if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
            return Err(TokenRefusal::InvalidRequest("client_assertion_type must be jwt-bearer".into()));
        }
        let client = self.authenticate(field("client_assertion"))?;
        scoped_types(field("scope"))?;
        let role = Role::parse(&client.role).ok_or_else(|| TokenRefusal::InvalidClient("bad registration".into()))?;
        let now = now();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            sub: client.subject.to_string(),
            role: role.as_str().into(),
            scope: field("scope").to_owned(),
            exp: now + TOKEN_SECONDS,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.key))
            .map_err(|e| TokenRefusal::InvalidRequest(format!("could not issue a token: {e}")))?;
        Ok((token, claims.scope))
    }

    /// The registered client an assertion proves to be, checked in full: signature by a key of
    /// its JWKS (RS384/ES384 only), `iss` = `sub` = client id, `aud` = the token URL, an expiry
    /// at most five minutes away, and a `jti` not seen before.
    fn authenticate(&self, assertion: &str) -> Result<&Registration, TokenRefusal> {
        let bad = |why: &str| TokenRefusal::InvalidClient(format!("client assertion refused: {why}"));
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad("not a JWT"))?;
        if !matches!(header.alg, Algorithm::RS384 | Algorithm::ES384) {
            return Err(bad("alg must be RS384 or ES384"));
        }
        let issuer = unverified_issuer(assertion).ok_or_else(|| bad("no iss"))?;
        let client = self.clients.get(&issuer).ok_or_else(|| bad("unknown client"))?;
        let jwk = match &header.kid {
            Some(kid) => client.jwks.find(kid),
            None if client.jwks.keys.len() == 1 => client.jwks.keys.first(),
            None => None,
        }
        .ok_or_else(|| bad("no registered key with that kid"))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| bad("registered key unusable"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.token_url]);
        validation.set_issuer(&[&client.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
            .map_err(|e| bad(&e.to_string()))?
            .claims;
        let now = now();
        if claims.sub != claims.iss {
            return Err(bad("sub must equal iss (the client id)"));
        }
        if claims.exp > now + MAX_ASSERTION_SECONDS + 30 {
            return Err(bad("exp is more than five minutes away"));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(bad("jti missing or too long"));
        }
        let mut used = self.used.lock().map_err(|_| bad("replay cache poisoned"))?;
        used.retain(|_, exp| *exp + 30 >= now);
        if used.insert((claims.iss.clone(), claims.jti), claims.exp).is_some() {
            return Err(bad("jti already used"));
        }
        Ok(client)
    }

    /// `None` if `token` is not one of ours; else the caller it stands for, or why not.
    #[allow(clippy::type_complexity)]
    pub fn verify_access_token(&self, token: &str) -> Option<Result<(Principal, Option<BTreeSet<String>>), FhirError>> {
        if unverified_issuer(token).as_deref() != Some(ISSUER) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        validation.leeway = 0;
        let claims =
            match jsonwebtoken::decode::<AccessClaims>(token, &DecodingKey::from_secret(&self.key), &validation) {
                Ok(data) => data.claims,
                Err(e) => return Some(Err(FhirError::Unauthenticated(format!("access token refused: {e}")))),
            };
        let principal = (|| {
            let subject = Uuid::parse_str(&claims.sub).ok()?;
            Some(Principal::new(subject, Role::parse(&claims.role)?, None))
        })();
        let Some(principal) = principal else {
            return Some(Err(FhirError::Unauthenticated("access token malformed".into())));
        };
        Some(scoped_types(&claims.scope).map(|t| (principal, t)).map_err(|e| FhirError::Unauthenticated(e.to_string())))
    }
}

/// The resource types `scope` grants (`None`: all): `system/*.read`, `system/*.rs`,
/// `system/Patient.read`, … Anything else — a write scope, a user or patient scope, an unknown
/// type — is refused rather than dropped, so a connector learns what it will not get.
pub fn scoped_types(scope: &str) -> Result<Option<BTreeSet<String>>, TokenRefusal> {
    let mut types = BTreeSet::new();
    let mut all = false;
    for item in scope.split_whitespace() {
        let refuse = || TokenRefusal::InvalidScope(format!("scope {item:?} is not offered; use system/<Type>.read"));
        let rest = item.strip_prefix("system/").ok_or_else(refuse)?;
        let (resource, access) = rest.split_once('.').ok_or_else(refuse)?;
        if !matches!(access, "read" | "rs" | "r" | "s") {
            return Err(refuse());
        }
        match resource {
            "*" => all = true,
            t if TYPES.contains(&t) => {
                types.insert(t.to_owned());
            }
            _ => return Err(refuse()),
        }
    }
    if !all && types.is_empty() {
        return Err(TokenRefusal::InvalidScope("ask for at least one system/<Type>.read scope".into()));
    }
    Ok((!all).then_some(types))
}

fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

fn now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_scopes_name_types_and_everything_else_is_refused() {
        assert_eq!(scoped_types("system/*.read").ok(), Some(None));
        assert_eq!(scoped_types("system/*.rs").ok(), Some(None));
        let narrow = scoped_types("system/Patient.read system/Consent.rs").ok().flatten();
        assert_eq!(narrow.map(|t| t.into_iter().collect::<Vec<_>>()), Some(vec!["Consent".into(), "Patient".into()]));
        for refused in [
            "",
            "system/*.write",
            "system/*.cruds",
            "user/*.read",
            "patient/Patient.read",
            "system/Medication.read",
            "openid",
        ] {
            assert!(matches!(scoped_types(refused), Err(TokenRefusal::InvalidScope(_))), "{refused:?}");
        }
    }

    #[test]
    fn symmetric_keys_cannot_be_registered() {
        let jwks: JwkSet = serde_json::from_str(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).unwrap();
        let registration = Registration { client_id: "c".into(), role: "connector".into(), subject: Uuid::nil(), jwks };
        assert!(Smart::new(vec![registration], "http://x/token".into()).is_err());
    }

    #[test]
    fn only_connectors_and_auditors_may_be_registered() {
        let jwks: JwkSet = serde_json::from_str(r#"{"keys":[]}"#).unwrap();
        let registration = Registration { client_id: "c".into(), role: "admin".into(), subject: Uuid::nil(), jwks };
        assert!(Smart::new(vec![registration], "http://x/token".into()).is_err());
    }

    #[test]
    fn a_token_from_another_issuer_is_not_ours() {
        let smart = Smart::new(Vec::new(), "http://x/token".into()).unwrap();
        assert!(smart.verify_access_token("not.a.jwt").is_none());
    }
}
