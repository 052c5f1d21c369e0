//! The policy document of a browser upload form (S3 POST Object and OSS PostObject share
//! its grammar): an expiration and conditions on the form's fields — exact matches
//! (`{"key": "a.jpg"}`, `["eq", "$key", "a.jpg"]`), prefixes (`["starts-with", "$key",
//! "uploads/"]`) and the file's size (`["content-length-range", 1, 10485760]`). Errors
//! are the sentences S3 and OSS answer with, after "Invalid Policy: " (a malformed
//! document) or "Invalid according to Policy: " (a form it does not allow).

use std::time::SystemTime;

use base64::Engine as _;

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The field (lower case, without `$`) equals the value.
    Eq { field: String, value: String },
    /// The field starts with the prefix (an empty prefix: any value, or none).
    StartsWith { field: String, prefix: String },
    /// The file's size is within these bounds, inclusive.
    Range { min: u64, max: u64 },
}

impl Condition {
    /// The condition as S3 quotes it in a refusal.
    fn describe(&self) -> String {
        match self {
            Self::Eq { field, value } => format!("[\"eq\", \"${field}\", \"{value}\"]"),
            Self::StartsWith { field, prefix } => {
                format!("[\"starts-with\", \"${field}\", \"{prefix}\"]")
            }
            Self::Range { min, max } => format!("[\"content-length-range\", {min}, {max}]"),
        }
    }
}

/// A decoded policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub expiration: SystemTime,
    pub conditions: Vec<Condition>,
}

fn field_name(v: &serde_json::Value) -> Result<String, String> {
    let name = v
        .as_str()
        .ok_or("Invalid Policy: Invalid Condition: a field name must be a string.")?;
    let name = name.strip_prefix('$').unwrap_or(name);
    Ok(name.to_ascii_lowercase())
}

fn number(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Decodes a policy from the form's `policy` field (base64 of JSON).
pub(crate) fn parse(b64: &str) -> Result<Policy, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| "Invalid Policy: Invalid Base64 Encoding.".to_owned())?;
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "Invalid Policy: Invalid JSON.".to_owned())?;
    let expiration = doc
        .get("expiration")
        .ok_or("Invalid Policy: Policy missing expiration.")?
        .as_str()
        .and_then(terra_types::time::parse_rfc3339)
        .ok_or("Invalid Policy: Invalid 'expiration' value.")?;
    let list = doc
        .get("conditions")
        .ok_or("Invalid Policy: Policy missing conditions.")?
        .as_array()
        .ok_or("Invalid Policy: Invalid 'conditions' value.")?;
    let mut conditions = Vec::with_capacity(list.len());
    for c in list {
        match c {
            serde_json::Value::Object(map) => {
                if map.len() != 1 {
                    return Err(format!("Invalid Policy: Invalid Simple-Condition: {c}"));
                }
                for (k, v) in map {
                    let value = v
                        .as_str()
                        .ok_or_else(|| format!("Invalid Policy: Invalid Simple-Condition: value of {k} must be a string."))?;
                    conditions.push(Condition::Eq {
                        field: k.strip_prefix('$').unwrap_or(k).to_ascii_lowercase(),
                        value: value.to_owned(),
                    });
                }
            }
            serde_json::Value::Array(items) => {
                let op = items
                    .first()
                    .and_then(|o| o.as_str())
                    .map(str::to_ascii_lowercase)
                    .unwrap_or_default();
                match (op.as_str(), items.len()) {
                    ("eq", 3) | ("starts-with", 3) => {
                        let field = field_name(&items[1])?;
                        let value = items[2]
                            .as_str()
                            .ok_or_else(|| format!("Invalid Policy: Invalid Condition: {c}"))?
                            .to_owned();
                        conditions.push(if op == "eq" {
                            Condition::Eq { field, value }
                        } else {
                            Condition::StartsWith {
                                field,
                                prefix: value,
                            }
                        });
                    }
                    ("content-length-range", 3) => match (number(&items[1]), number(&items[2])) {
                        (Some(min), Some(max)) if min <= max => {
                            conditions.push(Condition::Range { min, max });
                        }
                        _ => {
                            return Err(
                                "Invalid Policy: Invalid content-length-range condition.".into()
                            );
                        }
                    },
                    _ => return Err(format!("Invalid Policy: Invalid Condition: {c}")),
                }
            }
            _ => return Err(format!("Invalid Policy: Invalid Condition: {c}")),
        }
    }
    Ok(Policy {
        expiration,
        conditions,
    })
}

