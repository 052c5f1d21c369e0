//! Progress bars for the workflow, drawn on stderr (hidden when stderr is not a terminal
//! or with `--json`).

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use terra_client::workflow::WorkflowEvent;
use terra_store::UploadEvent;

pub(crate) struct Bars {
    _multi: MultiProgress,
    upload: ProgressBar,
    files: Mutex<(u64, u64)>,
    job: ProgressBar,
    download: ProgressBar,
}

fn bytes_style(prefix: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{prefix:>9} [{{bar:32.cyan/blue}}] {{bytes:>10}}/{{total_bytes:<10}} {{bytes_per_sec:>11}} {{msg}}"))
        .expect("valid template")
        .progress_chars("=> ")
}

impl Bars {
    pub(crate) fn new(visible: bool) -> Self {
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let upload = multi.add(ProgressBar::new(0).with_style(bytes_style("upload")));
        let job = multi.add(
            ProgressBar::new(1000).with_style(
                ProgressStyle::with_template("      job [{bar:32.green/blue}] {percent:>3}% {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            ),
        );
        let download = multi.add(ProgressBar::new(0).with_style(bytes_style("download")));
        upload.enable_steady_tick(Duration::from_millis(200));
        Self {
            _multi: multi,
            upload,
            files: Mutex::new((0, 0)),
            job,
            download,
        }
    }

    pub(crate) fn event(&self, e: WorkflowEvent) {
        match e {
            WorkflowEvent::Warning { message } => {
                self.upload.suspend(|| eprintln!("warning: {message}"));
            }
            WorkflowEvent::Scanned {
                files,
                bytes,
                already_uploaded,
            } => {
                self.upload.set_length(bytes);
                *self.files.lock().expect("files lock") = (already_uploaded as u64, files as u64);
                self.upload
                    .set_message(format!("{already_uploaded}/{files} files"));
            }
            WorkflowEvent::Upload(UploadEvent::Progress { bytes, .. }) => self.upload.inc(bytes),
            WorkflowEvent::Upload(UploadEvent::Retrying {
                rewound,
                name,
                error,
                ..
            }) => {
                self.upload
                    .set_position(self.upload.position().saturating_sub(rewound));
                tracing::info!(%name, %error, "retrying an upload");
            }
            WorkflowEvent::Upload(UploadEvent::StrayAborted { key, upload_id }) => {
                tracing::info!(%key, %upload_id, "aborted an upload whose create answer was lost");
            }
            WorkflowEvent::Upload(UploadEvent::Done(_)) => {
                let mut f = self.files.lock().expect("files lock");
                f.0 += 1;
                self.upload.set_message(format!("{}/{} files", f.0, f.1));
            }
            WorkflowEvent::Registered { done, total } => {
                let (_, all) = *self.files.lock().expect("files lock");
                if all > 0 {
                    self.upload.set_position(self.upload.length().unwrap_or(0));
                }
                self.upload
                    .set_message(format!("{all}/{all} files, {done}/{total} registered"));
            }
            WorkflowEvent::Job { uuid } => {
                self.upload.finish();
                self.job.set_message(format!("job {uuid}"));
                self.job.enable_steady_tick(Duration::from_millis(200));
            }
            WorkflowEvent::JobProgress {
                status,
                percentage,
                remain_seconds,
            } => {
                self.job
                    .set_position((percentage.clamp(0.0, 1.0) * 1000.0) as u64);
                let eta = remain_seconds
                    .filter(|s| *s > 0)
                    .map(|s| format!(", about {s} s left"))
                    .unwrap_or_default();
                self.job.set_message(format!("{status}{eta}"));
            }
            WorkflowEvent::DownloadStarted {
                files,
                bytes,
                already_downloaded,
            } => {
                self.job.finish();
                self.download.set_length(bytes);
                self.download.set_message(format!(
                    "{files} files ({already_downloaded} already there)"
                ));
                self.download.enable_steady_tick(Duration::from_millis(200));
            }
            WorkflowEvent::DownloadProgress { bytes } => {
                if bytes >= 0 {
                    self.download.inc(bytes as u64);
                } else {
                    self.download.set_position(
                        self.download
                            .position()
                            .saturating_sub(bytes.unsigned_abs()),
                    );
                }
            }
            _ => {}
        }
    }

    pub(crate) fn finish(&self) {
        for b in [&self.upload, &self.job, &self.download] {
            b.finish();
        }
    }
}
