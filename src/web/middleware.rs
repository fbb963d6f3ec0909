//! Request and response plumbing shared by every route: security headers, the CSRF check, and
//! turning error pages into fragments for htmx.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use super::error::{AppError, ErrorFragment, ErrorInfo};
use super::session;

/// Largest form body accepted (also enforced by `FormConfig`).
pub const FORM_LIMIT: usize = 64 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn refuse(req: ServiceRequest, message: &str) -> ServiceResponse<BoxBody> {
    req.error_response(AppError::forbidden("This request was refused", message))
}

/// Every non-GET request outside `/api/` must carry the session's CSRF token, in the
/// `X-CSRF-Token` header (htmx) or the `csrf_token` form field, and must not come from another site.
pub async fn csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if is_safe(req.method()) || req.path().starts_with("/api/") {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let header_str = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if header_str("sec-fetch-site").as_deref() == Some("cross-site") {
        return Ok(refuse(req, "Requests from other sites are not accepted. Open Roster directly and try again."));
    }
    if let (Some(origin), Some(host)) = (header_str("origin"), header_str("host")) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin.as_str());
        if origin != "null" && origin_host != host {
            return Ok(refuse(req, "Requests from other sites are not accepted. Open Roster directly and try again."));
        }
    }
    let expected = session::stored_csrf_token(&req.get_session());
    let sent = match header_str("x-csrf-token") {
        Some(t) => Some(t),
        None if req.content_type() == "application/x-www-form-urlencoded" => {
            let mut body = BytesMut::new();
            let mut payload = req.take_payload();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > FORM_LIMIT {
                    let res = req.error_response(AppError::page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "That form is too large",
                        "The form sent more than 64 KB. Send less at once (for example, fewer addresses).",
                    ));
                    return Ok(res);
                }
                body.extend_from_slice(&chunk);
            }
            let body: Bytes = body.freeze();
            let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf_token").map(|(_, v)| v));
            req.set_payload(Payload::from(body));
            token
        }
        None => None,
    };
    let ok = match (&expected, &sent) {
        (Some(e), Some(s)) => bool::from(e.as_bytes().ct_eq(s.as_bytes())),
        _ => false,
    };
    if !ok {
        let message = if expected.is_none() {
            "Your session has expired or your browser blocks cookies. Reload the page and try again."
        } else {
            "This form has expired. Reload the page and try again."
        };
        return Ok(refuse(req, message));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

/// htmx requests get fragments: an error page becomes a short alert swapped into the page's
/// status region, and a redirect to sign in becomes a full-page navigation (`HX-Redirect`).
pub async fn htmx_fragments(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_htmx = req.headers().contains_key("hx-request") && !req.headers().contains_key("hx-history-restore-request");
    let res = next.call(req).await?.map_into_boxed_body();
    if !is_htmx {
        return Ok(res);
    }
    // A redirect to sign in becomes a full navigation; other redirects are followed by the XHR,
    // and forms pick their section out of the page with `hx-select`.
    if res.status() == StatusCode::SEE_OTHER
        && let Some(loc) = res.headers().get(header::LOCATION).cloned()
        && loc.to_str().is_ok_and(|l| l.starts_with("/login"))
    {
        let (req, _) = res.into_parts();
        let out = HttpResponse::Ok().insert_header(("HX-Redirect", loc)).finish();
        return Ok(ServiceResponse::new(req, out));
    }
    let Some(info) = res.response().extensions().get::<ErrorInfo>().cloned() else { return Ok(res) };
    let status = res.status();
    let body =
        ErrorFragment { title: &info.title, message: &info.message }.render().unwrap_or_else(|_| info.message.clone());
    let (req, _) = res.into_parts();
    let mut out = HttpResponse::build(status);
    out.content_type("text/html; charset=utf-8")
        .insert_header(("HX-Retarget", "#status-region"))
        .insert_header(("HX-Reswap", "innerHTML"))
        .insert_header((header::VARY, "HX-Request"));
    if info.full_page {
        out.insert_header(("HX-Refresh", "true"));
    }
    Ok(ServiceResponse::new(req, out.body(body)))
}

/// Paths whose last segments are secrets: logged with the secret replaced.
fn redacted_path(path: &str) -> String {
    for prefix in ["/invitations/", "/setup/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.split_once('/').map(|(_, t)| format!("/{t}")).unwrap_or_default();
            return format!("{prefix}[token]{tail}");
        }
    }
    path.to_owned()
}

/// One log line per request with an id (also sent back as `X-Request-Id`), the method, the path
/// with any link token redacted, the status and the time taken. Errors carry their cause in the
/// lines logged inside the request's span.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let path = redacted_path(req.path());
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = std::time::Instant::now();
    let mut res = {
        use tracing::Instrument;
        next.call(req).instrument(span.clone()).await?
    };
    let status = res.status().as_u16();
    let ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, ms, "request failed");
        } else {
            tracing::info!(status, ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(redacted_path("/invitations/abc123/accept"), "/invitations/[token]/accept");
        assert_eq!(redacted_path("/invitations/abc123"), "/invitations/[token]");
        assert_eq!(redacted_path("/setup/xyz"), "/setup/[token]");
        assert_eq!(redacted_path("/w/acme/settings/users"), "/w/acme/settings/users");
    }
}
