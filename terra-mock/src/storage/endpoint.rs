//! The storage endpoints, mounted as the router's fallback: everything that is not an API
//! route. Requests for an unknown route get a 404 that names it.

use axum::extract::{Request, State as AxState};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::app::{API_PREFIX, Mock};

pub(crate) async fn serve(AxState(m): AxState<Mock>, req: Request) -> Response {
    not_found(&m, &req)
}

pub(crate) fn not_found(m: &Mock, req: &Request) -> Response {
    let path = req.uri().path();
    let hint = if path.starts_with(API_PREFIX) {
        "terra-mock serves the 21 routes of TerraAPI v2 under /terra-rescon-be/v2/".to_owned()
    } else {
        format!(
            "terra-mock serves /terra-rescon-be/v2/... and the storage buckets {} (S3) and {} (OSS)",
            m.cfg.s3.bucket, m.cfg.oss.bucket
        )
    };
    let message = format!("no route for {} {path}: {hint}", req.method());
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}
