//! Prints the signed headers and the signing string of a request, to debug
//! "HMAC signature does not match".
//!
//! ```text
//! cargo run -p terra-sign --example sign -- --method POST \
//!     --target /terra-rescon-be/v2/resources --body '{"name":"test-resource","type":"map"}' \
//!     --date 'Wed, 25 Nov 2026 10:00:00 GMT' --app-key test-ak --secret test-sk
//! ```
//!
//! Flags: `--method`, `--target`, `--body` or `--body-file`, `--date` (default: now),
//! `--app-key` and `--secret` (default: `DJI_APP_KEY` / `DJI_SECRET_KEY`), `--x-date`.

use std::process::ExitCode;
use std::time::SystemTime;

use terra_sign::{Credentials, SignableRequest, SigningParams, parse_date, sign};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: {e}\nusage: sign --method M --target /path?query [--body TEXT | --body-file F] [--date DATE] [--app-key AK] [--secret SK] [--x-date]"
            );
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut method = "GET".to_owned();
    let mut target = None;
    let mut body = Vec::new();
    let mut date = None;
    let mut app_key = std::env::var("DJI_APP_KEY").ok();
    let mut secret = std::env::var("DJI_SECRET_KEY").ok();
    let mut x_date = false;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--method" => method = value()?,
            "--target" => target = Some(value()?),
            "--body" => body = value()?.into_bytes(),
            "--body-file" => {
                let path = value()?;
                body = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
            }
            "--date" => {
                let v = value()?;
                date = Some(parse_date(&v).ok_or_else(|| format!("{v:?} is not an HTTP date"))?);
            }
            "--app-key" => app_key = Some(value()?),
            "--secret" => secret = Some(value()?),
            "--x-date" => x_date = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let target = target.ok_or("--target is required")?;
    let creds = Credentials::new(
        app_key.ok_or("--app-key (or DJI_APP_KEY) is required")?,
        secret.ok_or("--secret (or DJI_SECRET_KEY) is required")?,
    );
    let mut params = SigningParams::new(date.unwrap_or_else(SystemTime::now));
    if x_date {
        params = params.with_x_date();
    }
    let signed = sign(
        &SignableRequest::new(&method, &target, &body),
        &creds,
        &params,
    );
    let mut out = String::new();
    for (name, value) in signed.headers() {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push_str(&format!(
        "\nsigning string ({} bytes):\n{}\n",
        signed.signing_string.len(),
        signed.signing_string
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Run with the inputs of golden vector V1, the example prints V1's headers.
    #[test]
    fn prints_vector_v1() {
        let args = [
            "--method",
            "POST",
            "--target",
            "/terra-rescon-be/v2/resources",
            "--body",
            r#"{"name":"test-resource","type":"map"}"#,
            "--date",
            "Wed, 25 Nov 2026 10:00:00 GMT",
            "--app-key",
            "test-ak",
            "--secret",
            "test-sk",
        ];
        let out = super::run(args.iter().map(|s| s.to_string()).collect()).unwrap();
        assert!(out.contains(
            "Authorization: hmac username=\"test-ak\", algorithm=\"hmac-sha256\", headers=\"date @request-target digest\", signature=\"LeAE5bVrstlJ6ZBbcD1fK5jMI2UCTumgEDq0UpDmOSg=\"\n"
        ), "{out}");
        assert!(out.contains("Digest: SHA-256=HcQlmTSSoN1dOizbDUm1RpbvprZuSFP7dCMtMNADbbM=\n"));
        assert!(out.contains("signing string (148 bytes)"));
    }

    #[test]
    fn missing_target_is_a_clear_error() {
        let err = super::run(vec![
            "--app-key".into(),
            "a".into(),
            "--secret".into(),
            "s".into(),
        ])
        .unwrap_err();
        assert_eq!(err, "--target is required");
    }
}
