//! `terra`: DJI TerraAPI from the shell.

mod demo;
mod download;
mod params;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use futures::TryStreamExt;
use serde::Serialize;
use terra_client::workflow::{JobSpec, Summary};
use terra_client::{ErrorKind, Region, TerraClient};
use terra_store::{BackendOptions, OssSigning, UploadOptions};
use terra_types::*;

/// Exit codes (besides 0): 1 any failure, 2 usage (from clap), 3 bad input, 4
/// authentication, 5 the job failed or was stopped.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl From<terra_client::Error> for Failure {
    fn from(e: terra_client::Error) -> Self {
        let code = match e.kind() {
            ErrorKind::Input | ErrorKind::InvalidParameter | ErrorKind::Config => 3,
            ErrorKind::Authentication => 4,
            ErrorKind::JobFailed | ErrorKind::JobStopped => 5,
            _ => 1,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { code: 3, message }
    }
}

impl From<terra_store::StoreError> for Failure {
    fn from(e: terra_store::StoreError) -> Self {
        Self {
            code: if e.kind() == terra_store::StoreErrorKind::Io {
                3
            } else {
                1
            },
            message: e.to_string(),
        }
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

#[derive(Parser, Debug)]
#[command(
    name = "terra",
    version,
    about = "DJI TerraAPI from the shell: upload a flight, run a reconstruction, download the results",
    long_about = "DJI TerraAPI from the shell: upload a flight, run a reconstruction, download the results.\n\n\
Credentials come from --app-key/--secret or DJI_APP_KEY/DJI_SECRET_KEY. `terra demo` runs the whole flow against a \
built-in emulator, with no account.\n\nExit codes: 0 success, 1 failure, 2 usage, 3 bad input, 4 authentication, 5 job failed or stopped."
)]
struct Cli {
    /// DJI host: us (openapi-us.dji.com, S3 storage) or cn (openapi-cn.dji.com, OSS storage).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TERRA_REGION",
        default_value = "us"
    )]
    region: RegionArg,
    /// Another API host (e.g. a `terra mock serve` at http://127.0.0.1:8080); overrides --region.
    #[arg(long, global = true, env = "TERRA_ENDPOINT")]
    endpoint: Option<String>,
    /// Object-storage endpoint for uploads (default: from the token; with --endpoint, the same host, as terra-mock serves both).
    #[arg(long, global = true, env = "TERRA_STORAGE_ENDPOINT")]
    storage_endpoint: Option<String>,
    /// App key (AK) of the TerraAPI console.
    #[arg(long, global = true, env = "DJI_APP_KEY", hide_env_values = true)]
    app_key: Option<String>,
    /// Secret (SK) of the TerraAPI console.
    #[arg(long, global = true, env = "DJI_SECRET_KEY", hide_env_values = true)]
    secret: Option<String>,
    /// Machine-readable JSON on stdout instead of text (no progress bars).
    #[arg(long, global = true)]
    json: bool,
    /// Longest wait between two looks at a job's status, in seconds (polling starts at 5 s
    /// and grows to this; lower it against the emulator).
    #[arg(long, global = true, default_value_t = 60.0, value_parser = poll_seconds)]
    max_poll_interval: f64,
    /// Log with tracing to stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RegionArg {
    Us,
    Cn,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Upload a folder, run a reconstruction and download the results; resumes after a crash.
    Reconstruct(ReconstructArgs),
    /// Download a finished job's outputs (or a resource's files), all or those matching
    /// --include/--exclude globs; a rerun fetches only what is missing.
    Download(download::DownloadArgs),
    /// Check a folder before uploading it: readable, real photos with GPS, no duplicates,
    /// the photo limits, LiDAR data; writes flight.geojson and flight.svg. Exit 3 on a
    /// problem.
    Check(CheckArgs),
    /// Obtain temporary storage credentials (POST /v2/store/obtain_token).
    Token {
        /// Show the secret and session token in text output (JSON always has them).
        #[arg(long)]
        show_secrets: bool,
    },
    /// Resources: named sets of files.
    #[command(subcommand)]
    Resources(ResourcesCmd),
    /// Files of resources.
    #[command(subcommand)]
    Files(FilesCmd),
    /// Reconstruction jobs.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Upload a folder to storage and register its files into a resource.
    Upload(UploadArgs),
    /// Print the signed headers and signing string of a request (to debug "HMAC signature does not match").
    Sign(SignArgs),
    /// The TerraAPI emulator: `terra mock serve`, `terra mock print-config` (the same
    /// command line as `terra-mock`; see `terra mock --help`).
    #[command(disable_help_flag = true)]
    Mock {
        /// The emulator's command and flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Run the whole flow on a generated sample flight against a built-in emulator (no account needed).
    Demo(demo::DemoArgs),
}

