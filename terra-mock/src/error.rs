//! Business errors of the API: a code of the reference §1.4 and a message.

use terra_types::ApiCode;

/// A business error, answered as the envelope `{result:{code,msg,desc}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: ApiCode,
    pub msg: String,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(code: ApiCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    /// 102001, naming the parameter.
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::new(ApiCode::InvalidParameter, msg)
    }

    /// 102002 for a resource.
    pub(crate) fn no_resource(uuid: &str) -> Self {
        Self::new(
            ApiCode::ResourceNotFound,
            format!("can not find resource: {uuid}"),
        )
    }

    /// 102002 for a file.
    pub(crate) fn no_file(uuid: &str) -> Self {
        Self::new(
            ApiCode::ResourceNotFound,
            format!("can not find file: {uuid}"),
        )
    }

    /// 102114.
    pub(crate) fn no_job(uuid: &str) -> Self {
        Self::new(ApiCode::JobNotFound, format!("job does not exist: {uuid}"))
    }

    /// 102003.
    pub(crate) fn not_allowed(msg: impl Into<String>) -> Self {
        Self::new(ApiCode::InvalidOperation, msg)
    }

    /// The HTTP status used when the mock is set to answer business errors with 4xx.
    pub(crate) fn http_status(&self) -> u16 {
        match self.code {
            ApiCode::InvalidParameter => 400,
            ApiCode::Authentication => 401,
            ApiCode::Billing => 402,
            ApiCode::ResourceNotFound | ApiCode::JobNotFound => 404,
            ApiCode::InvalidOperation => 409,
            ApiCode::JobLimit => 429,
            _ => 500,
        }
    }
}
