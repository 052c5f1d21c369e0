//! The command line's arguments: what `terra --help` shows.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::params;

#[derive(Parser, Debug)]
#[command(
    name = "terra",
    version,
    about = "DJI TerraAPI from the shell: upload a flight, run a reconstruction, download the results",
    long_about = "DJI TerraAPI from the shell: upload a flight, run a reconstruction, download the results.\n\n\
Credentials come from --app-key/--secret or DJI_APP_KEY/DJI_SECRET_KEY. `terra demo` runs the whole flow against a \
built-in emulator, with no account.\n\nExit codes: 0 success, 1 failure, 2 usage, 3 bad input, 4 authentication, 5 job failed or stopped."
)]
pub(crate) struct Cli {
    /// DJI host: us (openapi-us.dji.com, S3 storage) or cn (openapi-cn.dji.com, OSS storage).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TERRA_REGION",
        default_value = "us"
    )]
    pub(crate) region: RegionArg,
    /// Another API host (e.g. a `terra mock serve` at http://127.0.0.1:8080); overrides --region.
    #[arg(long, global = true, env = "TERRA_ENDPOINT")]
    pub(crate) endpoint: Option<String>,
    /// Object-storage endpoint for uploads (default: from the token; with --endpoint, the same host, as terra-mock serves both).
    #[arg(long, global = true, env = "TERRA_STORAGE_ENDPOINT")]
    pub(crate) storage_endpoint: Option<String>,
    /// App key (AK) of the TerraAPI console.
    #[arg(long, global = true, env = "DJI_APP_KEY", hide_env_values = true)]
    pub(crate) app_key: Option<String>,
    /// Secret (SK) of the TerraAPI console.
    #[arg(long, global = true, env = "DJI_SECRET_KEY", hide_env_values = true)]
    pub(crate) secret: Option<String>,
    /// Machine-readable JSON on stdout instead of text (no progress bars).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Longest wait between two looks at a job's status, in seconds (polling starts at 5 s
    /// and grows to this; lower it against the emulator).
    #[arg(long, global = true, default_value_t = 60.0, value_parser = poll_seconds)]
    pub(crate) max_poll_interval: f64,
    /// Log with tracing to stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RegionArg {
    Us,
    Cn,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Upload a folder, run a reconstruction and download the results; resumes after a crash.
    Reconstruct(ReconstructArgs),
    /// Download a finished job's outputs (or a resource's files), all or those matching
    /// --include/--exclude globs; a rerun fetches only what is missing.
    Download(DownloadArgs),
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
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
pub(crate) struct JobArgs {
    /// Job type.
    #[arg(long = "type", value_enum)]
    pub(crate) kind: params::Kind,
    /// A job parameter, repeatable: key=value (e.g. quality_level=1, output_geo_desc.cs_type=GEO_CS,
    /// export_parameter.pc_dir_structure=true). Values are JSON when they parse as JSON.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub(crate) params: Vec<String>,
    /// A JSON file with the parameters ({"parameter": {...}, "predefine_AOI": ..., "export_parameter": ...}
    /// or just the parameter section); --param values apply on top.
    #[arg(long)]
    pub(crate) params_file: Option<PathBuf>,
    /// Send parameter keys this version does not know (DJI may have added some since);
    /// without it they are refused as typos.
    #[arg(long)]
    pub(crate) allow_unknown_params: bool,
}