#[derive(Args, Debug)]
struct JobArgs {
    /// Job type.
    #[arg(long = "type", value_enum)]
    kind: params::Kind,
    /// A job parameter, repeatable: key=value (e.g. quality_level=1, output_geo_desc.cs_type=GEO_CS,
    /// export_parameter.pc_dir_structure=true). Values are JSON when they parse as JSON.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// A JSON file with the parameters ({"parameter": {...}, "predefine_AOI": ..., "export_parameter": ...}
    /// or just the parameter section); --param values apply on top.
    #[arg(long)]
    params_file: Option<PathBuf>,
    /// Send parameter keys this version does not know (DJI may have added some since);
    /// without it they are refused as typos.
    #[arg(long)]
    allow_unknown_params: bool,
}

impl JobArgs {
    /// The typed, validated parameters.
    fn spec(&self) -> Result<terra_client::workflow::JobSpec, String> {
        params::build(
            self.kind,
            self.params_file.as_deref(),
            &self.params,
            self.allow_unknown_params,
        )
    }
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Folder of photos or the LiDAR mission folder.
    dir: PathBuf,
    /// Job type the folder is for.
    #[arg(long = "type", value_enum)]
    kind: params::Kind,
    /// Treat warnings as problems (exit 3).
    #[arg(long)]
    strict: bool,
    /// Where flight.geojson and flight.svg go (default: the current folder).
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct ReconstructArgs {
    /// Folder of photos (2D/3D: .jpg .jpeg .dng .heic .heif) or the LiDAR mission folder.
    dir: PathBuf,
    #[command(flatten)]
    job: JobArgs,
    /// Where the results (and the resume journal) go.
    #[arg(long)]
    out: PathBuf,
    /// Name of the resource and job (default: the folder's name).
    #[arg(long)]
    name: Option<String>,
    /// Forget an earlier, unfinished run in --out and start afresh.
    #[arg(long)]
    fresh: bool,
    /// Stop on preflight warnings too (photos without GPS, duplicate files, an AOI with no
    /// photo in it).
    #[arg(long)]
    strict: bool,
    /// Files uploaded at the same time.
    #[arg(long, default_value_t = 8)]
    files_in_flight: usize,
    /// Upload requests (files and parts) at the same time.
    #[arg(long, default_value_t = 16)]
    requests_in_flight: usize,
    /// Files downloaded at the same time at first; the number grows (up to 256) while it
    /// brings more throughput, as on a link with a long round trip.
    #[arg(long, default_value_t = 8)]
    downloads: usize,
    /// Sign OSS requests with V1 (HMAC-SHA1) instead of V4.
    #[arg(long)]
    oss_v1: bool,
}

/// A polling interval: a finite number of seconds from 0.05 to 3600.
fn poll_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && (0.05..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be from 0.05 to 3600 seconds, got {s}"))
    }
}

#[derive(Subcommand, Debug)]
enum ResourcesCmd {
    /// List resources.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only this type.
        #[arg(long = "type", value_parser = ["map", "job_output"])]
        kind: Option<String>,
    },
    /// Show a resource with its file and job uuids.
    Show { uuid: String },
    /// Create an empty resource (type map).
    Create {
        name: String,
        #[arg(long)]
        meta: Option<String>,
    },
    /// Delete a resource.
    Delete {
        uuid: String,
        /// Also delete its files that no other resource holds (deleteMode=1).
        #[arg(long)]
        with_files: bool,
    },
}

