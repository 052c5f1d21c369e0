//! The `terra-mock` command line (feature `cli`), shared by the `terra-mock` binary and
//! `terra mock`, so that both take the same flags and print the same help.
//!
//! ```no_run
//! // A binary of your own that embeds the emulator's command line:
//! fn main() -> std::process::ExitCode {
//!     terra_mock::cli::main_from("my-mock", std::env::args_os().skip(1))
//! }
//! ```

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::{AccountConfig, MockConfig, Provider, TerraMock};

/// `terra-mock <command>`.
#[derive(Parser, Debug)]
#[command(
    name = "terra-mock",
    version,
    about = "A faithful emulator of DJI TerraAPI v2 (API, STS tokens, S3 and OSS uploads, jobs)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API and the storage endpoints until Ctrl-C or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Print every setting with its default as TOML (a starting point for --config).
    PrintConfig,
    /// Print the certificate (PEM) of the proxy's authority, creating it if needed: what
    /// clients of `serve --proxy` must trust.
    Ca(CaArgs),
    /// Print a running server's report: its refusals and lenient acceptances by code and
    /// by client, with the first example of each (what was expected, what it signed).
    Report(crate::cli_report::ReportArgs),
}

/// The flags of `ca`.
#[derive(clap::Args, Debug)]
struct CaArgs {
    /// The data directory of the server (its authority is kept in DIR/ca).
    #[arg(long, env = "TERRA_MOCK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the authority is kept (default: DIR/ca, else the per-user state folder).
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// A host name `serve --proxy` will also emulate (repeatable), for an authority made
    /// by this command: its certificate may vouch for these names too. An existing
    /// authority is printed as it is.
    #[arg(long = "proxy-host", value_name = "NAME")]
    proxy_hosts: Vec<String>,
}

/// The flags of `serve`.
#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on. Loopback by default; use 0.0.0.0 only on a trusted network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// A TOML file with any settings (see `print-config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// App key of the (single) account; replaces the accounts of the config file.
    #[arg(long, env = "DJI_APP_KEY", requires = "secret")]
    app_key: Option<String>,
    /// Secret of that account.
    #[arg(long, env = "DJI_SECRET_KEY", hide_env_values = true)]
    secret: Option<String>,
    /// Storage provider of every account: s3 (international) or oss (mainland China).
    #[arg(long, value_parser = ["s3", "oss"])]
    provider: Option<String>,
    /// STS token lifetime, seconds.
    #[arg(long)]
    token_lifetime: Option<u64>,
    /// Make jobs take about this many seconds, every stage shortened in proportion.
    #[arg(long)]
    job_seconds: Option<f64>,
    /// Allowed clock skew of signed requests, seconds.
    #[arg(long)]
    clock_skew: Option<u64>,
    /// Also require Digest to match the body (Kong's validate_request_body).
    #[arg(long)]
    strict_digest: bool,
    /// Verify signatures strictly (date, request target and digest signed; digest checked).
    #[arg(long)]
    strict_signatures: bool,
    /// Most open connections (default: three quarters of the file-descriptor limit).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Keep state and objects in this directory across restarts (default: ephemeral).
    #[arg(long, env = "TERRA_MOCK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// If --data-dir's state cannot be read (damaged, or not terra-mock's), move it aside
    /// (renamed *.damaged-<time>, kept) and start empty instead of refusing to start.
    #[arg(long, requires = "data_dir")]
    reset_damaged_state: bool,
    /// Token the control API (/_terra-mock/v1) asks for as `Authorization: Bearer`; without
    /// one it answers loopback callers only, and is off on a non-loopback --addr.
    #[arg(long, env = "TERRA_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// A host name the controls and dashboard answer to besides loopback names and IP
    /// addresses (repeatable; `*.example.com` for a domain; `*` only with --admin-token).
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// An origin whose pages may call the control API besides the emulator's own
    /// (repeatable), e.g. `http://dashboard.test:3000`.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// The storage buckets' CORS rules: a CORSConfiguration document (S3's or OSS's XML)
    /// for both buckets, or `off` (every preflight refused, as a bucket without CORS).
    /// Default: any origin may GET, PUT, POST, HEAD and DELETE with any header.
    #[arg(long = "storage-cors", value_name = "FILE|off")]
    storage_cors: Option<String>,
    /// An origin whose pages may call the TerraAPI routes themselves (repeatable; `*` for
    /// any). Without one, the API sends no CORS headers, as DJI's gateway is assumed to.
    #[arg(long = "api-cors-origin", value_name = "ORIGIN")]
    api_cors_origins: Vec<String>,
    /// Also be an HTTP/1.1 forward proxy on this port: unmodified programs with DJI's, S3's
    /// and OSS's hosts written in reach the emulator through HTTPS_PROXY (the banner prints
    /// the environment to set). Other hosts are refused.
    #[arg(long)]
    proxy: bool,
    /// A host name the proxy emulates besides DJI's, S3's and OSS's (repeatable;
    /// `*.example.com` for a domain).
    #[arg(long = "proxy-host", value_name = "NAME", requires = "proxy")]
    proxy_hosts: Vec<String>,
    /// Where the proxy's certificate authority is kept (default: --data-dir's ca/, else the
    /// per-user state folder).
    #[arg(long, requires = "proxy")]
    ca_dir: Option<PathBuf>,
    /// How many host names' certificates the proxy keeps (least recently used evicted
    /// first; default 1000).
    #[arg(long, value_name = "N", requires = "proxy")]
    proxy_cert_cache: Option<usize>,
    /// Log filter (tracing EnvFilter syntax), e.g. `debug` or `terra_mock=trace`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

