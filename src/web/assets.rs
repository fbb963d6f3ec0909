//! Static files (htmx, CSS, icons) served from the binary. URLs carry a content hash, so they are
//! cached for a year and change when the file does.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

/// Versioned URLs of the files the layout links to.
#[derive(Debug)]
pub struct Assets {
    pub css: String,
    pub htmx: String,
    pub app_js: String,
}

fn versioned(name: &str) -> String {
    match Static::get(name) {
        Some(file) => format!("/static/{name}?v={}", &hex::encode(file.metadata.sha256_hash())[..12]),
        None => format!("/static/{name}"),
    }
}

/// Computed once from the embedded files (which never change while the binary runs).
pub fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets { css: versioned("app.css"), htmx: versioned(HTMX_FILE), app_js: versioned("app.js") })
}

pub const HTMX_FILE: &str = "htmx-2.0.11.min.js";

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    let Some(file) = Static::get(&name) else {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("No such file.");
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let versioned = req.query_string().starts_with("v=");
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    if req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned())
}
