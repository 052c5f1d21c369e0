//! Storage CORS as S3 and OSS evaluate it: a bucket's rules, matched in order against a
//! preflight's `Origin`, `Access-Control-Request-Method` and `Access-Control-Request-Headers`
//! (or an actual request's `Origin` and method); the first rule that matches decides.
//! Pure: no I/O; `storage/cors.rs` turns a decision into each protocol's answer.
//!
//! DJI never published its buckets' configuration; the public browser demos upload from
//! the page with ali-oss, so the buckets had one. The default here is what that flow
//! needs (see [`CorsConfig::default_for_s3`]), and every part of it can be changed.

use serde::{Deserialize, Serialize};

/// One rule of a bucket's CORS configuration (`CORSRule`).
///
/// ```
/// use terra_mock::CorsRule;
/// let rule = CorsRule {
///     allowed_origins: vec!["https://*.example.com".into()],
///     allowed_methods: vec!["PUT".into()],
///     allowed_headers: vec!["*".into()],
///     ..Default::default()
/// };
/// assert!(rule.allows_origin("https://app.example.com"));
/// assert!(!rule.allows_origin("https://example.org"));
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsRule {
    /// `ID`, for reference only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `AllowedOrigin`: origins, each with at most one `*` (`*` alone: any origin).
    pub allowed_origins: Vec<String>,
    /// `AllowedMethod`: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
    pub allowed_methods: Vec<String>,
    /// `AllowedHeader`: headers a preflight may ask for, each with at most one `*`.
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader`: response headers the page may read.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`: how long a browser may keep a preflight's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
}

/// A pattern with at most one `*`, matched as S3 matches it (the part before the star a
/// prefix, the part after it a suffix); case-insensitive for header names.
fn wildcard(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let eq = |a: &str, b: &str| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match pattern.split_once('*') {
        None => eq(pattern, value),
        Some((pre, post)) => {
            value.len() >= pre.len() + post.len()
                && value.is_char_boundary(pre.len())
                && value.is_char_boundary(value.len() - post.len())
                && eq(&value[..pre.len()], pre)
                && eq(&value[value.len() - post.len()..], post)
        }
    }
}

impl CorsRule {
    /// Whether `origin` is one of the rule's origins.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| wildcard(o.trim(), origin, false))
    }

    fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods
            .iter()
            .any(|m| m.trim().eq_ignore_ascii_case(method))
    }

    fn allows_header(&self, header: &str) -> bool {
        self.allowed_headers
            .iter()
            .any(|h| wildcard(h.trim(), header, true))
    }

    /// The rule's entry for `origin` is a bare `*`: the answer says `*`, not the origin.
    fn any_origin(&self) -> bool {
        self.allowed_origins.iter().any(|o| o.trim() == "*")
    }
}

/// A bucket's CORS configuration: its rules in order (none: CORS is off for the bucket),
/// and OSS's `ResponseVary`.
///
/// ```
/// use terra_mock::CorsConfig;
/// let s3 = CorsConfig::default_for_s3();
/// assert!(s3.rules[0].allowed_methods.contains(&"PUT".to_string()));
/// assert!(s3.rules[0].expose_headers.contains(&"ETag".to_string()));
/// assert!(CorsConfig::off().rules.is_empty());
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// The rules, first match wins; empty: "CORS is not enabled for this bucket".
    pub rules: Vec<CorsRule>,
    /// OSS's `ResponseVary`: every answer carries `Vary: Origin`.
    pub response_vary: bool,
}

/// The response headers the SDKs read, exposed by the default rules.
const S3_EXPOSED: &[&str] = &[
    "ETag",
    "x-amz-request-id",
    "x-amz-id-2",
    "x-amz-version-id",
    "x-amz-delete-marker",
    "x-amz-server-side-encryption",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Last-Modified",
    "Location",
];
const OSS_EXPOSED: &[&str] = &[
    "ETag",
    "x-oss-request-id",
    "x-oss-hash-crc64ecma",
    "x-oss-object-type",
    "x-oss-next-append-position",
    "x-oss-version-id",
    "x-oss-server-side-encryption",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Last-Modified",
    "Location",
];

