//! Async client for DJI TerraAPI v2 (`/terra-rescon-be/v2`): every endpoint, typed with
//! [`terra_types`], signed with [`terra_sign`], robust on bad networks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), terra_client::Error> {
//! use terra_client::TerraClient;
//! use terra_types::{CreateJobRequest, JobParameters, Model3dParams, StartJobRequest};
//!
//! // DJI_APP_KEY, DJI_SECRET_KEY; TERRA_REGION (us, cn) or TERRA_ENDPOINT (e.g. terra-mock)
//! let client = TerraClient::from_env().build()?;
//! let job = client.create_job(&CreateJobRequest::named("survey")).await?;
//! let params = JobParameters::new(Model3dParams { output_mesh: Some(true), generate_obj: Some(true), ..Default::default() });
//! let start = StartJobRequest::new("<resource uuid>", &params)?; // validated before sending
//! client.start_job(&job.uuid, &start).await?;
//! let done = client.wait_for_job(&job.uuid).await?;
//! # let _ = done; Ok(()) }
//! ```
//!
//! # On the wire
//!
//! Each body is serialized once and those exact bytes are digested, signed and sent; the
//! signed request-target is taken from the final URL. Creates and updates send
//! `Return-Detail: true`; when the service answers only `{uuid}`, the client fetches the
//! object. A 2xx is a success only with `result.code == 0`; errors are decoded from the
//! envelope, else from the gateway's `{"message"}`, else from the raw text.
//!
//! # Retries
//!
//! Attempts fail with connection errors, timeouts, 429, 5xx or code 102000; such calls are
//! retried up to [`RetryConfig::max_attempts`] within [`RetryConfig::max_elapsed`], with
//! decorrelated-jitter backoff and `Retry-After` honoured. Whether a call is retried
//! depends on whether repeating it could do something twice:
//!
//! - **GET, PUT, DELETE and `obtain_token`** are retried freely (a DELETE whose earlier
//!   attempt may have worked accepts "not found" as done).
//! - **After an ambiguous failure** (the request may have reached the service: a broken
//!   connection after sending, a timeout, a 5xx), calls that must not run twice are
//!   checked first:
//!   - `create_resource` and `create_job` put a marker (`{"terra-rs-request": "<uuid>"}`)
//!     into `meta` when `meta` is absent or a JSON object, and look for it among the
//!     newest 100 objects; found means done. Without a marker (a plain-text `meta`, or
//!     [`TerraClientBuilder::create_markers`] off) they are retried only when the request
//!     surely did not reach the service (connection refused, 429).
//!   - `start_job` reads the job: started with these parameters means done; `stop_job`
//!     reads it too.
//!   - `upload_callback` lists the resource's files and resends only the files not yet
//!     registered.
//!   - `copy_resource`, `copy_job`, `file_operation` and `raw` POSTs are only retried when
//!     the request surely did not reach the service.
//!
//! # Waiting for jobs
//!
//! [`TerraClient::poll_job`] is a `Stream` of snapshots; [`TerraClient::wait_for_job`]
//! ends on 5, 6 or 7 and turns 5 and 7 into errors carrying the job's message. Polls back
//! off from 5 s to 60 s and use `remainSeconds` when the job gives it.
//!
//! # The reconstruct workflow
//!
//! With the `workflow` feature, [`TerraClient::reconstruct`] runs the whole flow from a
//! folder of photos to the outputs on disk, resumably; see [`workflow`].
//!
//! # Tracing
//!
//! One `terra.request` span per attempt (method, route, attempt, status, API code).
//! Secrets and signatures are never logged.

mod api;
mod client;
mod clock;
mod config;
mod error;
mod poller;
#[cfg(feature = "workflow")]
pub mod workflow;

pub use api::{MARKER_KEY, callback_batches};
pub use client::{
    API_PREFIX, ENV_APP_KEY, ENV_ENDPOINT, ENV_REGION, ENV_SECRET_KEY, TerraClient,
    TerraClientBuilder,
};
pub use clock::{Clock, SystemClock};
pub use config::{BackoffConfig, PollingPolicy, Region, RetryConfig};
pub use error::{Error, ErrorKind, Result};
pub use poller::JobPoller;
pub use terra_sign::DateHeader;

/// The examples of the crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