/// Logs to stderr with `filter` (EnvFilter syntax). Whatever the filter, the `s3s` crate
/// (the S3 protocol) is silent: at debug level it prints whole requests, session tokens
/// and expected signatures included, and at error level every refused request (a wrong
/// signature is the client's error, not the server's). The mock logs its own S3 failures.
///
/// ```no_run
/// terra_mock::cli::init_logging("info,terra_mock=debug").unwrap();
/// ```
pub fn init_logging(filter: &str) -> Result<(), String> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let env =
        tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| format!("log filter: {e}"))?;
    let quiet_s3s = tracing_subscriber::filter::filter_fn(|meta| !meta.target().starts_with("s3s"));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(env)
                .with_filter(quiet_s3s),
        )
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))
}

fn load(args: &ServeArgs) -> Result<MockConfig, String> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))?
        }
        None => MockConfig::default(),
    };
    if let (Some(app_key), Some(secret)) = (&args.app_key, &args.secret) {
        cfg.accounts = vec![AccountConfig::new(app_key, secret, Provider::S3)];
    }
    if let Some(p) = &args.provider {
        let provider = if p == "oss" {
            Provider::Oss
        } else {
            Provider::S3
        };
        for a in &mut cfg.accounts {
            a.provider = provider;
        }
    }
    if let Some(t) = args.token_lifetime {
        cfg.token_lifetime_secs = t;
    }
    if let Some(s) = args.job_seconds {
        if !(s.is_finite() && s > 0.0) {
            return Err(format!("--job-seconds must be a positive number, got {s}"));
        }
        cfg.timing = cfg.timing.scaled_to(Duration::from_secs_f64(s), 24);
    }
    if let Some(s) = args.clock_skew {
        cfg.clock_skew_secs = s;
    }
    if let Some(n) = args.max_connections {
        cfg.max_connections = n;
    }
    if let Some(d) = &args.data_dir {
        cfg.data_dir = Some(d.clone());
    }
    if let Some(t) = &args.admin_token {
        if t.is_empty() {
            return Err("--admin-token must not be empty".into());
        }
        cfg.admin_token = Some(crate::AdminToken::new(t));
    }
    cfg.reset_damaged_state |= args.reset_damaged_state;
    cfg.allowed_hosts.extend(args.allowed_hosts.iter().cloned());
    cfg.allowed_origins
        .extend(args.allowed_origins.iter().cloned());
    cfg.api_cors_origins
        .extend(args.api_cors_origins.iter().cloned());
    match args.storage_cors.as_deref() {
        None => {}
        Some("off") => cfg.storage_cors = crate::StorageCors::off(),
        Some(file) => {
            let xml =
                std::fs::read_to_string(file).map_err(|e| format!("--storage-cors {file}: {e}"))?;
            let c = crate::CorsConfig::from_xml(&xml)
                .map_err(|e| format!("--storage-cors {file}: {e}"))?;
            cfg.storage_cors = crate::StorageCors {
                s3: c.clone(),
                oss: c,
            };
        }
    }
    cfg.proxy |= args.proxy;
    cfg.proxy_hosts.extend(args.proxy_hosts.iter().cloned());
    if let Some(n) = args.proxy_cert_cache {
        cfg.proxy_cert_cache = n.max(1);
    }
    if let Some(d) = &args.ca_dir {
        cfg.ca_dir = Some(d.clone());
    }
    cfg.strict_digest |= args.strict_digest;
    cfg.strict_signatures |= args.strict_signatures;
    if cfg.accounts.is_empty() {
        return Err(
            "no account configured: give --app-key/--secret or [[accounts]] in the config".into(),
        );
    }
    Ok(cfg)
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    init_logging(&args.log)?;
    let cfg = load(&args)?;
    let data_dir = cfg.data_dir.clone();
    let mock = TerraMock::builder()
        .config(cfg)
        .bind(args.addr)
        .start()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AddrNotAvailable => {
                format!("cannot listen on {}: {e}", args.addr)
            }
            _ => format!("cannot start: {e}"),
        })?;
    let base = mock.base_url();
    let mut banner =
        format!("terra-mock listening on {base}\nAPI base:  {base}/terra-rescon-be/v2\n");
    for a in mock.accounts() {
        banner.push_str(&format!(
            "account:   DJI_APP_KEY={} DJI_SECRET_KEY={} (storage: {:?})\n",
            a.app_key, a.secret, a.provider
        ));
    }
    match mock.control_url() {
        Some(url) => banner.push_str(&format!(
            "control:   {url} (dashboard: {base}/_terra-mock/, API description: {url}/openapi.json)\n"
        )),
        None => banner.push_str(
            "control:   off (a non-loopback --addr needs --admin-token for the control API)\n",
        ),
    }
    banner.push_str(&format!(
        "try:       TERRA_ENDPOINT={base} terra jobs list\n"
    ));
    let env = mock.proxy_env();
    if !env.is_empty() {
        banner.push_str(
            "proxy:     on: CONNECT and http:// requests for DJI's API hosts and S3 and OSS names are\n\
             \x20          answered here (every other host is refused); an unmodified program needs:\n",
        );
        // One line a shell can paste; curl reads only the lower-case http_proxy.
        let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        banner.push_str(&format!("           export {}\n", vars.join(" ")));
        if let Some(ca) = mock.proxy.as_deref().map(|p| p.authority()) {
            banner.push_str(&format!(
                "           the CA may vouch for {} only (check: openssl x509 -noout -text -in {})\n",
                ca.permitted().join(", "),
                ca.cert_path().display()
            ));
            if let Some(old) = ca.replaced() {
                banner.push_str(&format!(
                    "           NOTE: a new CA was issued because the names changed: clients must \
                     trust {} again (the old one is kept as {})\n",
                    ca.cert_path().display(),
                    old.display()
                ));
            }
        }
    }
    banner.push_str(&match &data_dir {
        Some(d) => format!(
            "state:     kept in {} across restarts\nCtrl-C or SIGTERM stops.\n",
            d.display()
        ),
        None => "Ctrl-C or SIGTERM stops (and removes the stored objects).\n".to_owned(),
    });
    // A closed stdout (a supervisor that stopped reading) must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);
    crate::stop_signal()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C or SIGTERM: {e}"))?;
    eprintln!("stopping...");
    mock.shutdown().await;
    Ok(())
}

