//! `terra-mock report` (and `terra mock report`): a running server's report of refusals
//! and warnings, fetched from its control API with a minimal HTTP/1.1 client (plain HTTP:
//! the controls answer loopback callers, or any caller with the admin token).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// The flags of `report`.
#[derive(clap::Args, Debug)]
pub(crate) struct ReportArgs {
    /// The server's base URL.
    #[arg(long, env = "TERRA_MOCK_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The admin token the server was started with, if any.
    #[arg(long, env = "TERRA_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Print the report as JSON (the control API's document).
    #[arg(long)]
    json: bool,
}

/// The largest answer read.
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

pub(crate) fn run(a: ReportArgs) -> Result<(), String> {
    let format = if a.json { "json" } else { "text" };
    let body = get(
        &a.url,
        &format!("/_terra-mock/v1/report?format={format}"),
        a.admin_token.as_deref(),
    )?;
    print!("{body}");
    if a.json && !body.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// `GET path` on the server at `url` (`http://host:port`); the body of a 200.
fn get(url: &str, path: &str, token: Option<&str>) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url}: the report is read over plain http:// (the control API of a local server)")
    })?;
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{url}: expected http://host:port"));
    }
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !authority.ends_with(']')
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let mut s = TcpStream::connect(&address).map_err(|e| {
        format!("cannot reach terra-mock at {url}: {e} (is `terra-mock serve` running there?)")
    })?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: terra-mock-report\r\nAccept: */*\r\nConnection: close\r\n"
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.take(MAX_ANSWER)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{url}: not an HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{url}: not an HTTP answer"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| format!("{url}: a malformed chunked answer"))?;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if status != 200 {
        return Err(format!("{url} answered {status}: {}", text.trim()));
    }
    Ok(text)
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined_and_bad_ones_refused() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert!(dechunk(b"ff\r\nabc").is_none());
        assert!(dechunk(b"zz\r\n").is_none());
    }

    #[test]
    fn only_plain_http_urls() {
        assert!(
            get("https://x:1", "/", None)
                .unwrap_err()
                .contains("plain http")
        );
        assert!(
            get("http://user@x:1", "/", None)
                .unwrap_err()
                .contains("host:port")
        );
    }
}