impl CorsConfig {
    fn permissive(exposed: &[&str]) -> Self {
        Self {
            rules: vec![CorsRule {
                id: Some("terra-mock default".into()),
                allowed_origins: vec!["*".into()],
                allowed_methods: ["GET", "PUT", "POST", "HEAD", "DELETE"]
                    .map(String::from)
                    .to_vec(),
                allowed_headers: vec!["*".into()],
                expose_headers: exposed.iter().map(|h| (*h).to_owned()).collect(),
                max_age_seconds: Some(3600),
            }],
            response_vary: false,
        }
    }

    /// The S3 bucket's default: any origin; `GET`, `PUT`, `POST`, `HEAD`, `DELETE`; any
    /// header; `ETag`, the request ids, version, checksum and content headers exposed; an
    /// hour's preflight cache. Our choice: DJI's configuration was never published.
    pub fn default_for_s3() -> Self {
        Self::permissive(S3_EXPOSED)
    }

    /// The OSS bucket's default, as [`CorsConfig::default_for_s3`] with OSS's headers
    /// exposed (`ETag`, `x-oss-request-id`, `x-oss-hash-crc64ecma`, ...).
    pub fn default_for_oss() -> Self {
        Self::permissive(OSS_EXPOSED)
    }

    /// CORS off: every preflight is refused ("CORS is not enabled for this bucket").
    pub fn off() -> Self {
        Self::default()
    }

