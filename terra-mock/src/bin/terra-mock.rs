//! `terra-mock serve`: the emulator as a standalone server.
//!
//! ```text
//! terra-mock serve --addr 127.0.0.1:8080
//! terra-mock serve --config mock.toml --provider oss --token-lifetime 60
//! terra-mock print-config > mock.toml      # every setting with its default
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use terra_mock::{AccountConfig, MockConfig, Provider, TerraMock};

#[derive(Parser, Debug)]
#[command(
    name = "terra-mock",
    version,
    about = "A faithful emulator of DJI TerraAPI v2 (API, STS tokens, S3 and OSS uploads, jobs)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API and the storage endpoints until Ctrl-C.
    Serve(ServeArgs),
    /// Print the default configuration as TOML (a starting point for --config).
    PrintConfig,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on. Loopback by default; use 0.0.0.0 only on a trusted network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// A TOML file with any MockConfig settings (see `terra-mock print-config`).
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
    /// STS token lifetime in seconds.
    #[arg(long)]
    token_lifetime: Option<u64>,
    /// Allowed clock skew of signed requests, seconds.
    #[arg(long)]
    clock_skew: Option<u64>,
    /// Also require Digest to match the body.
    #[arg(long)]
    strict_digest: bool,
    /// Log filter (tracing EnvFilter syntax), e.g. `debug` or `terra_mock=trace`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
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
    if let Some(s) = args.clock_skew {
        cfg.clock_skew_secs = s;
    }
    cfg.strict_digest |= args.strict_digest;
    if cfg.accounts.is_empty() {
        return Err(
            "no account configured: give --app-key/--secret or [[accounts]] in the config".into(),
        );
    }
    Ok(cfg)
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).map_err(|e| format!("--log: {e}"))?,
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = load(&args)?;
    let accounts = cfg.accounts.clone();
    let mock = TerraMock::builder()
        .config(cfg)
        .bind(args.addr)
        .start()
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    // A closed stdout (a supervisor that stopped reading) must not stop the server.
    let base = mock.base_url();
    let mut banner =
        format!("terra-mock listening on {base}\nAPI base:  {base}/terra-rescon-be/v2\n");
    for a in &accounts {
        banner.push_str(&format!(
            "account:   DJI_APP_KEY={} DJI_SECRET_KEY={} (storage: {:?})\n",
            a.app_key, a.secret, a.provider
        ));
    }
    banner.push_str("Ctrl-C or SIGTERM stops (and removes the stored objects).\n");
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);
    terra_mock::stop_signal()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C or SIGTERM: {e}"))?;
    eprintln!("stopping...");
    mock.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::PrintConfig => toml::to_string_pretty(&MockConfig::default())
            .map(|s| print!("{s}"))
            .map_err(|e| e.to_string()),
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(serve(args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terra-mock: {e}");
            ExitCode::FAILURE
        }
    }
}