#[derive(Args, Debug)]
struct PageArgs {
    /// Page number (from 1).
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Page size.
    #[arg(long, default_value_t = 20)]
    rows: u32,
    /// Free-text search.
    #[arg(long)]
    search: Option<String>,
    /// Every page, not just one.
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand, Debug)]
enum FilesCmd {
    /// List files.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only files of this resource.
        #[arg(long)]
        resource: Option<String>,
        /// Only this exact name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show a file with a fresh download link.
    Show { uuid: String },
    /// Download a file.
    Download {
        uuid: String,
        /// Target path (default: the file's name in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum JobsCmd {
    /// List jobs.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a job.
    Show { uuid: String },
    /// Create a job (status 0).
    Create {
        name: String,
        #[arg(long)]
        meta: Option<String>,
    },
    /// Start a job on a resource.
    Start {
        uuid: String,
        /// The input resource.
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Stop a job (only before status 4).
    Stop { uuid: String },
    /// Delete a job (not while it runs).
    Delete { uuid: String },
    /// Wait for a job to end, showing its progress.
    Wait { uuid: String },
}

#[derive(Args, Debug)]
struct UploadArgs {
    /// The folder.
    dir: PathBuf,
    /// Which files: photos for 2d/3d, everything for lidar.
    #[arg(long = "type", value_enum, default_value = "3d")]
    kind: params::Kind,
    /// Register into this resource (default: create one named after the folder).
    #[arg(long)]
    resource: Option<String>,
    /// Name of the resource to create.
    #[arg(long)]
    name: Option<String>,
    /// Where the resume journal goes (default: DIR/.terra-upload-TYPE, which uploads skip); a
    /// rerun after an interruption uploads and registers nothing twice.
    #[arg(long)]
    journal: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SignArgs {
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request-target exactly as sent: path (with /terra-rescon-be) and query.
    #[arg(long)]
    target: String,
    /// Body text.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Body from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Date to sign, e.g. "Wed, 25 Nov 2026 10:00:00 GMT" (default: now).
    #[arg(long)]
    date: Option<String>,
    /// Use X-Date instead of Date.
    #[arg(long)]
    x_date: bool,
}

pub(crate) fn print_json<T: Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON"));
}

fn client(cli: &Cli) -> Outcome<TerraClient> {
    // The flags (which clap also fills from TERRA_ENDPOINT and TERRA_REGION) win over
    // what from_env would read, as explicit builder calls do.
    let mut b = TerraClient::from_env();
    b = match &cli.endpoint {
        Some(e) => b.endpoint(e.clone()),
        None => b.region(match cli.region {
            RegionArg::Us => Region::Us,
            RegionArg::Cn => Region::Cn,
        }),
    };
    b = match (&cli.app_key, &cli.secret) {
        (Some(ak), Some(sk)) => b.credentials(ak.clone(), sk.clone()),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Failure {
                code: 3,
                message: "give both --app-key and --secret (or DJI_APP_KEY and DJI_SECRET_KEY)"
                    .into(),
            });
        }
        (None, None) => b.credentials_from_env(),
    };
    Ok(b.build()?)
}

fn storage(cli: &Cli, oss_v1: bool) -> BackendOptions {
    BackendOptions {
        endpoint: cli
            .storage_endpoint
            .clone()
            .or_else(|| cli.endpoint.clone()),
        oss_signing: if oss_v1 {
            OssSigning::V1
        } else {
            OssSigning::V4
        },
        ..Default::default()
    }
}

