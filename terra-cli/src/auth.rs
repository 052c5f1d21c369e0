//! `terra token` and `terra sign`: credentials and the gateway signature.

use std::time::Duration;

use crate::args::{Cli, SignArgs};
use crate::{Failure, Outcome, client, print_json};

/// `terra token`.
pub(crate) async fn token(cli: &Cli, show_secrets: bool) -> Outcome {
    let t = client(cli)?.obtain_token().await?;
    if cli.json {
        print_json(&t);
    } else {
        let hide = |s: &str| {
            if show_secrets {
                s.to_owned()
            } else {
                "*** (--show-secrets)".into()
            }
        };
        out!(
            "cloudName        {}\nbucket           {}\nregion           {}\nstorePath        {}\naccessKeyID      {}",
            t.cloud_name,
            t.cloud_bucket_name,
            t.region,
            t.store_path,
            t.access_key_id
        );
        out!(
            "secretAccessKey  {}\nsessionToken     {}",
            hide(t.secret_access_key.expose()),
            hide(t.session_token.expose())
        );
        out!(
            "callbackParam    {}\nexpires          {}",
            t.callback_param,
            terra_types::time::format_rfc3339(
                std::time::UNIX_EPOCH + Duration::from_secs(t.expire_time.max(0) as u64)
            )
        );
    }
    Ok(())
}

/// `terra sign`.
pub(crate) fn sign(cli: &Cli, a: &SignArgs) -> Outcome {
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(f)) => std::fs::read(f).map_err(|e| Failure {
            code: 3,
            message: format!("cannot read {}: {e}", f.display()),
        })?,
        (None, None) => Vec::new(),
    };
    let time = match &a.date {
        Some(d) => terra_sign::parse_date(d).ok_or_else(|| Failure {
            code: 3,
            message: format!("{d:?} is not an HTTP date (e.g. \"Wed, 25 Nov 2026 10:00:00 GMT\")"),
        })?,
        None => std::time::SystemTime::now(),
    };
    let (Some(ak), Some(sk)) = (&cli.app_key, &cli.secret) else {
        return Err(Failure {
            code: 3,
            message: "give --app-key and --secret (or DJI_APP_KEY and DJI_SECRET_KEY)".into(),
        });
    };
    let mut params = terra_sign::SigningParams::new(time);
    if a.x_date {
        params = params.with_x_date();
    }
    let s = terra_sign::sign(
        &terra_sign::SignableRequest::new(&a.method, &a.target, &body),
        &terra_sign::Credentials::new(ak, sk),
        &params,
    );
    if cli.json {
        print_json(
            &serde_json::json!({ "headers": s.headers().iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(), "signingString": s.signing_string }),
        );
    } else {
        for (n, v) in s.headers() {
            out!("{n}: {v}");
        }
        out!(
            "\nsigning string ({} bytes):\n{}",
            s.signing_string.len(),
            s.signing_string
        );
    }
    Ok(())
}