    /// Reads a `CORSConfiguration` document, S3's or OSS's form (`CORSRule` elements with
    /// `AllowedOrigin`, `AllowedMethod`, `AllowedHeader`, `ExposeHeader`,
    /// `MaxAgeSeconds`, `ID`; OSS's `ResponseVary`), namespace or not.
    ///
    /// ```
    /// let xml = r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    ///   <CORSRule><AllowedOrigin>http://app.test</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>
    ///   <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>
    /// </CORSConfiguration>"#;
    /// let c = terra_mock::CorsConfig::from_xml(xml)?;
    /// assert_eq!(c.rules[0].allowed_origins, ["http://app.test"]);
    /// assert_eq!(c.rules[0].max_age_seconds, Some(60));
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_xml(xml: &str) -> Result<Self, String> {
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "PascalCase")]
        struct Doc {
            #[serde(rename = "CORSRule")]
            cors_rule: Vec<Rule>,
            response_vary: Option<bool>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "PascalCase")]
        struct Rule {
            #[serde(rename = "ID")]
            id: Option<String>,
            allowed_origin: Vec<String>,
            allowed_method: Vec<String>,
            allowed_header: Vec<String>,
            expose_header: Vec<String>,
            max_age_seconds: Option<u32>,
        }
        let doc: Doc = quick_xml::de::from_str(xml)
            .map_err(|e| format!("not a CORSConfiguration document: {e}"))?;
        let rules: Vec<CorsRule> = doc
            .cors_rule
            .into_iter()
            .map(|r| CorsRule {
                id: r.id,
                allowed_origins: r.allowed_origin,
                allowed_methods: r.allowed_method,
                allowed_headers: r.allowed_header,
                expose_headers: r.expose_header,
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        let c = Self {
            rules,
            response_vary: doc.response_vary.unwrap_or(false),
        };
        c.check()?;
        Ok(c)
    }

    /// Refuses what S3 and OSS refuse in a configuration: a rule without an origin or a
    /// method, an unknown method, a pattern with more than one `*`, more than 100 rules.
    ///
    /// ```
    /// use terra_mock::{CorsConfig, CorsRule};
    /// let mut c = CorsConfig::default_for_oss();
    /// c.rules[0].allowed_methods = vec!["PATCH".into()];
    /// assert!(c.check().unwrap_err().contains("PATCH"));
    /// ```
    pub fn check(&self) -> Result<(), String> {
        if self.rules.len() > 100 {
            return Err(format!(
                "{} CORS rules: a bucket holds at most 100",
                self.rules.len()
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            let n = i + 1;
            if r.allowed_origins.is_empty() || r.allowed_methods.is_empty() {
                return Err(format!(
                    "CORS rule {n} needs at least one AllowedOrigin and one AllowedMethod"
                ));
            }
            for m in &r.allowed_methods {
                if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&m.trim()) {
                    return Err(format!(
                        "CORS rule {n}: AllowedMethod {m:?} is not one of GET, PUT, POST, DELETE, HEAD"
                    ));
                }
            }
            for p in r.allowed_origins.iter().chain(&r.allowed_headers) {
                if p.matches('*').count() > 1 {
                    return Err(format!(
                        "CORS rule {n}: {p:?} has more than one wildcard `*`"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The first rule allowing a preflight for `origin`, `method` and the requested
    /// `headers` (the value of `Access-Control-Request-Headers`).
    pub(crate) fn preflight(&self, origin: &str, method: &str, headers: &str) -> Option<&CorsRule> {
        let asked: Vec<&str> = headers
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        self.rules.iter().find(|r| {
            r.allows_origin(origin)
                && r.allows_method(method)
                && asked.iter().all(|h| r.allows_header(h))
        })
    }

    /// The first rule allowing an actual request of `method` from `origin`.
    pub(crate) fn actual(&self, origin: &str, method: &str) -> Option<&CorsRule> {
        self.rules
            .iter()
            .find(|r| r.allows_origin(origin) && r.allows_method(method))
    }
}

/// The CORS configurations of the two buckets (`MockConfig::storage_cors`), changeable at
/// run time (`TerraMock::set_storage_cors`, `PUT /_terra-mock/v1/storage/{provider}/cors`).
///
/// ```
/// let c = terra_mock::StorageCors::default();
/// assert_eq!(c.s3, terra_mock::CorsConfig::default_for_s3());
/// assert!(terra_mock::StorageCors::off().oss.rules.is_empty());
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageCors {
    /// The S3 bucket's.
    pub s3: CorsConfig,
    /// The OSS bucket's.
    pub oss: CorsConfig,
}

impl Default for StorageCors {
    fn default() -> Self {
        Self {
            s3: CorsConfig::default_for_s3(),
            oss: CorsConfig::default_for_oss(),
        }
    }
}

impl StorageCors {
    /// CORS off on both buckets (`--storage-cors off`).
    pub fn off() -> Self {
        Self {
            s3: CorsConfig::off(),
            oss: CorsConfig::off(),
        }
    }
}

/// What a preflight comes to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Preflight<'a> {
    /// Granted by this rule.
    Allowed(&'a CorsRule),
    /// No `Origin`.
    NoOrigin,
    /// No `Access-Control-Request-Method`, or not a method CORS rules name.
    BadMethod(String),
    /// The bucket has no rules.
    Off,
    /// No rule matches.
    Refused,
}

/// Decides a preflight against `config`.
pub(crate) fn preflight<'a>(
    config: &'a CorsConfig,
    origin: Option<&str>,
    method: Option<&str>,
    headers: &str,
) -> Preflight<'a> {
    let Some(origin) = origin.filter(|o| !o.is_empty()) else {
        return Preflight::NoOrigin;
    };
    let method = method.unwrap_or_default();
    if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&method) {
        return Preflight::BadMethod(method.to_owned());
    }
    if config.rules.is_empty() {
        return Preflight::Off;
    }
    config
        .preflight(origin, method, headers)
        .map_or(Preflight::Refused, Preflight::Allowed)
}

/// The headers of a granted CORS answer (preflight or actual), without `Vary`.
pub(crate) fn grant(
    rule: &CorsRule,
    origin: &str,
    asked_headers: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut h = Vec::with_capacity(6);
    if rule.any_origin() {
        h.push(("access-control-allow-origin", "*".to_owned()));
    } else {
        h.push(("access-control-allow-origin", origin.to_owned()));
        h.push(("access-control-allow-credentials", "true".to_owned()));
    }
    h.push((
        "access-control-allow-methods",
        rule.allowed_methods
            .iter()
            .map(|m| m.trim())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if let Some(asked) = asked_headers.filter(|a| !a.trim().is_empty()) {
        // Echoed as asked: a literal `*` does not cover `Authorization` in browsers.
        h.push(("access-control-allow-headers", asked.trim().to_owned()));
    }
    if !rule.expose_headers.is_empty() {
        h.push((
            "access-control-expose-headers",
            rule.expose_headers
                .iter()
                .map(|e| e.trim())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if let Some(age) = rule.max_age_seconds {
        h.push(("access-control-max-age", age.to_string()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| (*s).into()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).into()).collect(),
            allowed_headers: headers.iter().map(|s| (*s).into()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rules_match_in_order_as_s3_matches_them() {
        let c = CorsConfig {
            rules: vec![
                rule(&["http://a.test"], &["GET"], &[]),
                rule(
                    &["https://*.app.test"],
                    &["PUT", "GET"],
                    &["x-oss-*", "content-type", "authorization"],
                ),
                rule(&["*"], &["GET"], &["*"]),
            ],
            response_vary: false,
        };
        let first = |o, m, h| c.preflight(o, m, h).map(|r| r.allowed_origins[0].clone());
        assert_eq!(
            first("http://a.test", "GET", "").as_deref(),
            Some("http://a.test")
        );
        assert_eq!(
            first("http://a.test", "GET", "x-custom").as_deref(),
            Some("*"),
            "the first rule allows no header; the third allows any"
        );
        assert_eq!(
            first(
                "https://x.app.test",
                "PUT",
                "X-OSS-Date, Content-Type, Authorization"
            )
            .as_deref(),
            Some("https://*.app.test"),
            "header names are matched without case"
        );
        assert_eq!(
            first("https://x.app.test", "PUT", "x-amz-date"),
            None,
            "x-amz-date is not x-oss-*"
        );
        assert_eq!(
            first("https://app.test", "PUT", ""),
            None,
            "the wildcard needs its dot"
        );
        assert_eq!(
            first("HTTP://A.TEST", "PUT", ""),
            None,
            "origins keep their case"
        );
        assert_eq!(first("http://b.test", "DELETE", ""), None);
        assert_eq!(
            c.actual("http://b.test", "GET").unwrap().allowed_origins,
            ["*"]
        );
    }

    #[test]
    fn preflights_without_origin_method_or_rules() {
        let on = CorsConfig::default_for_s3();
        assert_eq!(preflight(&on, None, Some("PUT"), ""), Preflight::NoOrigin);
        assert_eq!(
            preflight(&on, Some("http://a"), Some("PATCH"), ""),
            Preflight::BadMethod("PATCH".into())
        );
        assert_eq!(
            preflight(&CorsConfig::off(), Some("http://a"), Some("PUT"), ""),
            Preflight::Off
        );
        assert!(matches!(
            preflight(&on, Some("http://a"), Some("PUT"), "authorization"),
            Preflight::Allowed(_)
        ));
    }

    #[test]
    fn a_grant_echoes_the_headers_asked_and_says_star_only_for_star() {
        let any = CorsConfig::default_for_oss();
        let g = grant(
            &any.rules[0],
            "http://a.test",
            Some("authorization, x-oss-date"),
        );
        assert!(g.contains(&("access-control-allow-origin", "*".into())));
        assert!(g.contains(&(
            "access-control-allow-headers",
            "authorization, x-oss-date".into()
        )));
        assert!(
            g.iter().any(|(n, v)| *n == "access-control-expose-headers"
                && v.contains("x-oss-hash-crc64ecma"))
        );
        assert!(
            !g.iter()
                .any(|(n, _)| *n == "access-control-allow-credentials")
        );
        let one = rule(&["http://a.test"], &["PUT"], &["*"]);
        let g = grant(&one, "http://a.test", None);
        assert!(g.contains(&("access-control-allow-origin", "http://a.test".into())));
        assert!(g.contains(&("access-control-allow-credentials", "true".into())));
    }

    #[test]
    fn configurations_are_read_from_either_services_xml_and_checked() {
        let oss = r#"<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <ExposeHeader>x-oss-request-id</ExposeHeader>
    <MaxAgeSeconds>100</MaxAgeSeconds>
  </CORSRule>
  <ResponseVary>true</ResponseVary>
</CORSConfiguration>"#;
        let c = CorsConfig::from_xml(oss).unwrap();
        assert!(c.response_vary);
        assert_eq!(c.rules[0].allowed_methods, ["PUT", "GET"]);
        assert_eq!(c.rules[0].expose_headers, ["ETag", "x-oss-request-id"]);
        assert!(
            CorsConfig::from_xml("<CORSConfiguration/>")
                .unwrap()
                .rules
                .is_empty()
        );
        for bad in [
            "not xml at all <",
            "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
        ] {
            assert!(CorsConfig::from_xml(bad).is_err(), "{bad}");
        }
    }
}
