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
    use crate::backend::{ObjectInfo, OpenUpload, Source};
    use crate::error::{Result, StoreError, StoreErrorKind};

    /// A storage that holds open multipart uploads and records aborts; nothing else.
    #[derive(Debug, Default)]
    struct Open {
        uploads: Vec<OpenUpload>,
        aborted: Mutex<Vec<String>>,
        listing_fails: bool,
        /// What the next aborts answer (then `Ok`).
        abort_answers: Mutex<Vec<StoreErrorKind>>,
    }

    fn no() -> StoreError {
        StoreError::new(StoreErrorKind::Other, "test", "not used")
    }

    #[async_trait::async_trait]
    impl ObjectBackend for Open {
        async fn put(&self, _: &str, _: &Source) -> Result<String> {
            Err(no())
        }
        async fn create_multipart(&self, _: &str) -> Result<String> {
            Err(no())
        }
        async fn put_part(&self, _: &str, _: &str, _: u32, _: &Source) -> Result<String> {
            Err(no())
        }
        async fn complete_multipart(
            &self,
            _: &str,
            _: &str,
            _: &[(u32, String)],
        ) -> Result<String> {
            Err(no())
        }
        async fn abort_multipart(&self, _: &str, id: &str) -> Result<()> {
            self.aborted.lock().unwrap().push(id.to_owned());
            let mut answers = self.abort_answers.lock().unwrap();
            if answers.is_empty() {
                return Ok(());
            }
            Err(StoreError::new(answers.remove(0), "abort", "scripted"))
        }
        async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<OpenUpload>> {
            if self.listing_fails {
                return Err(StoreError::new(StoreErrorKind::Transient, "list", "reset"));
            }
            Ok(self
                .uploads
                .iter()
                .filter(|u| u.key.starts_with(prefix))
                .cloned()
                .collect())
        }
        async fn head(&self, _: &str) -> Result<Option<ObjectInfo>> {
            Err(no())
        }
        async fn delete(&self, _: &str) -> Result<()> {
            Err(no())
        }
        fn bucket(&self) -> &str {
            "b"
        }
    }

    fn no_sleep() -> SleepFn {
        Arc::new(|_| Box::pin(async {}))
    }

    #[tokio::test]
    async fn a_sweep_aborts_only_strays_of_the_lost_key_in_its_window() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let up = |key: &str, id: &str, at: SystemTime| OpenUpload {
            key: key.to_owned(),
            upload_id: id.to_owned(),
            initiated: at,
        };
        let backend = Arc::new(Open {
            uploads: vec![
                up("fm/a.las", "stray", t + Duration::from_secs(1)),
                up("fm/a.las", "in-use", t + Duration::from_secs(2)),
                up("fm/a.las", "old", t - Duration::from_secs(3600)),
                // Listed under the prefix, but another key.
                up("fm/a.las.bak", "other-key", t),
            ],
            ..Default::default()
        });
        let strays = Strays::default();
        strays.begun("in-use");
        strays.lost(backend.clone(), "fm/a.las", t, t + Duration::from_secs(5));
        let aborted = strays.sweep(&no_sleep()).await;
        assert_eq!(aborted, vec![("fm/a.las".to_owned(), "stray".to_owned())]);
        assert_eq!(*backend.aborted.lock().unwrap(), vec!["stray".to_owned()]);
        // Done: a second sweep has nothing to do.
        assert!(strays.sweep(&no_sleep()).await.is_empty());
        // Once this uploader has ended its own upload, a new lost create may take it.
        strays.ended("in-use");
        strays.lost(backend.clone(), "fm/a.las", t, t + Duration::from_secs(5));
        let again = strays.sweep(&no_sleep()).await;
        assert!(again.iter().any(|(_, id)| id == "in-use"), "{again:?}");
    }

    /// Aborts once against a storage answering `answers` first; whether it reported the
    /// upload gone, the attempts made and the pauses between them.
    async fn abort_against(answers: &[StoreErrorKind]) -> (bool, usize, Vec<Duration>) {
        let backend = Arc::new(Open {
            abort_answers: Mutex::new(answers.to_vec()),
            ..Default::default()
        });
        let slept = Arc::new(Mutex::new(Vec::new()));
        let log = slept.clone();
        let sleep: SleepFn = Arc::new(move |d| {
            log.lock().unwrap().push(d);
            Box::pin(async {})
        });
        let gone = abort(backend.clone(), "k".into(), "id".into(), sleep).await;
        let attempts = backend.aborted.lock().unwrap().len();
        let pauses = slept.lock().unwrap().clone();
        (gone, attempts, pauses)
    }

    #[tokio::test]
    async fn an_abort_retries_what_may_pass_and_stops_at_what_will_not() {
        use StoreErrorKind::*;
        let ms = Duration::from_millis;
        assert_eq!(abort_against(&[]).await, (true, 1, vec![]));
        // Already gone counts as aborted.
        assert_eq!(abort_against(&[NotFound]).await, (true, 1, vec![]));
        // A flaky link: retried after 200 and 400 ms.
        assert_eq!(
            abort_against(&[Transient, Transient]).await,
            (true, 3, vec![ms(200), ms(400)])
        );
        // Four transient failures: given up after the fourth, with no pause after it.
        assert_eq!(
            abort_against(&[Transient; 4]).await,
            (false, 4, vec![ms(200), ms(400), ms(800)])
        );
        // Refused: no retry.
        assert_eq!(abort_against(&[Denied]).await, (false, 1, vec![]));
    }

    #[tokio::test]
    async fn a_key_whose_listing_fails_waits_for_the_next_sweep() {
        let backend = Arc::new(Open {
            listing_fails: true,
            ..Default::default()
        });
        let strays = Strays::default();
        let t = SystemTime::now();
        strays.lost(backend.clone(), "fm/a.las", t, t);
        assert!(strays.sweep(&no_sleep()).await.is_empty());
        assert_eq!(
            strays.lost.lock().unwrap().len(),
            1,
            "kept for the next sweep"
        );
    }

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
            // The window is the signature's: 15 minutes either way.
            (t - s(14 * 60), true),
            (failed + s(14 * 60), true),
            (t - s(16 * 60), false),
        ] {
            assert_eq!(begun_by(initiated, sent, failed), matched, "{initiated:?}");
        }
    }
}
