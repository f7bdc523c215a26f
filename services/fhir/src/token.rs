//! SMART Backend Services discovery and the token endpoint (see [`crate::smart`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::FhirState;
use crate::outcome::FhirError;
use crate::smart::{TOKEN_SECONDS, TokenRefusal};

/// `GET /.well-known/smart-configuration`.
pub async fn configuration(State(state): State<Arc<FhirState>>) -> Result<Response, FhirError> {
    let smart = state.auth.smart.as_ref().ok_or_else(not_configured)?;
    let body = json!({
        "token_endpoint": smart.token_url(),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": ["system/*.read", "system/*.rs"],
        "capabilities": ["client-confidential-asymmetric"],
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /auth/token` (form-encoded): a client-credentials grant with a JWT assertion.
pub async fn token(
    State(state): State<Arc<FhirState>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, FhirError> {
    let smart = state.auth.smart.as_ref().ok_or_else(not_configured)?;
    let refuse = |refusal: TokenRefusal| {
        let status = if matches!(refusal, TokenRefusal::InvalidClient(_)) {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        tracing::info!(error = refusal.code(), reason = %refusal, "SMART token refused");
        json_response(status, &json!({ "error": refusal.code(), "error_description": refusal.to_string() }))
    };
    let Ok(Form(form)) = form else {
        return Ok(refuse(TokenRefusal::InvalidRequest("send an application/x-www-form-urlencoded body".into())));
    };
    if form.values().any(|v| v.len() > 16 * 1024 || v.chars().any(char::is_control)) {
        return Ok(refuse(TokenRefusal::InvalidRequest("a form field is too long or holds control characters".into())));
    }
    match smart.grant(&form) {
        Ok((access_token, scope)) => {
            let body = json!({
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": scope,
            });
            Ok(json_response(StatusCode::OK, &body))
        }
        Err(refusal) => Ok(refuse(refusal)),
    }
}

fn not_configured() -> FhirError {
    FhirError::NotFound("SMART Backend Services is not configured on this server".into())
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
