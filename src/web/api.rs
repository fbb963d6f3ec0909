//! `POST /api/v1/usage`: usage events from the chatbot platform, with a workspace API key as
//! bearer token. Answers are JSON, errors included.

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;

use super::extract::run;
use super::state::AppState;
use crate::services::api_keys;
use crate::services::usage::{self, AllowanceStatus, EventStatus, IngestOutcome};

/// Largest request body, in bytes (a full batch of 1,000 events fits with room to spare).
pub const BODY_LIMIT: usize = 1024 * 1024;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": code, "message": message.into() }))
}

fn allowance_json(a: &AllowanceStatus) -> serde_json::Value {
    json!({
        "month": a.month.format("%Y-%m").to_string(),
        "messages": { "limit": a.messages_limit, "used": a.used.messages, "left": (a.messages_limit - a.used.messages).max(0) },
        "tokens": { "limit": a.tokens_limit, "used": a.used.tokens, "left": (a.tokens_limit - a.used.tokens).max(0) },
        "resets_at": a.resets_at().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

pub async fn ingest(req: HttpRequest, state: web::Data<AppState>, mut payload: web::Payload) -> HttpResponse {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    let Some(bearer) = bearer else {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "Send the workspace API key as `Authorization: Bearer <key>`.",
        );
    };
    let key = match run(&state, move |conn| Ok(api_keys::authenticate(conn, &bearer)?)).await {
        Ok(Some(key)) => key,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "This API key is not valid or was revoked. Create a new one under Settings → API keys.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "api key check failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side; retry later.",
            );
        }
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return error(StatusCode::BAD_REQUEST, "unreadable_body", "The request body could not be read.");
        };
        if body.len() + chunk.len() > BODY_LIMIT {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "The body is larger than {} KB; send at most {} events per request.",
                    BODY_LIMIT / 1024,
                    usage::MAX_BATCH
                ),
            );
        }
        body.extend_from_slice(&chunk);
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_json", format!("The body is not valid JSON: {e}.")),
    };
    let events = match usage::parse_events(&value, crate::domain::now()) {
        Ok(e) => e,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_event", message),
    };
    let (ws_id, key_id) = (key.workspace_id, key.id);
    let keys: Vec<String> = events.iter().map(|e| e.idempotency_key.clone()).collect();
    let outcome = match run(&state, move |conn| Ok(usage::ingest(conn, ws_id, Some(key_id), &events)?)).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "usage ingestion failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side; nothing was recorded. Retry the same events later.",
            );
        }
    };
    state.outbox.wake();
    match outcome {
        IngestOutcome::Exhausted(a) => HttpResponse::PaymentRequired().json(json!({
            "error": "allowance_exhausted",
            "message": format!("This workspace's monthly allowance of {} is used up. Upgrade the plan or wait for the reset.", a.describe()),
            "allowance": allowance_json(&a),
        })),
        IngestOutcome::Done { results, allowance } => {
            let accepted = results.iter().filter(|r| **r == EventStatus::Accepted).count();
            let duplicates = results.iter().filter(|r| **r == EventStatus::Duplicate).count();
            let rejected = results.len() - accepted - duplicates;
            let limited = results.iter().find_map(|r| match r {
                EventStatus::Rejected { reason: reason @ ("member_cap_reached" | "allowance_exhausted"), message } => Some((*reason, message.clone())),
                _ => None,
            });
            let list: Vec<serde_json::Value> = results
                .iter()
                .zip(keys)
                .enumerate()
                .map(|(i, (r, key))| match r {
                    EventStatus::Accepted => json!({ "index": i, "idempotency_key": key, "status": "accepted" }),
                    EventStatus::Duplicate => json!({ "index": i, "idempotency_key": key, "status": "duplicate", "message": "Already recorded; not counted again." }),
                    EventStatus::Rejected { reason, message } => json!({ "index": i, "idempotency_key": key, "status": "rejected", "reason": reason, "message": message }),
                })
                .collect();
            let body = json!({
                "accepted": accepted,
                "duplicates": duplicates,
                "rejected": rejected,
                "results": list,
                "allowance": allowance_json(&allowance),
            });
            match limited {
                // Nothing got through and limits are why: 402, naming the limit.
                Some((reason, message)) if accepted == 0 && duplicates == 0 => {
                    let mut body = body;
                    body["error"] = json!(reason);
                    body["message"] = json!(message);
                    HttpResponse::PaymentRequired().json(body)
                }
                _ => HttpResponse::Ok().json(body),
            }
        }
    }
}