impl JobArgs {
    /// The typed, validated parameters.
    pub(crate) fn spec(&self) -> Result<terra_client::workflow::JobSpec, String> {
        params::build(
            self.kind,
            self.params_file.as_deref(),
            &self.params,
            self.allow_unknown_params,
        )
    }
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Folder of photos or the LiDAR mission folder.
    pub(crate) dir: PathBuf,
    /// Job type the folder is for.
    #[arg(long = "type", value_enum)]
    pub(crate) kind: params::Kind,
    /// Treat warnings as problems (exit 3).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Where flight.geojson and flight.svg go (default: the current folder).
    #[arg(long, default_value = ".")]
    pub(crate) out: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct ReconstructArgs {
    /// Folder of photos (2D/3D: .jpg .jpeg .dng .heic .heif) or the LiDAR mission folder.
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Where the results (and the resume journal) go.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Name of the resource and job (default: the folder's name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Forget an earlier, unfinished run in --out and start afresh.
    #[arg(long)]
    pub(crate) fresh: bool,
    /// Stop on preflight warnings too (photos without GPS, duplicate files, an AOI with no
    /// photo in it).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Files uploaded at the same time, fixed. Without it the number starts at 8 and grows
    /// (within a 64 MiB memory budget) while it brings more throughput, as on a link with a
    /// long round trip.
    #[arg(long)]
    pub(crate) files_in_flight: Option<usize>,
    /// Upload requests (files and parts) at the same time, fixed (default: twice the files
    /// in flight).
    #[arg(long)]
    pub(crate) requests_in_flight: Option<usize>,
    /// Files downloaded at the same time, fixed. Without it the number starts at 8 (or at
    /// the number of small files, up to 256) and grows up to 256, within a 32 MiB memory
    /// budget, while it brings more throughput, as on a link with a long round trip.
    #[arg(long)]
    pub(crate) downloads: Option<usize>,
    /// Sign OSS requests with V1 (HMAC-SHA1) instead of V4.
    #[arg(long)]
    pub(crate) oss_v1: bool,
}

/// A polling interval: a finite number of seconds from 0.05 to 3600.
pub(crate) fn poll_seconds(s: &str) -> Result<f64, String> {
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
pub(crate) enum ResourcesCmd {
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
pub(crate) struct PageArgs {
    /// Page number (from 1).
    #[arg(long, default_value_t = 1)]
    pub(crate) page: u32,
    /// Page size.
    #[arg(long, default_value_t = 20)]
    pub(crate) rows: u32,
    /// Free-text search.
    #[arg(long)]
    pub(crate) search: Option<String>,
    /// Every page, not just one.
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum FilesCmd {
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
        /// Target file, or a folder to put it in (default: the file's name in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum JobsCmd {
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
pub(crate) struct UploadArgs {
    /// The folder.
    pub(crate) dir: PathBuf,
    /// Which files: photos for 2d/3d, everything for lidar.
    #[arg(long = "type", value_enum, default_value = "3d")]
    pub(crate) kind: params::Kind,
    /// Register into this resource (default: create one named after the folder).
    #[arg(long)]
    pub(crate) resource: Option<String>,
    /// Name of the resource to create.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Where the resume journal goes (default: DIR/.terra-upload-TYPE, which uploads skip); a
    /// rerun after an interruption uploads and registers nothing twice.
    #[arg(long)]
    pub(crate) journal: Option<PathBuf>,
    /// Ignore the journal and start over (upload, a new resource).
    #[arg(long)]
    pub(crate) fresh: bool,
}

#[derive(Args, Debug)]
pub(crate) struct SignArgs {
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    pub(crate) method: String,
    /// Request-target exactly as sent: path (with /terra-rescon-be) and query.
    #[arg(long)]
    pub(crate) target: String,
    /// Body text.
    #[arg(long, conflicts_with = "body_file")]
    pub(crate) body: Option<String>,
    /// Body from a file.
    #[arg(long)]
    pub(crate) body_file: Option<PathBuf>,
    /// Date to sign, e.g. "Wed, 25 Nov 2026 10:00:00 GMT" (default: now).
    #[arg(long)]
    pub(crate) date: Option<String>,
    /// Use X-Date instead of Date.
    #[arg(long)]
    pub(crate) x_date: bool,
}

/// `terra download`.
#[derive(Args, Debug)]
pub(crate) struct DownloadArgs {
    /// A finished job's uuid (its outputs) or a resource's uuid (its files).
    pub(crate) uuid: String,
    /// Where the files go (their folders are kept).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Fetch only files matching this glob, repeatable. As in rclone and .gitignore: a
    /// pattern without `/` matches the file name in any folder (`*.obj`, `*.las`); one
    /// with `/` matches the whole path from the top (`map/*.tif`; `/*.json` for top-level
    /// files); one ending in `/` everything under such a folder (`terra_las/`). `*` stays
    /// within a folder, `**` spans folders, `?` is one character, `[a-z]` a set.
    #[arg(long, value_name = "GLOB")]
    pub(crate) include: Vec<String>,
    /// Leave out files matching this glob (read as --include reads it), repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Files downloaded at the same time, fixed. Without it the number starts at 8 (or at
    /// the number of small files, up to 256) and grows up to 256, within a 32 MiB memory
    /// budget, while it brings more throughput, as on a link with a long round trip.
    #[arg(long)]
    pub(crate) downloads: Option<usize>,
}

/// `terra demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Where the results go.
    #[arg(long, default_value = "terra-demo-output")]
    pub(crate) out: PathBuf,
    /// Photos in the sample flight.
    #[arg(long, default_value_t = 24)]
    pub(crate) images: usize,
    /// Job type to run.
    #[arg(long = "type", value_enum, default_value = "3d")]
    pub(crate) kind: params::Kind,
    /// Storage of the emulated account: s3 or oss.
    #[arg(long, value_parser = ["s3", "oss"], default_value = "s3")]
    pub(crate) provider: String,
    /// Keep the generated input here instead of a temporary folder.
    #[arg(long)]
    pub(crate) input: Option<PathBuf>,
    /// Keep the emulator serving after the demo (until Ctrl-C or SIGTERM), to look at the
    /// job, its flight and its outputs on the dashboard it prints.
    #[arg(long)]
    pub(crate) serve: bool,
}
