//! `terra demo`: the whole flow on a sample flight against a built-in emulator.

use std::path::Path;
use std::time::{Duration, Instant};

use terra_client::TerraClient;
use terra_mock::sample::{FlightPlan, write_flight, write_lidar_mission};
use terra_mock::{JobTiming, Provider, TerraMock};
use terra_store::BackendOptions;

use crate::args::DemoArgs;
use crate::params::Kind;
use crate::workflow::ReconstructOptions;
use crate::{Failure, Outcome};

fn provider(p: &str) -> Provider {
    if p == "oss" {
        Provider::Oss
    } else {
        Provider::S3
    }
}

fn io(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        message: format!("{what}: {e}"),
    }
}

pub(crate) async fn run(a: &DemoArgs, json: bool) -> Outcome {
    let started = Instant::now();
    let timing = JobTiming {
        waiting: 0.5,
        preparing: 0.5,
        executing: 2.0,
        executing_per_input: 0.05,
        result_processing: 1.0,
    };
    let mock = TerraMock::builder()
        .provider(provider(&a.provider))
        .timing(timing)
        .start()
        .await
        .map_err(|e| io("cannot start the emulator", e))?;
    let temp = tempfile::tempdir().map_err(|e| io("cannot create a temporary folder", e))?;
    let input = a
        .input
        .clone()
        .unwrap_or_else(|| temp.path().join("flight"));
    let files = match a.kind {
        Kind::Lidar => write_lidar_mission(&input),
        _ => write_flight(
            &input,
            &FlightPlan {
                images: a.images,
                ..FlightPlan::default()
            },
        ),
    }
    .map_err(|e| io("cannot write the sample flight", e))?;
    if !json {
        out!(
            "terra demo: an emulated TerraAPI at {} and a sample flight of {} files in {}",
            mock.base_url(),
            files.len(),
            input.display()
        );
    }
    let client = TerraClient::builder()
        .endpoint(mock.base_url())
        .credentials(mock.app_key(), mock.secret())
        .build()
        .map_err(Failure::from)?;
    let spec = crate::params::build(a.kind, None, &[], false)?;
    let opts = ReconstructOptions {
        name: Some("terra demo".into()),
        fresh: true,
        strict: false,
        files_in_flight: None,
        requests_in_flight: None,
        downloads: None,
        backend: BackendOptions {
            endpoint: Some(mock.base_url()),
            ..Default::default()
        },
        polling: Some(terra_client::PollingPolicy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(1),
            ..Default::default()
        }),
    };
    let summary =
        crate::workflow::reconstruct(&client, input, a.out.clone(), spec, opts, json).await?;
    if !json {
        out!("\noutput files:");
        for f in list_files(&summary.output_dir) {
            out!("  {f}");
        }
        out!(
            "\nthe whole demo took {:.1} s; see README.md to run the same against your TerraAPI account",
            started.elapsed().as_secs_f64()
        );
    }
    if a.serve {
        // A line of its own, printed in either output mode, for scripts to read.
        out!(
            "dashboard: {}/_terra-mock/ (the emulator keeps serving; Ctrl-C stops it)",
            mock.base_url()
        );
        terra_mock::stop_signal()
            .await
            .map_err(|e| io("cannot wait for Ctrl-C", e))?;
    }
    mock.shutdown().await;
    Ok(())
}

fn list_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(format!(
                    "{} ({} bytes)",
                    rel.display(),
                    e.metadata().map(|m| m.len()).unwrap_or(0)
                ));
            }
        }
    }
    out.sort();
    out
}
