//! A faithful emulator of DJI TerraAPI v2, in-process for tests or as a standalone server.
//!
//! DJI retired TerraAPI in June 2026; terra-mock is how legacy integrations stay tested. It
//! serves the 21 routes of the API under `/terra-rescon-be/v2` behind a gateway that
//! checks the HMAC signature exactly as the real one (Kong `hmac-auth`, via
//! [`terra_sign`]), answers with the real envelope and error codes, issues STS tokens that
//! expire, moves jobs through their states on a clock the test controls, produces output
//! files, and injects faults.
//!
//! ```no_run
//! use std::time::Duration;
//! use terra_mock::{JobTiming, ManualClock, TerraMock};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let clock = ManualClock::starting_now();
//! let mock = TerraMock::builder()
//!     .manual_clock(clock)
//!     .timing(JobTiming::lasting(Duration::from_secs(3600)))
//!     .start()
//!     .await?;
//! // Point a client at mock.base_url() with mock.app_key() / mock.secret(), start a job...
//! mock.advance(Duration::from_secs(3600)); // ...and it is done.
//! # Ok(()) }
//! ```
//!
//! Where the reference marks behaviour "unconfirmed", the choice made is documented on the
//! setting that changes it, in [`MockConfig`].

mod api;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
mod cli_report;
mod clock;
mod config;
mod control;
mod core;
mod cors;
mod error;
mod faults;
mod harness;
#[cfg(feature = "schema")]
pub mod openapi;
mod outputs;
mod persist;
mod private;
mod proxy;
mod reason;
mod record;
mod router;
pub mod sample;
mod server;
mod state;
pub mod storage;

pub use clock::{Clock, ClockMode, ManualClock, SystemClock};
pub use config::{
    AccountConfig, AdminToken, BucketConfig, DEFAULT_APP_KEY, DEFAULT_SECRET, DuplicateCallbacks,
    ErrorStatus, FaultScope, JobTiming, MinimalCreate, MockConfig, OutputConfig, Provider,
    RandomFaults, UnusedMeshFormats,
};
pub use control::{AccountStats, ControlError, ControlErrorKind};
pub use core::API_PREFIX;
pub use cors::{CorsConfig, CorsRule, StorageCors};
pub use faults::{Fault, FaultRule};
pub use harness::{TerraMock, TerraMockBuilder, stop_signal};
pub use reason::{ClientCount, Reason, ReasonCode, ReasonKind, Report, ReportEntry, ReportExample};
pub use record::RecordedRequest;
pub use state::JobFailure;
#[doc(hidden)]
pub use state::views::views_built_on_this_thread;

/// The examples of the crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
