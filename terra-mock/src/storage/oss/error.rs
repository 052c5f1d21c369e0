//! OSS error answers, in OSS's XML (Code, Message, RequestId, HostId, and the detailed
//! `EC` where Aliyun documents one) with the `x-oss-request-id` and `x-oss-ec` headers.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};

use super::xml::escape;
use crate::storage::access::Denial;

/// An OSS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OssError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// OSS's detailed error code (`EC`), where the documentation gives one.
    pub ec: Option<&'static str>,
    /// The elements only some errors carry.
    pub detail: Option<Box<Detail>>,
}

/// Elements of an OSS error answer that only some errors carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Detail {
    pub access_key: Option<String>,
    pub string_to_sign: Option<String>,
    /// `ArgumentName` / `ArgumentValue` of an InvalidArgument.
    pub argument: Option<(&'static str, String)>,
}

impl OssError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            ec: None,
            detail: None,
        }
    }

    fn detail(&mut self) -> &mut Detail {
        self.detail.get_or_insert_with(Box::default)
    }

    pub(crate) fn ec(mut self, ec: &'static str) -> Self {
        self.ec = Some(ec);
        self
    }

    pub(crate) fn key(mut self, access_key: &str) -> Self {
        self.detail().access_key = Some(access_key.to_owned());
        self
    }

    pub(crate) fn render(self, host: &str, request_id: &str) -> Response {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{request_id}</RequestId>\n  <HostId>{}</HostId>\n",
            self.code,
            escape(&self.message),
            escape(host)
        );
        let detail = self.detail.clone().unwrap_or_default();
        if let Some((name, value)) = &detail.argument {
            xml.push_str(&format!(
                "  <ArgumentName>{name}</ArgumentName>\n  <ArgumentValue>{}</ArgumentValue>\n",
                escape(value)
            ));
        }
        if let Some(ak) = &detail.access_key {
            xml.push_str(&format!(
                "  <OSSAccessKeyId>{}</OSSAccessKeyId>\n",
                escape(ak)
            ));
        }
        if let Some(sts) = &detail.string_to_sign {
            xml.push_str(&format!("  <StringToSign>{}</StringToSign>\n", escape(sts)));
        }
        if let Some(ec) = self.ec {
            xml.push_str(&format!(
                "  <EC>{ec}</EC>\n  <RecommendDoc>https://api.aliyun.com/troubleshoot?q={ec}</RecommendDoc>\n"
            ));
        }
        xml.push_str("</Error>\n");
        let mut resp = (self.status, xml).into_response();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Some(ec) = self.ec {
            h.insert("x-oss-ec", HeaderValue::from_static(ec));
        }
        resp
    }
}

pub(crate) fn forbidden(code: &'static str, msg: impl Into<String>) -> OssError {
    OssError::new(StatusCode::FORBIDDEN, code, msg)
}

pub(crate) fn bad(code: &'static str, msg: impl Into<String>) -> OssError {
    OssError::new(StatusCode::BAD_REQUEST, code, msg)
}

pub(crate) fn unknown_key(ak: &str) -> OssError {
    forbidden(
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
    )
    .key(ak)
}

pub(crate) fn mismatch(ak: &str, string_to_sign: String) -> OssError {
    let mut e = forbidden(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .ec("0002-00000040")
    .key(ak);
    e.detail().string_to_sign = Some(string_to_sign);
    e
}

pub(crate) fn expired_link() -> OssError {
    crate::storage::why::note(crate::storage::why::expired_link());
    forbidden("AccessDenied", "Request has expired.").ec("0002-00000069")
}

pub(crate) fn skewed() -> OssError {
    forbidden(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )
}

pub(crate) fn invalid_authorization() -> OssError {
    bad("InvalidArgument", "Authorization header is invalid.")
}

pub(crate) fn no_key() -> OssError {
    OssError::new(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

pub(crate) fn no_upload() -> OssError {
    OssError::new(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

pub(crate) fn no_bucket() -> OssError {
    OssError::new(
        StatusCode::NOT_FOUND,
        "NoSuchBucket",
        "The specified bucket does not exist.",
    )
}

pub(crate) fn method_not_allowed() -> OssError {
    OssError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
}

/// The answer to a token or permission problem.
pub(crate) fn denial(d: Denial, access_key: &str) -> OssError {
    crate::storage::why::note(d.reason());
    let unknown = "The OSS Access Key Id you provided does not exist in our records.";
    let e = match d {
        Denial::UnknownKey => forbidden("InvalidAccessKeyId", unknown).ec("0002-00000002"),
        Denial::MissingToken => forbidden("InvalidAccessKeyId", unknown).ec("0002-00000003"),
        Denial::TokenMismatch => forbidden(
            "InvalidSecurityToken",
            "The security token you provided does not match your access key.",
        )
        .ec("0002-00000004"),
        Denial::InvalidToken => forbidden(
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
        )
        .ec("0002-00000006"),
        Denial::Expired => forbidden(
            "SecurityTokenExpired",
            "The security token you provided has expired.",
        )
        .ec("0002-00000007"),
        Denial::Denied(why) => forbidden(
            "AccessDenied",
            format!("You have no right to access this object: {why}"),
        ),
    };
    e.key(access_key)
}

/// OSS's answer to an S3-style `aws-chunked` upload it cannot read (reference §6.3).
/// 500 InternalError, as OSS answers a failure of its own.
pub(crate) fn internal() -> OssError {
    OssError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

pub(crate) fn aws_chunked() -> OssError {
    let mut e = bad(
        "InvalidArgument",
        "aws-chunked encoding is not supported with the specified x-amz-content-sha256 value.",
    )
    .ec("0017-00000804");
    e.detail().argument = Some(("Content-Encoding", "aws-chunked".into()));
    e
}
