//! Bearer tokens: JWTs signed with a shared secret (HS256) or a key pair (RS256/ES256, the server
//! holds only the public key), carrying subject, role and clinician id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Principal, Role};

/// The issuer and audience Carelog mints and, unless configured otherwise, expects.
pub const DEFAULT_ISSUER: &str = "carelog";
pub const DEFAULT_AUDIENCE: &str = "carelog";
/// Clock skew tolerated between the token issuer and this server.
const LEEWAY_SECONDS: u64 = 30;
/// The shortest shared secret accepted: HS256 with less is brute-forceable.
const MIN_SECRET_BYTES: usize = 32;
/// Tokens remembered as verified; past it the memory starts over.
const VERIFIED_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinician: Option<String>,
    /// The caller's display name (e.g. "Dr. Ana Ruiz"), recorded with what they do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("send a bearer token in the `authorization` header (`Bearer <jwt>`)")]
    Missing,
    #[error("the `authorization` header must be `Bearer <jwt>`")]
    Malformed,
    #[error("the token has expired; get a new one")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// Checks tokens against one configured key.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    /// A client sends the same bearer token with every call until it expires: its signature and
    /// claims are checked once (an HMAC, or an RSA/ECDSA verification) and the principal is kept
    /// beside the token's expiry, compared with the clock on every use.
    verified: Arc<Mutex<HashMap<String, (Principal, u64)>>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("TokenVerifier").field("algorithms", &self.validation.algorithms).finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        check_secret(secret)?;
        Ok(Self::new(DecodingKey::from_secret(secret), Algorithm::HS256, issuer, audience))
    }

    /// An RSA (RS256) or EC P-256 (ES256) public key in PEM.
    pub fn public_key_pem(pem: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::new(key, Algorithm::RS256, issuer, audience));
        }
        match DecodingKey::from_ec_pem(pem) {
            Ok(key) => Ok(Self::new(key, Algorithm::ES256, issuer, audience)),
            Err(e) => Err(format!("the public key is neither an RSA nor a P-256 EC key in PEM: {e}")),
        }
    }

    fn new(key: DecodingKey, algorithm: Algorithm, issuer: &str, audience: &str) -> Self {
        // One algorithm per key: a token cannot pick a weaker one (no algorithm confusion).
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Self { key, validation, verified: Arc::default() }
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        match verified.get(token) {
            // The same bound the validation applies: expiry plus the tolerated clock skew.
            Some((principal, exp)) if now < exp.saturating_add(self.validation.leeway) => {
                return Ok(principal.clone());
            }
            Some(_) => {
                verified.remove(token);
            }
            None => {}
        }
        drop(verified);
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            kind => TokenError::Invalid(format!("{kind:?}")),
        })?;
        let principal = principal_of(&data.claims)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(token.to_owned(), (principal.clone(), data.claims.exp));
        Ok(principal)
    }
}

fn principal_of(claims: &Claims) -> Result<Principal, TokenError> {
    let subject =
        Uuid::parse_str(&claims.sub).map_err(|_| TokenError::Invalid("`sub` must be the user's id (a UUID)".into()))?;
    let role =
        Role::parse(&claims.role).ok_or_else(|| TokenError::Invalid(format!("unknown role {:?}", claims.role)))?;
    let clinician = match &claims.clinician {
        None => None,
        Some(id) => Some(
            Uuid::parse_str(id)
                .map_err(|_| TokenError::Invalid("`clinician` must be a clinician id (a UUID)".into()))?,
        ),
    };
    let name = claims.name.as_deref().map(super::display_name).transpose().map_err(TokenError::Invalid)?.flatten();
    Ok(Principal::new(subject, role, clinician).with_name(name))
}

fn check_secret(secret: &[u8]) -> Result<(), String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the token secret must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

/// Mints HS256 tokens from the shared secret: `carelog token`, the embedded demo and tests.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        check_secret(secret)?;
        Ok(Self { key: EncodingKey::from_secret(secret), issuer: issuer.to_owned(), audience: audience.to_owned() })
    }

    pub fn mint(&self, subject: Uuid, role: Role, clinician: Option<Uuid>, valid_for: Duration) -> String {
        self.mint_named(subject, role, clinician, None, valid_for)
    }

    /// A token that also carries the caller's display name.
    pub fn mint_named(
        &self,
        subject: Uuid,
        role: Role,
        clinician: Option<Uuid>,
        name: Option<&str>,
        valid_for: Duration,
    ) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            role: role.as_str().to_owned(),
            clinician: clinician.map(|c| c.to_string()),
            name: name.map(str::to_owned),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + valid_for.as_secs(),
        };
        // HS256 over serialisable claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key).expect("HS256 signing")
    }
}

