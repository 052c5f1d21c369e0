//! `terra download`: the outputs of a job (or the files of a resource), filtered by
//! globs, with a progress bar; resumable.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use terra_client::TerraClient;
use terra_client::workflow::{DownloadOptions, WorkflowEvent};

use crate::Outcome;
use crate::args::DownloadArgs;

pub(crate) async fn download(client: &TerraClient, a: &DownloadArgs, json: bool) -> Outcome {
    let visible = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    )
    .with_style(
        ProgressStyle::with_template(
            "download [{bar:32.cyan/blue}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>11} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let opts = DownloadOptions {
        include: a.include.clone(),
        exclude: a.exclude.clone(),
        ..Default::default()
    };
    let opts = match a.downloads {
        Some(n) => DownloadOptions {
            concurrency: n.max(1),
            max_concurrency: n.max(1),
            ..opts
        },
        None => opts,
    };
    let b = bar.clone();
    let summary = client
        .download_outputs(&a.uuid, &a.out, &opts, move |e| match e {
            WorkflowEvent::DownloadStarted {
                files,
                bytes,
                already_downloaded,
            } => {
                b.set_length(bytes);
                b.set_message(format!(
                    "{files} files ({already_downloaded} already there)"
                ));
                b.enable_steady_tick(Duration::from_millis(200));
            }
            WorkflowEvent::DownloadProgress { bytes } if bytes >= 0 => b.inc(bytes as u64),
            WorkflowEvent::DownloadProgress { bytes } => {
                b.set_position(b.position().saturating_sub(bytes.unsigned_abs()));
            }
            _ => {}
        })
        .await?;
    bar.finish_and_clear();
    if json {
        crate::print_json(&summary);
    } else {
        out!(
            "{} of {} selected files downloaded ({} bytes; {} already complete) into {}",
            summary.downloaded,
            summary.selected,
            summary.bytes,
            summary.already_complete,
            a.out.display()
        );
    }
    if summary.selected == 0 {
        return Err(no_match(a, &summary.resource_uuid).into());
    }
    Ok(())
}

/// Why nothing was selected: the patterns, and how a pattern with `/` reaches deeper.
fn no_match(a: &DownloadArgs, resource: &str) -> String {
    let mut filters: Vec<String> = a
        .include
        .iter()
        .map(|p| format!("--include {p:?}"))
        .chain(a.exclude.iter().map(|p| format!("--exclude {p:?}")))
        .collect();
    if filters.is_empty() {
        return format!("{} (resource {resource}) has no files", a.uuid);
    }
    let mut msg = format!(
        "no file of {} (resource {resource}) matches {}",
        a.uuid,
        std::mem::take(&mut filters).join(" ")
    );
    let anchored: Vec<&String> = a
        .include
        .iter()
        .filter(|p| p.trim_end_matches('/').contains('/') && !p.starts_with("**/"))
        .collect();
    if let Some(p) = anchored.first() {
        msg.push_str(&format!(
            ": a pattern with `/` matches the whole path from the top; to match at any depth, \
             start it with `**/` (--include '**/{}')",
            p.trim_start_matches('/')
        ));
    } else {
        msg.push_str(&format!(
            ": `terra files list --resource {resource} --all` shows the names (a pattern \
             without `/` matches a file name in any folder)"
        ));
    }
    msg
}