/// A form field's value by name, ignoring case.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Policy {
    /// Checks the expiration (at `now`) and every field condition; the file's size is
    /// checked while it streams ([`Policy::length_range`]).
    pub(crate) fn check(
        &self,
        fields: &[(String, String)],
        bucket: &str,
        now: SystemTime,
    ) -> Result<(), String> {
        if now > self.expiration {
            return Err("Invalid according to Policy: Policy expired.".into());
        }
        for c in &self.conditions {
            let value = |f: &str| {
                if f == "bucket" {
                    Some(bucket)
                } else {
                    field(fields, f)
                }
            };
            let ok = match c {
                Condition::Eq { field, value: want } => value(field) == Some(want.as_str()),
                Condition::StartsWith { field, prefix } => {
                    value(field).unwrap_or("").starts_with(prefix.as_str())
                }
                Condition::Range { .. } => true,
            };
            if !ok {
                return Err(format!(
                    "Invalid according to Policy: Policy Condition failed: {}",
                    c.describe()
                ));
            }
        }
        Ok(())
    }

    /// The first form field no condition names (S3 refuses those), ignoring the ones that
    /// need none.
    pub(crate) fn uncovered<'a>(&self, fields: &'a [(String, String)]) -> Option<&'a str> {
        fields.iter().map(|(n, _)| n.as_str()).find(|n| {
            let lower = n.to_ascii_lowercase();
            let exempt = matches!(
                lower.as_str(),
                "x-amz-signature" | "file" | "policy" | "awsaccesskeyid" | "signature"
            ) || lower.starts_with("x-ignore-");
            !exempt
                && !self.conditions.iter().any(|c| match c {
                    Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => {
                        *field == lower
                    }
                    Condition::Range { .. } => false,
                })
        })
    }

    /// The bounds of `content-length-range`, if the policy has one.
    pub(crate) fn length_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().find_map(|c| match c {
            Condition::Range { min, max } => Some((*min, *max)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    const POLICY: &str = r#"{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
        {"bucket": "terra-mock-s3"}, ["starts-with", "$key", "1/tmp/abc/"],
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, ["content-length-range", 1, "1048576"],
        ["starts-with", "$Content-Type", ""]]}"#;

    #[test]
    fn conditions_are_checked_as_s3_checks_them() {
        let p = parse(&b64(POLICY)).unwrap();
        assert_eq!(p.length_range(), Some((1, 1_048_576)));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let good = fields(&[
            ("key", "1/tmp/abc/${filename}"),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ]);
        p.check(&good, "terra-mock-s3", now).unwrap();
        let e = p
            .check(
                &fields(&[("key", "2/tmp/x"), ("x-amz-algorithm", "AWS4-HMAC-SHA256")]),
                "terra-mock-s3",
                now,
            )
            .unwrap_err();
        assert_eq!(
            e,
            "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", \"1/tmp/abc/\"]"
        );
        let e = p.check(&good, "other", now).unwrap_err();
        assert!(
            e.ends_with("[\"eq\", \"$bucket\", \"terra-mock-s3\"]"),
            "{e}"
        );
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        assert_eq!(
            p.check(&good, "terra-mock-s3", late).unwrap_err(),
            "Invalid according to Policy: Policy expired."
        );
        assert_eq!(p.uncovered(&good), None);
        let extra = fields(&[
            ("key", "k"),
            ("x-amz-meta-owner", "me"),
            ("x-ignore-me", "1"),
            ("file", ""),
        ]);
        assert_eq!(p.uncovered(&extra), Some("x-amz-meta-owner"));
    }

    #[test]
    fn malformed_documents_are_named() {
        for (doc, msg) in [
            ("@@@", "Invalid Policy: Invalid Base64 Encoding."),
            (&b64("{"), "Invalid Policy: Invalid JSON."),
            (
                &b64(r#"{"conditions": []}"#),
                "Invalid Policy: Policy missing expiration.",
            ),
            (
                &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": {}}"#),
                "Invalid Policy: Invalid 'conditions' value.",
            ),
            (
                &b64(
                    r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 9, 1]]}"#,
                ),
                "Invalid Policy: Invalid content-length-range condition.",
            ),
            (
                &b64(r#"{"expiration": "soon", "conditions": []}"#),
                "Invalid Policy: Invalid 'expiration' value.",
            ),
        ] {
            assert_eq!(parse(doc).unwrap_err(), msg);
        }
        assert!(parse(&b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["matches", "$key", "x"]]}"#))
            .unwrap_err()
            .starts_with("Invalid Policy: Invalid Condition"));
    }
}
