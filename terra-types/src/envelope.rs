use serde::{Deserialize, Serialize};

use crate::macros::int_enum;

int_enum! {
    /// `result.code` of the response envelope (reference §1.4).
    ///
    /// ```
    /// use terra_types::ApiCode;
    /// assert_eq!(ApiCode::from_code(102114), ApiCode::JobNotFound);
    /// assert_eq!(ApiCode::from_code(4242), ApiCode::Unknown(4242));
    /// assert!(ApiCode::Success.is_success());
    /// ```
    pub enum ApiCode {
        /// `0`: success.
        Success = 0 => "success",
        /// `701`: authentication error.
        Authentication = 701 => "authentication error",
        /// `801`: the account's running-job limit is reached.
        JobLimit = 801 => "job number limit reached",
        /// `102000`: internal service invocation failure.
        ServiceFailure = 102000 => "service invocation failure",
        /// `102001`: a parameter is invalid; `msg` names it.
        InvalidParameter = 102001 => "parameter error",
        /// `102002`: no such resource or file.
        ResourceNotFound = 102002 => "resource not found",
        /// `102003`: the operation is not allowed in the current state.
        InvalidOperation = 102003 => "invalid operation",
        /// `102114`: no such job.
        JobNotFound = 102114 => "job does not exist",
        /// `102116`: billing failure (quota or plan).
        Billing = 102116 => "billing failure",
    }
}

impl ApiCode {
    /// `true` only for code `0`.
    ///
    /// ```
    /// use terra_types::ApiCode;
    /// assert!(ApiCode::from_code(0).is_success());
    /// assert!(!ApiCode::JobLimit.is_success());
    /// ```
    pub const fn is_success(self) -> bool {
        self.code() == 0
    }
}

/// The `result` member of every response envelope.
///
/// ```
/// let r: terra_types::ApiResult = serde_json::from_str(
///     r#"{"code":102001,"msg":"parameter `name` is required","desc":"parameter error"}"#,
/// ).unwrap();
/// assert_eq!(r.code, terra_types::ApiCode::InvalidParameter);
/// assert!(r.msg.contains("`name`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ApiResult {
    /// `0` on success; see [`ApiCode`].
    pub code: ApiCode,
    /// Human-readable message (names the bad field on 102001).
    #[serde(default)]
    pub msg: String,
    /// Description of the code.
    #[serde(default)]
    pub desc: String,
}

impl ApiResult {
    /// A success result with the service's usual wording.
    ///
    /// ```
    /// let ok = terra_types::ApiResult::ok();
    /// assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"code":0,"msg":"success","desc":"success"}"#);
    /// ```
    pub fn ok() -> Self {
        Self {
            code: ApiCode::Success,
            msg: "success".into(),
            desc: "success".into(),
        }
    }

    /// An error result; `desc` is the label of the code.
    ///
    /// ```
    /// use terra_types::{ApiCode, ApiResult};
    /// let e = ApiResult::error(ApiCode::JobNotFound, "job 1 not found");
    /// assert_eq!(e.desc, "job does not exist");
    /// ```
    pub fn error(code: ApiCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            desc: code.label().into(),
        }
    }
}

/// The response envelope `{"result": {...}, "data": ...}` (reference §1.3).
///
/// `data` is `None` when the member is absent or `null` (delete, stop, errors).
///
/// ```
/// use terra_types::{ApiCode, Envelope};
/// let env: Envelope<serde_json::Value> = serde_json::from_str(
///     r#"{"result":{"code":102114,"msg":"job not found","desc":"job does not exist"}}"#,
/// ).unwrap();
/// assert_eq!(env.result.code, ApiCode::JobNotFound);
/// assert!(env.data.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Envelope_{T}"))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Envelope<T> {
    /// Outcome of the call.
    pub result: ApiResult,
    /// Operation-specific payload.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(default = "none::<T>"))]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    /// A success envelope carrying `data`.
    ///
    /// ```
    /// use terra_types::{Created, Envelope};
    /// let env = Envelope::ok(Created { uuid: "u-1".into() });
    /// assert_eq!(
    ///     serde_json::to_string(&env).unwrap(),
    ///     r#"{"result":{"code":0,"msg":"success","desc":"success"},"data":{"uuid":"u-1"}}"#
    /// );
    /// ```
    pub fn ok(data: T) -> Self {
        Self {
            result: ApiResult::ok(),
            data: Some(data),
        }
    }

    /// A success envelope without data (delete, stop).
    ///
    /// ```
    /// let env = terra_types::Envelope::<()>::ok_empty();
    /// assert!(!serde_json::to_string(&env).unwrap().contains("data"));
    /// ```
    pub fn ok_empty() -> Self {
        Self {
            result: ApiResult::ok(),
            data: None,
        }
    }

    /// An error envelope.
    ///
    /// ```
    /// use terra_types::{ApiCode, Envelope};
    /// let env = Envelope::<()>::error(ApiCode::JobLimit, "2 jobs are running");
    /// assert_eq!(env.result.code.code(), 801);
    /// assert!(env.data.is_none());
    /// ```
    pub fn error(code: ApiCode, msg: impl Into<String>) -> Self {
        Self {
            result: ApiResult::error(code, msg),
            data: None,
        }
    }
}

/// The body of a gateway (Kong `hmac-auth`) rejection: `{"message": "..."}`, not the envelope.
///
/// ```
/// let e: terra_types::GatewayError =
///     serde_json::from_str(r#"{"message":"HMAC signature does not match"}"#).unwrap();
/// assert_eq!(e.message, "HMAC signature does not match");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GatewayError {
    /// For example `HMAC signature does not match`.
    pub message: String,
}

/// Minimal `data` of a create without `Return-Detail: true`: at least the new `uuid`.
///
/// ```
/// let c: terra_types::Created = serde_json::from_str(r#"{"uuid":"3c6a2c5e"}"#).unwrap();
/// assert_eq!(c.uuid, "3c6a2c5e");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Created {
    /// The new object's id.
    pub uuid: String,
}
