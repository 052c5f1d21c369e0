//! Waiting for jobs: a stream of snapshots and `until_done`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures::Stream;
use terra_types::{Job, JobStatus};

use crate::client::TerraClient;
use crate::config::PollingPolicy;
use crate::error::{Error, ErrorKind, Result};

/// A stream of job snapshots, one per poll, ending after the first terminal status (5, 6
/// or 7). Waits follow a [`PollingPolicy`] on the client's clock.
///
/// ```no_run
/// # async fn demo(client: terra_client::TerraClient, job: &str) -> Result<(), terra_client::Error> {
/// use futures::StreamExt;
/// let mut poller = client.poll_job(job);
/// while let Some(snapshot) = poller.next().await {
///     let j = snapshot?;
///     println!("{} {:.0} %", j.status, 100.0 * j.percentage.unwrap_or(0.0));
/// }
/// # Ok(()) }
/// ```
pub struct JobPoller {
    stream: Pin<Box<dyn Stream<Item = Result<Job>> + Send>>,
}

impl std::fmt::Debug for JobPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobPoller")
    }
}

struct State {
    client: TerraClient,
    uuid: String,
    policy: PollingPolicy,
    interval: Option<Duration>,
    started: SystemTime,
    errors: u32,
    done: bool,
    first: bool,
}

impl JobPoller {
    pub(crate) fn new(client: TerraClient, uuid: String, policy: PollingPolicy) -> Self {
        let started = client.inner.clock.now();
        let state = State {
            client,
            uuid,
            policy,
            interval: None,
            started,
            errors: 0,
            done: false,
            first: true,
        };
        let stream = futures::stream::unfold(state, |mut s| async move {
            loop {
                if s.done {
                    return None;
                }
                if !s.first {
                    let wait = s.interval.unwrap_or(s.policy.initial);
                    if let Some(max) = s.policy.max_wait {
                        let waited = s
                            .client
                            .inner
                            .clock
                            .now()
                            .duration_since(s.started)
                            .unwrap_or_default();
                        if waited + wait > max {
                            s.done = true;
                            let e = Error::new(
                                ErrorKind::Timeout,
                                format!("job {} did not end within {max:?}", s.uuid),
                            );
                            return Some((Err(e), s));
                        }
                    }
                    s.client.inner.clock.sleep(wait).await;
                }
                s.first = false;
                match s.client.get_job(&s.uuid).await {
                    Ok(job) => {
                        s.errors = 0;
                        s.done = job.status.is_terminal();
                        s.interval = Some(s.policy.next_interval(s.interval, job.remain_seconds));
                        return Some((Ok(job), s));
                    }
                    Err(e) if e.is_retryable() && s.errors < s.policy.max_consecutive_errors => {
                        s.errors += 1;
                        tracing::warn!(job = %s.uuid, error = %e, errors = s.errors, "poll failed; polling on");
                        s.interval = Some(s.policy.next_interval(s.interval, None));
                    }
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e), s));
                    }
                }
            }
        });
        Self {
            stream: Box::pin(stream),
        }
    }

    /// Polls until the job ends: `Ok` with the job on status 6; a [`ErrorKind::JobFailed`]
    /// error with the job's message on 7; [`ErrorKind::JobStopped`] on 5.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::builder()
    /// #     .timing(terra_mock::JobTiming::lasting(std::time::Duration::from_millis(300)))
    /// #     .start()
    /// #     .await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let mut files = Vec::new();
    /// # for i in 0..10 {
    /// #     let name = format!("DJI_{i:04}.JPG");
    /// #     let put = mock.put_object(&token, &name, b"photo bytes")?;
    /// #     files.push(CallbackFile::new(name, put.etag));
    /// # }
    /// # let callback_param = token.callback_param.clone();
    /// # let resource_uuid = resource.uuid.clone();
    /// # client.upload_callback(&UploadCallbackRequest { callback_param, resource_uuid, files }).await?;
    /// # let job = client.create_job(&terra_types::CreateJobRequest::named("survey 2D")).await?;
    /// # let params = terra_types::JobParameters::new(terra_types::Map2dParams::default());
    /// # let start = terra_types::StartJobRequest::new(&resource.uuid, &params)?;
    /// # client.start_job(&job.uuid, &start).await?;
    /// use std::time::Duration;
    /// use terra_client::PollingPolicy;
    /// let policy = PollingPolicy { initial: Duration::from_millis(50), ..Default::default() };
    /// let done = client.poll_job_with(&job.uuid, policy).until_done().await?;
    /// assert_eq!(done.status, terra_types::JobStatus::Succeeded);
    /// # Ok(()) }
    /// ```
    pub async fn until_done(mut self) -> Result<Job> {
        use futures::StreamExt;
        let mut last = None;
        while let Some(snapshot) = self.next().await {
            last = Some(snapshot?);
        }
        let job =
            last.ok_or_else(|| Error::new(ErrorKind::Timeout, "the poller ended without a job"))?;
        finished(job)
    }
}