fn print_summary(s: &Summary, json: bool) {
    if json {
        print_json(&serde_json::json!({
            "resource": s.resource_uuid, "job": s.job_uuid, "outputResource": s.output_resource_uuid,
            "status": s.job.status.code(), "uploadedFiles": s.uploaded_files, "uploadedBytes": s.uploaded_bytes,
            "resumedUploads": s.resumed_uploads, "downloadedFiles": s.downloaded_files, "downloadedBytes": s.downloaded_bytes,
            "outputFiles": s.output_files, "outputDir": s.output_dir, "seconds": s.elapsed.as_secs_f64(),
        }));
        return;
    }
    println!("done in {:.1} s", s.elapsed.as_secs_f64());
    println!(
        "  uploaded   {} files, {:.1} MiB ({} already uploaded before)",
        s.uploaded_files,
        s.uploaded_bytes as f64 / 1048576.0,
        s.resumed_uploads
    );
    println!("  resource   {}", s.resource_uuid);
    println!("  job        {} ({})", s.job_uuid, s.job.status);
    println!(
        "  results    {} files in {} ({} downloaded now, {:.1} MiB)",
        s.output_files,
        s.output_dir.display(),
        s.downloaded_files,
        s.downloaded_bytes as f64 / 1048576.0
    );
}

/// Runs the workflow with progress bars; shared by `reconstruct` and `demo`.
pub(crate) async fn reconstruct(
    client: &TerraClient,
    dir: PathBuf,
    out: PathBuf,
    spec: JobSpec,
    opts: ReconstructOptions,
    json: bool,
) -> Outcome<Summary> {
    let bars = Arc::new(progress::Bars::new(
        !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    ));
    let b = bars.clone();
    let mut run = client
        .reconstruct()
        .input(dir)
        .output(out)
        .job(spec)
        .fresh(opts.fresh)
        .strict(opts.strict)
        .download_concurrency(opts.downloads)
        .upload_options(UploadOptions {
            files_in_flight: opts.files_in_flight,
            requests_in_flight: opts.requests_in_flight,
            backend: opts.backend,
            ..Default::default()
        })
        .on_event(move |e| b.event(e));
    if let Some(n) = opts.name {
        run = run.name(n);
    }
    if let Some(p) = opts.polling {
        run = run.polling(p);
    }
    let result = run.run().await;
    bars.finish();
    let summary = result?;
    print_summary(&summary, json);
    Ok(summary)
}

/// `terra check`: the preflight of the workflow, on its own.
fn check(a: &CheckArgs, json: bool) -> Outcome {
    use terra_client::workflow::{Severity, preflight, write_flight_map};
    let check = preflight(&a.dir, a.kind.job_type(), &a.out, None)?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
    write_flight_map(&check, &a.out)?;
    let problems = check.errors(a.strict).len();
    if json {
        print_json(&check);
    } else {
        for f in &check.findings {
            let tag = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            eprintln!("{tag}: {}", f.message);
        }
        let photos = check.files.iter().filter(|f| f.position.is_some()).count();
        println!(
            "{}: {} files, {} bytes, {photos} with a GPS position; {} errors, {} warnings",
            a.dir.display(),
            check.files.len(),
            check.files.iter().map(|f| f.size).sum::<u64>(),
            check.errors(false).len(),
            check.warnings().len()
        );
        if let Some(e) = check.extent {
            println!(
                "extent: {:.6}..{:.6} N, {:.6}..{:.6} E; map in {}",
                e.min_lat,
                e.max_lat,
                e.min_lon,
                e.max_lon,
                a.out.join("flight.svg").display()
            );
        }
    }
    if problems > 0 {
        return Err(Failure {
            code: 3,
            message: format!(
                "{problems} problem{} in {}: fix them before uploading",
                if problems == 1 { "" } else { "s" },
                a.dir.display()
            ),
        });
    }
    Ok(())
}

pub(crate) struct ReconstructOptions {
    pub name: Option<String>,
    pub fresh: bool,
    pub strict: bool,
    pub files_in_flight: usize,
    pub requests_in_flight: usize,
    pub downloads: usize,
    pub backend: BackendOptions,
    pub polling: Option<terra_client::PollingPolicy>,
}

