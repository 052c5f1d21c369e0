//! `terra reconstruct`, `terra check` and `terra upload`: the workflow with progress bars.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use terra_client::TerraClient;
use terra_client::workflow::{JobSpec, Summary};
use terra_store::{BackendOptions, UploadOptions};

use crate::args::{CheckArgs, Cli, ReconstructArgs, UploadArgs};
use crate::{Failure, Outcome, client, print_json, progress, storage};

/// `terra reconstruct`.
pub(crate) async fn run(cli: &Cli, a: &ReconstructArgs) -> Outcome {
    let spec = a.job.spec()?;
    let c = client(cli)?;
    let opts = ReconstructOptions {
        name: a.name.clone(),
        fresh: a.fresh,
        strict: a.strict,
        files_in_flight: a.files_in_flight,
        requests_in_flight: a.requests_in_flight,
        downloads: a.downloads,
        backend: storage(cli, a.oss_v1),
        polling: Some(polling(cli.max_poll_interval)),
    };
    reconstruct(&c, a.dir.clone(), a.out.clone(), spec, opts, cli.json)
        .await
        .map(drop)
}

/// `terra upload`: the workflow's preflight, upload and registration, resumable through a
/// journal (a rerun after a crash uploads and registers nothing twice).
pub(crate) async fn upload(cli: &Cli, a: &UploadArgs) -> Outcome {
    let client = client(cli)?;
    // One journal per job type: the type decides which files are uploaded.
    let journal = a
        .journal
        .clone()
        .unwrap_or_else(|| a.dir.join(format!(".terra-upload-{}", a.kind.name())));
    let spec = JobSpec::from_json(a.kind.job_type(), serde_json::json!({"parameter": {}}))?;
    let bars = Arc::new(progress::Bars::new(
        !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    ));
    let b = bars.clone();
    let mut flow = client
        .reconstruct()
        .input(&a.dir)
        .output(&journal)
        .job(spec)
        .fresh(a.fresh)
        .storage(storage(cli, false))
        .on_event(move |e| b.event(e));
    if let Some(n) = &a.name {
        flow = flow.name(n.clone());
    }
    if let Some(r) = &a.resource {
        flow = flow.into_resource(r.clone());
    }
    let r = flow.upload_and_register().await;
    bars.finish();
    let r = r?;
    if cli.json {
        print_json(&serde_json::json!({
            "resource": r.resource_uuid,
            "files": r.registered_files,
            "uploaded": r.uploaded_files,
            "bytes": r.uploaded_bytes,
            "resumed": r.resumed_uploads,
            "verified": r.verified,
        }));
    } else {
        if let Some(v) = &r.verified {
            out!("{v}");
        }
        out!(
            "{} files registered into resource {} ({} uploaded now, {:.1} MiB; {} by an earlier run)",
            r.registered_files,
            r.resource_uuid,
            r.uploaded_files,
            r.uploaded_bytes as f64 / 1048576.0,
            r.resumed_uploads
        );
    }
    Ok(())
}

fn print_summary(s: &Summary, json: bool) {
    if json {
        print_json(&serde_json::json!({
            "resource": s.resource_uuid, "job": s.job_uuid, "outputResource": s.output_resource_uuid,
            "status": s.job.status.code(), "uploadedFiles": s.uploaded_files, "uploadedBytes": s.uploaded_bytes,
            "resumedUploads": s.resumed_uploads, "verified": s.verified, "downloadedFiles": s.downloaded_files, "downloadedBytes": s.downloaded_bytes,
            "outputFiles": s.output_files, "outputDir": s.output_dir, "seconds": s.elapsed.as_secs_f64(),
        }));
        return;
    }
    out!("done in {:.1} s", s.elapsed.as_secs_f64());
    if let Some(v) = &s.verified {
        out!("  resumed    {v}");
    }
    out!(
        "  uploaded   {} files, {:.1} MiB ({} already uploaded before)",
        s.uploaded_files,
        s.uploaded_bytes as f64 / 1048576.0,
        s.resumed_uploads
    );
    out!("  resource   {}", s.resource_uuid);
    out!("  job        {} ({})", s.job_uuid, s.job.status);
    out!(
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
        .upload_options(opts.upload_options())
        .on_event(move |e| b.event(e));
    if let Some(n) = opts.name {
        run = run.name(n);
    }
    if let Some(n) = opts.downloads {
        run = run.download_concurrency(n);
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
pub(crate) fn check(a: &CheckArgs, json: bool) -> Outcome {
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
        out!(
            "{}: {} files, {} bytes, {photos} with a GPS position; {} errors, {} warnings",
            a.dir.display(),
            check.files.len(),
            check.files.iter().map(|f| f.size).sum::<u64>(),
            check.errors(false).len(),
            check.warnings().len()
        );
        if let Some(e) = check.extent {
            out!(
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
    /// Fixed numbers in flight, or `None` for the adaptive defaults.
    pub files_in_flight: Option<usize>,
    pub requests_in_flight: Option<usize>,
    /// A fixed number of downloads in flight, or `None` for the adaptive default.
    pub downloads: Option<usize>,
    pub backend: BackendOptions,
    pub polling: Option<terra_client::PollingPolicy>,
}

impl ReconstructOptions {
    /// The uploader's settings: numbers given on the command line are kept fixed.
    fn upload_options(&self) -> UploadOptions {
        let d = UploadOptions::default();
        let fixed = self.files_in_flight.is_some() || self.requests_in_flight.is_some();
        let files = self.files_in_flight.unwrap_or(d.files_in_flight);
        UploadOptions {
            files_in_flight: files,
            requests_in_flight: self.requests_in_flight.unwrap_or(2 * files),
            memory_budget: if fixed { 0 } else { d.memory_budget },
            backend: self.backend.clone(),
            ..d
        }
    }
}

/// Polling from 5 s (or `max`, when lower) up to `max` seconds.
pub(crate) fn polling(max: f64) -> terra_client::PollingPolicy {
    let max = Duration::from_secs_f64(max);
    let defaults = terra_client::PollingPolicy::default();
    terra_client::PollingPolicy {
        initial: defaults.initial.min(max),
        max,
        ..defaults
    }
}
