//! The TerraAPI v2 document, generated from terra-types.

use serde_json::{Map, Value, json};

use super::{Doc, Op, responses};

const SIGNING: &str = "Every call carries a Kong `hmac-auth` signature. Send `Date` (RFC 7231 \
IMF-fixdate, GMT) and `Digest: SHA-256=<base64 of the SHA-256 of the body bytes>` (of the empty \
string for requests without a body), and `Authorization: hmac username=\"<app key>\", \
algorithm=\"hmac-sha256\", headers=\"date @request-target digest\", signature=\"<base64>\"`, where \
the signature is the HMAC-SHA256, keyed with the secret, of three lines joined by a single LF \
with no trailing newline: `date: <Date value>`, `@request-target: <method in lower case> \
<path and query exactly as sent>` (for example `@request-target: post /terra-rescon-be/v2/jobs`), \
`digest: <Digest value>`. Browsers, which cannot set `Date`, send `X-Date` and sign \
`x-date: <value>` with `headers=\"x-date @request-target digest\"`. The gateway \
allows 300 seconds of clock skew. Failures answer 401 with `{\"message\": ...}` (Kong's \
wording), not the envelope.";

/// The TerraAPI v2 document.
///
/// ```
/// let doc = terra_mock::openapi::terra_api();
/// assert_eq!(doc["openapi"], "3.1.0");
/// assert!(doc["paths"]["/terra-rescon-be/v2/jobs/{uuid}/start"]["post"].is_object());
/// ```
pub fn terra_api() -> Value {
    use terra_types::{
        CreateJobRequest, CreateResourceRequest, Created, Envelope, File, FileOperationRequest,
        GatewayError, Job, JobParameters, LidarParams, ListFilesQuery, ListJobsQuery,
        ListResourcesQuery, Map2dParams, Model3dParams, Page, Resource, ResourceDetail,
        StartJobRequest, StsToken, UpdateFileRequest, UpdateRequest, UploadCallbackRequest,
    };
    let mut d = Doc::new();
    let gateway = d.schema::<GatewayError>();
    let common = |ok: Value| {
        let mut r = responses(&[
            (
                "200",
                "The envelope: `result.code` 0 on success, a TerraAPI error code otherwise \
                 (102001 parameter error, 102002 not found, 102003 invalid operation, 102114 no \
                 such job, 801 job-number limit, 102116 billing).",
                ok,
            ),
            ("401", "The gateway refused the signature.", gateway.clone()),
            (
                "404",
                "No such route (terra-mock answers `{\"message\": ...}` naming it).",
                gateway.clone(),
            ),
        ]);
        r.insert(
            "5XX".into(),
            json!({"description": "Gateway errors (502, 503, 504) with `{\"message\": ...}`; retry with backoff."}),
        );
        r
    };
    macro_rules! op {
        ($method:literal, $path:literal, $id:literal, $summary:literal, $params:expr, $body:expr, $ok:expr) => {{
            let ok = $ok;
            let params = $params;
            let body = $body;
            let responses = common(ok);
            d.ops.push(Op {
                method: $method,
                path: concat!("/terra-rescon-be/v2", $path),
                id: $id,
                summary: $summary,
                params,
                body,
                responses,
            });
        }};
    }
    let created = |d: &mut Doc, full: Value| -> Value {
        let short = d.schema::<Envelope<Created>>();
        json!({"anyOf": [short, full], "description": "`{uuid}` only, unless the request sent `Return-Detail: true`."})
    };
    let return_detail = json!({"name": "Return-Detail", "in": "header", "required": false, "schema": {"type": "string", "enum": ["true", "false"]}, "description": "`true` answers the whole object instead of `{uuid}`."});
    let empty = d.schema::<Envelope<()>>();

    let s = d.schema::<Envelope<StsToken>>();
    op!(
        "post",
        "/store/obtain_token",
        "obtainToken",
        "STS credentials to upload to the account's bucket",
        vec![],
        None,
        s
    );
    let (b, s) = (
        d.schema::<UploadCallbackRequest>(),
        d.schema::<Envelope<Vec<File>>>(),
    );
    op!(
        "post",
        "/store/upload_callback",
        "uploadCallback",
        "Register uploaded objects as files of a resource",
        vec![],
        Some(b),
        s
    );
    let b = d.schema::<CreateResourceRequest>();
    let full = d.schema::<Envelope<Resource>>();
    let s = created(&mut d, full);
    op!(
        "post",
        "/resources",
        "createResource",
        "Create a resource",
        vec![return_detail.clone()],
        Some(b),
        s
    );
    let (p, s) = (
        d.query::<ListResourcesQuery>(),
        d.schema::<Envelope<Page<Resource>>>(),
    );
    op!(
        "get",
        "/resources",
        "listResources",
        "List resources, newest first",
        p,
        None,
        s
    );
    let s = d.schema::<Envelope<ResourceDetail>>();
    op!(
        "get",
        "/resources/{uuid}",
        "getResource",
        "A resource with its file uuids",
        vec![],
        None,
        s
    );
    let b = d.schema::<UpdateRequest>();
    let full = d.schema::<Envelope<Resource>>();
    let s = created(&mut d, full);
    op!(
        "put",
        "/resources/{uuid}",
        "updateResource",
        "Rename a resource or change its meta",
        vec![return_detail.clone()],
        Some(b.clone()),
        s
    );
    let mode = json!({"type": "string", "enum": ["0", "1"], "description": "0: the resource only; 1: also its files no other resource holds."});
    op!(
        "delete",
        "/resources/{uuid}",
        "deleteResource",
        "Delete a resource",
        vec![json!({"name": "deleteMode", "in": "query", "required": false, "schema": mode})],
        None,
        empty.clone()
    );
    let full = d.schema::<Envelope<Resource>>();
    let s = created(&mut d, full);
    op!(
        "post",
        "/resources/{uuid}/copy",
        "copyResource",
        "Copy a resource (its files are shared)",
        vec![return_detail.clone()],
        Some(b.clone()),
        s
    );
    let (fb, s) = (
        d.schema::<FileOperationRequest>(),
        d.schema::<Envelope<Resource>>(),
    );
    op!(
        "post",
        "/resources/{uuid}/file_operation",
        "fileOperation",
        "Add files to or remove files from a resource",
        vec![],
        Some(fb),
        s
    );
    let (p, s) = (
        d.query::<ListFilesQuery>(),
        d.schema::<Envelope<Page<File>>>(),
    );
    op!(
        "get",
        "/files",
        "listFiles",
        "List files, with download URLs when asked",
        p,
        None,
        s
    );
    let s = d.schema::<Envelope<File>>();
    op!(
        "get",
        "/files/{uuid}",
        "getFile",
        "A file with its download URL",
        vec![],
        None,
        s
    );
    let ub = d.schema::<UpdateFileRequest>();
    let full = d.schema::<Envelope<File>>();
    let s = created(&mut d, full);
    op!(
        "put",
        "/files/{uuid}",
        "updateFile",
        "Rename a file or change its meta or position",
        vec![return_detail.clone()],
        Some(ub),
        s
    );
    op!(
        "delete",
        "/files/{uuid}",
        "deleteFile",
        "Delete a file",
        vec![],
        None,
        empty.clone()
    );
    let cb = d.schema::<CreateJobRequest>();
    let full = d.schema::<Envelope<Job>>();
    let s = created(&mut d, full);
    op!(
        "post",
        "/jobs",
        "createJob",
        "Create a job",
        vec![return_detail.clone()],
        Some(cb),
        s
    );
    let (p, s) = (
        d.query::<ListJobsQuery>(),
        d.schema::<Envelope<Page<Job>>>(),
    );
    op!(
        "get",
        "/jobs",
        "listJobs",
        "List jobs, newest first",
        p,
        None,
        s
    );
    let s = d.schema::<Envelope<Job>>();
    op!(
        "get",
        "/jobs/{uuid}",
        "getJob",
        "A job with its status and progress",
        vec![],
        None,
        s
    );
    let full = d.schema::<Envelope<Job>>();
    let s = created(&mut d, full);
    op!(
        "put",
        "/jobs/{uuid}",
        "updateJob",
        "Rename a job or change its meta",
        vec![return_detail.clone()],
        Some(b.clone()),
        s
    );
    op!(
        "delete",
        "/jobs/{uuid}",
        "deleteJob",
        "Delete a job that is not running",
        vec![],
        None,
        empty.clone()
    );
    let (sb, s) = (d.schema::<StartJobRequest>(), d.schema::<Envelope<Job>>());
    op!(
        "post",
        "/jobs/{uuid}/start",
        "startJob",
        "Start a job on a resource",
        vec![],
        Some(sb),
        s
    );
    let s = d.schema::<Envelope<Job>>();
    op!(
        "post",
        "/jobs/{uuid}/stop",
        "stopJob",
        "Stop a waiting, preparing or executing job",
        vec![],
        None,
        s
    );
    let full = d.schema::<Envelope<Job>>();
    let s = created(&mut d, full);
    op!(
        "post",
        "/jobs/{uuid}/copy",
        "copyJob",
        "Copy a job (not started)",
        vec![return_detail],
        Some(b),
        s
    );
    // The parameter objects serialized into `StartJobRequest.parameters`.
    let _ = (
        d.schema::<JobParameters<Map2dParams>>(),
        d.schema::<JobParameters<Model3dParams>>(),
        d.schema::<JobParameters<LidarParams>>(),
    );
    let info = json!({
        "title": "DJI TerraAPI v2",
        "version": "2.0",
        "description": format!(
            "The cloud reconstruction API DJI retired in June 2026, as terra-mock emulates it. \
             Every route is under `/terra-rescon-be/v2`; every answer is the envelope \
             `{{\"result\": {{\"code\", \"msg\", \"desc\"}}, \"data\"}}`. The job parameters \
             (`StartJobRequest.parameters`) are a JSON string holding one of the \
             `JobParameters_*` objects.\n\n{SIGNING}"
        ),
        "license": {"name": "MIT OR Apache-2.0 (this document)"},
    });
    let mut extra = Map::new();
    extra.insert(
        "securitySchemes".into(),
        json!({"hmac": {"type": "apiKey", "in": "header", "name": "Authorization", "description": SIGNING}}),
    );
    let mut doc = d.finish(info, extra);
    doc["security"] = json!([{"hmac": []}]);
    doc["servers"] = json!([
        {"url": "https://openapi-us.dji.com", "description": "International (AWS S3), retired"},
        {"url": "https://openapi-cn.dji.com", "description": "Mainland China (Aliyun OSS), retired"},
        {"url": "http://127.0.0.1:8080", "description": "terra-mock serve"}
    ]);
    doc
}