/// How a server learns who calls.
#[derive(Debug, Clone)]
pub enum Authenticator {
    /// Every call but health and reflection carries a valid bearer token.
    Tokens(Box<TokenVerifier>),
    /// Local use only: callers name themselves with `x-carelog-actor` / `x-carelog-role` headers.
    Anonymous,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn pair() -> (TokenIssuer, TokenVerifier) {
        (
            TokenIssuer::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap(),
            TokenVerifier::hs256(SECRET, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap(),
        )
    }

    #[test]
    fn a_minted_token_verifies_to_its_principal() {
        let (issuer, verifier) = pair();
        let subject = Uuid::now_v7();
        let token = issuer.mint(subject, Role::Clinician, None, Duration::from_secs(60));
        let principal = verifier.verify(&token).unwrap();
        assert_eq!(principal, Principal { subject, role: Role::Clinician, clinician: Some(subject), name: None });
        let named = issuer.mint_named(subject, Role::Clinician, None, Some(" Dr. Ana Ruiz "), Duration::from_secs(60));
        assert_eq!(verifier.verify(&named).unwrap().name.as_deref(), Some("Dr. Ana Ruiz"), "trimmed");
        let hostile = issuer.mint_named(subject, Role::Clinician, None, Some("Ana\u{202E}"), Duration::from_secs(60));
        assert!(matches!(verifier.verify(&hostile), Err(TokenError::Invalid(m)) if m.contains("name")));
        let biller = verifier.verify(&issuer.mint(subject, Role::Biller, None, Duration::from_secs(60))).unwrap();
        assert_eq!(biller.clinician, None, "only clinical roles act as a clinician");
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let (issuer, mut verifier) = pair();
        verifier.validation.leeway = 0;
        let subject = Uuid::now_v7();
        let token = issuer.mint(subject, Role::Auditor, None, Duration::from_secs(1));
        let first = verifier.verify(&token).unwrap();
        assert_eq!(verifier.verify(&token).unwrap(), first, "remembered: the same principal");
        assert_eq!(verifier.verified.lock().unwrap().len(), 1);
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(verifier.verify(&token), Err(TokenError::Expired));
        assert!(verifier.verified.lock().unwrap().is_empty(), "forgotten once expired");
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let (issuer, verifier) = pair();
        let expired = {
            let now = jsonwebtoken::get_current_timestamp();
            let claims = Claims {
                sub: Uuid::now_v7().to_string(),
                role: "auditor".into(),
                clinician: None,
                name: None,
                iss: DEFAULT_ISSUER.into(),
                aud: DEFAULT_AUDIENCE.into(),
                iat: now - 3600,
                exp: now - 600,
            };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
        };
        assert_eq!(verifier.verify(&expired), Err(TokenError::Expired));
        let other = TokenIssuer::hs256(b"another secret of at least 32 bytes!", DEFAULT_ISSUER, DEFAULT_AUDIENCE)
            .unwrap()
            .mint(Uuid::now_v7(), Role::Admin, None, Duration::from_secs(60));
        assert!(matches!(verifier.verify(&other), Err(TokenError::Invalid(_))));
        let foreign_audience = TokenIssuer::hs256(SECRET, DEFAULT_ISSUER, "someone-else").unwrap().mint(
            Uuid::now_v7(),
            Role::Admin,
            None,
            Duration::from_secs(60),
        );
        assert!(matches!(verifier.verify(&foreign_audience), Err(TokenError::Invalid(_))));
        assert!(matches!(verifier.verify("not.a.jwt"), Err(TokenError::Invalid(_))));
        let token = issuer.mint(Uuid::now_v7(), Role::Admin, None, Duration::from_secs(60));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(matches!(verifier.verify(&tampered), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(TokenVerifier::hs256(b"short", DEFAULT_ISSUER, DEFAULT_AUDIENCE).is_err());
    }

    #[test]
    fn a_token_with_an_unknown_role_or_a_non_uuid_subject_is_refused() {
        let encode = |sub: &str, role: &str| {
            let now = jsonwebtoken::get_current_timestamp();
            let claims = Claims {
                sub: sub.into(),
                role: role.into(),
                clinician: None,
                name: None,
                iss: DEFAULT_ISSUER.into(),
                aud: DEFAULT_AUDIENCE.into(),
                iat: now,
                exp: now + 60,
            };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
        };
        let (_, verifier) = pair();
        assert!(matches!(verifier.verify(&encode("alice", "auditor")), Err(TokenError::Invalid(_))));
        assert!(matches!(verifier.verify(&encode(&Uuid::now_v7().to_string(), "root")), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn rs256_and_es256_tokens_verify_with_the_public_key_only() {
        let cases = [
            (
                Algorithm::RS256,
                &include_bytes!("testkeys/rsa_private.pem")[..],
                &include_bytes!("testkeys/rsa_public.pem")[..],
            ),
            (
                Algorithm::ES256,
                &include_bytes!("testkeys/ec_private.pem")[..],
                &include_bytes!("testkeys/ec_public.pem")[..],
            ),
        ];
        for (algorithm, private, public) in cases {
            let signing = match algorithm {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(private).unwrap(),
                _ => EncodingKey::from_ec_pem(private).unwrap(),
            };
            let now = jsonwebtoken::get_current_timestamp();
            let subject = Uuid::now_v7();
            let claims = Claims {
                sub: subject.to_string(),
                role: "connector".into(),
                clinician: None,
                name: None,
                iss: DEFAULT_ISSUER.into(),
                aud: DEFAULT_AUDIENCE.into(),
                iat: now,
                exp: now + 60,
            };
            let token = jsonwebtoken::encode(&Header::new(algorithm), &claims, &signing).unwrap();
            let verifier = TokenVerifier::public_key_pem(public, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
            assert_eq!(verifier.verify(&token).unwrap().subject, subject, "{algorithm:?}");
            // A token signed with the shared-secret algorithm must not pass as the key pair's.
            let hs = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(public))
                .unwrap();
            assert!(matches!(verifier.verify(&hs), Err(TokenError::Invalid(_))), "{algorithm:?} accepted HS256");
        }
    }
}