/// Runs the command line with `args` (without the program name), as `bin` (the name used
/// in help and errors). Returns the process exit code: 0, 1 on failure, 2 on usage errors.
pub fn main_from<I, T>(bin: &str, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory as _, FromArgMatches as _};
    let argv = std::iter::once(OsString::from(bin)).chain(args.into_iter().map(Into::into));
    let parsed = Cli::command()
        .bin_name(bin.to_owned())
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Report(a) => crate::cli_report::run(a),
        Command::PrintConfig => toml::to_string_pretty(&MockConfig::default())
            .map(|s| print!("{s}"))
            .map_err(|e| e.to_string()),
        Command::Ca(a) => {
            let dir = match a.ca_dir {
                Some(d) => Ok(d),
                None => crate::proxy::ca::default_dir(a.data_dir.as_deref()),
            };
            dir.and_then(|dir| {
                crate::proxy::ca::Authority::open(
                    &dir,
                    &a.proxy_hosts,
                    crate::proxy::ca::OnChange::Keep,
                )
            })
            .map(|ca| {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(ca.cert_pem().as_bytes());
                eprintln!(
                    "{}: may vouch for {} (and nothing else)",
                    ca.cert_path().display(),
                    ca.permitted().join(", ")
                );
            })
            .map_err(|e| e.to_string())
        }
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            // File I/O runs on blocking threads; a bounded pool keeps memory (and the
            // allocator's per-thread caches) bounded too.
            .max_blocking_threads(8)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(serve(*args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{bin}: {e}");
            ExitCode::FAILURE
        }
    }
}