/// Polling from 5 s (or `max`, when lower) up to `max` seconds.
fn polling(max: f64) -> terra_client::PollingPolicy {
    let max = Duration::from_secs_f64(max);
    let defaults = terra_client::PollingPolicy::default();
    terra_client::PollingPolicy {
        initial: defaults.initial.min(max),
        max,
        ..defaults
    }
}

fn page_query(p: &PageArgs) -> (Option<u32>, Option<u32>, Option<String>) {
    (Some(p.page), Some(p.rows), p.search.clone())
}

async fn list<T: Serialize>(
    json: bool,
    all: bool,
    page: impl std::future::Future<Output = terra_client::Result<Page<T>>>,
    stream: impl futures::Stream<Item = terra_client::Result<T>>,
    line: impl Fn(&T) -> String,
) -> Outcome {
    let (items, total) = if all {
        let items: Vec<T> = stream.try_collect().await?;
        let n = items.len() as u64;
        (items, n)
    } else {
        let p = page.await?;
        (p.list, p.total)
    };
    if json {
        print_json(&serde_json::json!({ "list": items, "total": total }));
    } else {
        for i in &items {
            println!("{}", line(i));
        }
        println!("({} of {total})", items.len());
    }
    Ok(())
}

async fn run(cli: Cli) -> Outcome {
    match &cli.cmd {
        Cmd::Reconstruct(a) => {
            let spec = a.job.spec()?;
            let c = client(&cli)?;
            let opts = ReconstructOptions {
                name: a.name.clone(),
                fresh: a.fresh,
                strict: a.strict,
                files_in_flight: a.files_in_flight,
                requests_in_flight: a.requests_in_flight,
                downloads: a.downloads,
                backend: storage(&cli, a.oss_v1),
                polling: Some(polling(cli.max_poll_interval)),
            };
            reconstruct(&c, a.dir.clone(), a.out.clone(), spec, opts, cli.json)
                .await
                .map(drop)
        }
        Cmd::Check(a) => check(a, cli.json),
        Cmd::Download(a) => download::download(&client(&cli)?, a, cli.json).await,
        Cmd::Token { show_secrets } => {
            let t = client(&cli)?.obtain_token().await?;
            if cli.json {
                print_json(&t);
            } else {
                let hide = |s: &str| {
                    if *show_secrets {
                        s.to_owned()
                    } else {
                        "*** (--show-secrets)".into()
                    }
                };
                println!(
                    "cloudName        {}\nbucket           {}\nregion           {}\nstorePath        {}\naccessKeyID      {}",
                    t.cloud_name, t.cloud_bucket_name, t.region, t.store_path, t.access_key_id
                );
                println!(
                    "secretAccessKey  {}\nsessionToken     {}",
                    hide(t.secret_access_key.expose()),
                    hide(t.session_token.expose())
                );
                println!(
                    "callbackParam    {}\nexpires          {}",
                    t.callback_param,
                    terra_types::time::format_rfc3339(
                        std::time::UNIX_EPOCH + Duration::from_secs(t.expire_time.max(0) as u64)
                    )
                );
            }
            Ok(())
        }
        Cmd::Resources(r) => {
            let c = client(&cli)?;
            match r {
                ResourcesCmd::List { page, kind } => {
                    let (p, rows, search) = page_query(page);
                    let q = ListResourcesQuery {
                        page: p,
                        rows,
                        search,
                        resource_type: kind.as_deref().map(ResourceType::parse),
                        ..Default::default()
                    };
                    list(
                        cli.json,
                        page.all,
                        c.list_resources(&q),
                        c.resources(q.clone()),
                        |r: &Resource| {
                            format!(
                                "{}  {:<10}  {:>6} files  {}",
                                r.uuid, r.resource_type, r.file_count, r.name
                            )
                        },
                    )
                    .await
                }
                ResourcesCmd::Show { uuid } => {
                    let d = c.get_resource(uuid).await?;
                    if cli.json {
                        print_json(&d);
                    } else {
                        let s = &d.summary;
                        println!(
                            "{}  {}  ({}, {} files, {} bytes, revisable: {})",
                            s.uuid,
                            s.name,
                            s.resource_type,
                            s.file_count,
                            s.total_size,
                            s.revisable
                        );
                        for f in &d.file_uuids {
                            println!("  file {f}");
                        }
                        for j in d.input_job_uuids.iter().chain(&d.output_job_uuids) {
                            println!("  job  {j}");
                        }
                    }
                    Ok(())
                }
                ResourcesCmd::Create { name, meta } => {
                    let r = c
                        .create_resource(&CreateResourceRequest {
                            meta: meta.clone(),
                            ..CreateResourceRequest::map(name)
                        })
                        .await?;
                    if cli.json {
                        print_json(&r)
                    } else {
                        println!("{}", r.uuid)
                    }
                    Ok(())
                }
                ResourcesCmd::Delete { uuid, with_files } => {
                    c.delete_resource(
                        uuid,
                        if *with_files {
                            DeleteMode::WithFiles
                        } else {
                            DeleteMode::ResourceOnly
                        },
                    )
                    .await?;
                    if !cli.json {
                        println!("deleted {uuid}");
                    }
                    Ok(())
                }
            }
        }
        Cmd::Files(f) => {
            let c = client(&cli)?;
            match f {
                FilesCmd::List {
                    page,
                    resource,
                    name,
                } => {
                    let (p, rows, search) = page_query(page);
                    let q = ListFilesQuery {
                        page: p,
                        rows,
                        search,
                        resource_uuid: resource.clone(),
                        name: name.clone(),
                        order_asc: Some(true),
                        ..Default::default()
                    };
                    list(
                        cli.json,
                        page.all,
                        c.list_files(&q),
                        c.files(q.clone()),
                        |f: &File| format!("{}  {:>12}  {}", f.uuid, f.size, f.name),
                    )
                    .await
                }
                FilesCmd::Show { uuid } => {
                    let file = c.get_file(uuid).await?;
                    if cli.json {
                        print_json(&file)
                    } else {
                        println!(
                            "{}  {} bytes  {}\n{}",
                            file.uuid,
                            file.size,
                            file.name,
                            file.url.unwrap_or_default()
                        )
                    }
                    Ok(())
                }
                FilesCmd::Download { uuid, out } => {
                    let file = c.get_file(uuid).await?;
                    let path = out.clone().unwrap_or_else(|| {
                        PathBuf::from(file.name.rsplit('/').next().unwrap_or("download"))
                    });
                    let bytes = c.download_file(uuid, &path).await?;
                    if !cli.json {
                        println!("{bytes} bytes -> {}", path.display());
                    }
                    Ok(())
                }
            }
        }
        Cmd::Jobs(j) => {
            let c = client(&cli)?;
            let show = |job: &Job| {
                if cli.json {
                    print_json(job);
                } else {
                    let pct = job
                        .percentage
                        .map(|p| format!(" {:.0} %", p * 100.0))
                        .unwrap_or_default();
                    println!(
                        "{}  {}  {}{pct}  {}",
                        job.uuid,
                        job.job_type.label(),
                        job.status,
                        job.name
                    );
                    if let Some(m) = &job.message {
                        println!("  message: {m}");
                    }
                    if let Some(o) = &job.output_resource_uuid {
                        println!("  output:  {o}");
                    }
                }
            };
            match j {
                JobsCmd::List { page } => {
                    let (p, rows, search) = page_query(page);
                    let q = ListJobsQuery {
                        page: p,
                        rows,
                        search,
                        ..Default::default()
                    };
                    list(
                        cli.json,
                        page.all,
                        c.list_jobs(&q),
                        c.jobs(q.clone()),
                        |j: &Job| {
                            format!(
                                "{}  {:<12}  {:<22}  {}",
                                j.uuid,
                                j.job_type.label(),
                                j.status.to_string(),
                                j.name
                            )
                        },
                    )
                    .await
                }
                JobsCmd::Show { uuid } => {
                    show(&c.get_job(uuid).await?);
                    Ok(())
                }
                JobsCmd::Create { name, meta } => {
                    show(
                        &c.create_job(&CreateJobRequest {
                            name: name.clone(),
                            meta: meta.clone(),
                        })
                        .await?,
                    );
                    Ok(())
                }
                JobsCmd::Start {
                    uuid,
                    resource,
                    job,
                } => {
                    let spec = job.spec()?;
                    let req = spec.start_request(resource).map_err(|e| Failure {
                        code: 3,
                        message: e.to_string(),
                    })?;
                    show(&c.start_job(uuid, &req).await?);
                    Ok(())
                }
                JobsCmd::Stop { uuid } => {
                    show(&c.stop_job(uuid).await?);
                    Ok(())
                }
                JobsCmd::Delete { uuid } => {
                    c.delete_job(uuid).await?;
                    if !cli.json {
                        println!("deleted {uuid}");
                    }
                    Ok(())
                }
                JobsCmd::Wait { uuid } => {
                    let mut poller = c.poll_job_with(uuid, polling(cli.max_poll_interval));
                    let mut last = None;
                    while let Some(job) = futures::StreamExt::next(&mut poller).await {
                        let job = job?;
                        if !cli.json {
                            eprintln!(
                                "{}  {:.0} %  {}",
                                job.status,
                                100.0 * job.percentage.unwrap_or(0.0),
                                job.remain_seconds
                                    .map(|s| format!("{s} s left"))
                                    .unwrap_or_default()
                            );
                        }
                        last = Some(job);
                    }
                    let job = last.ok_or_else(|| Failure {
                        code: 1,
                        message: "no job status".into(),
                    })?;
                    show(&job);
                    match job.status {
                        JobStatus::Succeeded => Ok(()),
                        other => Err(Failure {
                            code: 5,
                            message: format!(
                                "job {uuid} ended {other}: {}",
                                job.message.unwrap_or_default()
                            ),
                        }),
                    }
                }
            }
        }
        Cmd::Upload(a) => {
            let c = client(&cli)?;
            demo::upload(
                &c,
                &a.dir,
                a.kind,
                a.resource.clone(),
                a.name.clone(),
                a.journal.clone(),
                storage(&cli, false),
                cli.json,
            )
            .await
        }
        Cmd::Sign(a) => {
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
                    message: format!(
                        "{d:?} is not an HTTP date (e.g. \"Wed, 25 Nov 2026 10:00:00 GMT\")"
                    ),
                })?,
                None => std::time::SystemTime::now(),
            };
            let (Some(ak), Some(sk)) = (&cli.app_key, &cli.secret) else {
                return Err(Failure {
                    code: 3,
                    message: "give --app-key and --secret (or DJI_APP_KEY and DJI_SECRET_KEY)"
                        .into(),
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
                    println!("{n}: {v}");
                }
                println!(
                    "\nsigning string ({} bytes):\n{}",
                    s.signing_string.len(),
                    s.signing_string
                );
            }
            Ok(())
        }
        Cmd::Mock { .. } => unreachable!("`terra mock` is dispatched before the runtime starts"),
        Cmd::Demo(a) => demo::run(a, cli.json).await,
    }
}

fn main() -> ExitCode {
    // `terra mock ...` is the emulator's own command line, flags and help included.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "mock") {
        return terra_mock::cli::main_from("terra mock", argv.into_iter().skip(2));
    }
    let cli = Cli::parse();
    if let Cmd::Mock { args } = &cli.cmd {
        return terra_mock::cli::main_from("terra mock", args.clone());
    }
    if cli.verbose > 0 {
        let level = match cli.verbose {
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| {
            format!(
                "warn,terra_client={level},terra_store={level},terra_mock={level},terra={level}"
            )
        });
        if let Err(e) = terra_mock::cli::init_logging(&filter) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