/// Turns a terminal job into the result `wait_for_job` promises.
pub(crate) fn finished(job: Job) -> Result<Job> {
    let message = job.message.clone().unwrap_or_default();
    match job.status {
        JobStatus::Succeeded => Ok(job),
        JobStatus::Failed => Err(Error::new(
            ErrorKind::JobFailed,
            format!("job {} failed: {message}", job.uuid),
        )),
        JobStatus::Stopped => Err(Error::new(
            ErrorKind::JobStopped,
            format!("job {} was stopped: {message}", job.uuid),
        )),
        other => Err(Error::new(
            ErrorKind::Timeout,
            format!("job {} is still {other}", job.uuid),
        )),
    }
}

impl Stream for JobPoller {
    type Item = Result<Job>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

impl TerraClient {
    /// A poller of a job with the default [`PollingPolicy`] (5 s growing to 60 s, guided by
    /// `remainSeconds`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let mut files = Vec::new();
    /// # for i in 0..10 {
    /// #     let name = format!("DJI_{i:04}.JPG");
    /// #     let put = mock.put_object(&token, &name, b"photo bytes")?;
    /// #     files.push(CallbackFile::new(name, put.etag));
    /// # }
    /// # let callback_param = token.callback_param.clone();
    /// # let resource_uuid = resource.uuid.clone();
    /// # client.upload_callback(&UploadCallbackRequest { callback_param, resource_uuid, files }).await?;
    /// # let job = client.create_job(&terra_types::CreateJobRequest::named("survey 2D")).await?;
    /// # let params = terra_types::JobParameters::new(terra_types::Map2dParams::default());
    /// # let start = terra_types::StartJobRequest::new(&resource.uuid, &params)?;
    /// # client.start_job(&job.uuid, &start).await?;
    /// use futures::StreamExt;
    /// let mut poller = client.poll_job(&job.uuid);
    /// let first = poller.next().await.unwrap()?; // the first poll is immediate
    /// assert!(!first.status.is_terminal());
    /// # Ok(()) }
    /// ```
    pub fn poll_job(&self, uuid: &str) -> JobPoller {
        self.poll_job_with(uuid, PollingPolicy::default())
    }

    /// A poller with a given policy.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::builder()
    /// #     .timing(terra_mock::JobTiming::lasting(std::time::Duration::from_millis(300)))
    /// #     .start()
    /// #     .await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let mut files = Vec::new();
    /// # for i in 0..10 {
    /// #     let name = format!("DJI_{i:04}.JPG");
    /// #     let put = mock.put_object(&token, &name, b"photo bytes")?;
    /// #     files.push(CallbackFile::new(name, put.etag));
    /// # }
    /// # let callback_param = token.callback_param.clone();
    /// # let resource_uuid = resource.uuid.clone();
    /// # client.upload_callback(&UploadCallbackRequest { callback_param, resource_uuid, files }).await?;
    /// # let job = client.create_job(&terra_types::CreateJobRequest::named("survey 2D")).await?;
    /// # let params = terra_types::JobParameters::new(terra_types::Map2dParams::default());
    /// # let start = terra_types::StartJobRequest::new(&resource.uuid, &params)?;
    /// # client.start_job(&job.uuid, &start).await?;
    /// use futures::TryStreamExt;
    /// use std::time::Duration;
    /// use terra_client::PollingPolicy;
    /// let policy = PollingPolicy { initial: Duration::from_millis(50), ..Default::default() };
    /// let snapshots: Vec<_> = client.poll_job_with(&job.uuid, policy).try_collect().await?;
    /// assert!(snapshots.last().unwrap().status.is_terminal());
    /// # Ok(()) }
    /// ```
    pub fn poll_job_with(&self, uuid: &str, policy: PollingPolicy) -> JobPoller {
        JobPoller::new(self.clone(), uuid.to_owned(), policy)
    }

    /// Waits for a job to end: the job on status 6, an error carrying the job's `message`
    /// on 7 ([`ErrorKind::JobFailed`]) or 5 ([`ErrorKind::JobStopped`]).
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient, job: &str) -> Result<(), terra_client::Error> {
    /// let done = client.wait_for_job(job).await?;
    /// println!("results in resource {}", done.output_resource_uuid.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_job(&self, uuid: &str) -> Result<Job> {
        self.poll_job(uuid).until_done().await
    }
}
