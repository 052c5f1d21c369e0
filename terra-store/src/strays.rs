//! Multipart uploads nobody will finish: one whose create answer was lost (the storage
//! began it, the client saw a 5xx, a timeout or a reset and began another) stays open and
//! billed. The engine notes each such create and, at the end of a run, lists the uploads
//! open under that key and aborts those begun within the create's time window.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::backend::ObjectBackend;
use crate::options::SleepFn;

/// Clock difference allowed between this machine and the storage when matching an open
/// upload's initiation time with a lost create (S3 and OSS refuse signatures 15 min off).
const SKEW: Duration = Duration::from_secs(15 * 60);

/// Attempts at aborting an upload: the abort meets the same flaky link as the parts did.
const ABORT_ATTEMPTS: u32 = 4;

/// A create whose answer did not arrive.
struct LostCreate {
    backend: Arc<dyn ObjectBackend>,
    key: String,
    /// The uploader's clock when it was sent and when it failed.
    sent: SystemTime,
    failed: SystemTime,
}

/// Lost creates, and the uploads this uploader has open (never taken for strays).
#[derive(Default)]
pub(crate) struct Strays {
    lost: Mutex<Vec<LostCreate>>,
    live: Mutex<HashSet<String>>,
}

impl Strays {
    /// A create of `key` sent at `sent` failed at `failed` in a way that may have begun it.
    pub(crate) fn lost(
        &self,
        backend: Arc<dyn ObjectBackend>,
        key: &str,
        sent: SystemTime,
        failed: SystemTime,
    ) {
        self.lost.lock().expect("strays lock").push(LostCreate {
            backend,
            key: key.to_owned(),
            sent,
            failed,
        });
    }

    /// An upload this uploader began and will complete or abort itself.
    pub(crate) fn begun(&self, upload_id: &str) {
        self.live
            .lock()
            .expect("strays lock")
            .insert(upload_id.to_owned());
    }

    /// That upload is completed or aborted.
    pub(crate) fn ended(&self, upload_id: &str) {
        self.live.lock().expect("strays lock").remove(upload_id);
    }

    /// Lists the uploads open under each lost create's key and aborts those begun in its
    /// window (and not in use here); returns `(key, upload id)` of each aborted. A key
    /// whose listing fails is kept for the next sweep.
    pub(crate) async fn sweep(&self, sleep: &SleepFn) -> Vec<(String, String)> {
        let lost = std::mem::take(&mut *self.lost.lock().expect("strays lock"));
        let mut by_key: BTreeMap<String, Vec<LostCreate>> = BTreeMap::new();
        for l in lost {
            by_key.entry(l.key.clone()).or_default().push(l);
        }
        let mut aborted = Vec::new();
        for (key, creates) in by_key {
            let backend = creates[0].backend.clone();
            let open = match backend.list_multipart_uploads(&key).await {
                Ok(open) => open,
                Err(e) => {
                    tracing::warn!(%key, error = %e, "cannot list the open uploads of a lost create");
                    self.lost.lock().expect("strays lock").extend(creates);
                    continue;
                }
            };
            for u in open {
                let in_window = creates
                    .iter()
                    .any(|l| begun_by(u.initiated, l.sent, l.failed));
                let live = self
                    .live
                    .lock()
                    .expect("strays lock")
                    .contains(&u.upload_id);
                if u.key != key || !in_window || live {
                    continue;
                }
                tracing::info!(%key, upload_id = %u.upload_id, "aborting an upload whose create answer was lost");
                if abort(
                    backend.clone(),
                    key.clone(),
                    u.upload_id.clone(),
                    sleep.clone(),
                )
                .await
                {
                    aborted.push((u.key, u.upload_id));
                }
            }
        }
        aborted
    }
}

/// Whether an upload the storage says it began at `initiated` can be the one a create sent
/// at `sent` and failed at `failed` began, the clocks up to [`SKEW`] apart.
fn begun_by(initiated: SystemTime, sent: SystemTime, failed: SystemTime) -> bool {
    initiated + SKEW >= sent && initiated <= failed + SKEW
}

/// Aborts a multipart upload, retrying transient failures; whether it is gone.
pub(crate) async fn abort(
    backend: Arc<dyn ObjectBackend>,
    key: String,
    id: String,
    sleep: SleepFn,
) -> bool {
    for attempt in 1..=ABORT_ATTEMPTS {
        match backend.abort_multipart(&key, &id).await {
            Ok(()) => return true,
            Err(e) if e.kind() == crate::StoreErrorKind::NotFound => return true,
            Err(e) if e.is_transient() && attempt < ABORT_ATTEMPTS => {
                sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "could not abort a multipart upload");
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_matched_within_the_clock_difference_and_not_beyond() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (sent, failed) = (t, t + Duration::from_secs(30));
        let s = Duration::from_secs;
        for (initiated, matched) in [
            (t + s(10), true),
            (t - SKEW, true),
            (t - SKEW - s(1), false),
            (failed + SKEW, true),
            (failed + SKEW + s(1), false),
        ] {
            assert_eq!(begun_by(initiated, sent, failed), matched, "{initiated:?}");
        }
    }
}
