//! The controls that make things happen, beside those that read and reset (`mod.rs`): the
//! clock, job timing and outcomes, storage CORS rules, fault rules and random faults.

use std::time::{Duration, SystemTime};

use terra_types::JobStatus;
use uuid::Uuid;

use super::{ControlError, ControlResult};
use crate::clock::ClockMode;
use crate::config::{JobTiming, Provider, RandomFaults};
use crate::cors::CorsConfig;
use crate::faults::FaultRule;
use crate::state::{AccountCell, JobFailure};

impl super::Control<'_> {
    // ---- clock --------------------------------------------------------------------------

    pub(crate) fn now(&self) -> SystemTime {
        self.0.now()
    }

    pub(crate) fn clock_mode(&self) -> ClockMode {
        self.0.clock.mode()
    }

    /// Moves the clock forward and applies what falls due.
    pub(crate) fn advance(&self, by: Duration) {
        self.0.clock.advance(by);
        self.0.save_clock();
        self.tick();
    }

    pub(crate) fn set_clock(&self, to: SystemTime) {
        self.0.clock.set(to);
        self.0.save_clock();
        self.tick();
    }

    pub(crate) fn set_clock_mode(&self, mode: ClockMode) {
        self.0.clock.set_mode(mode);
        self.0.save_clock();
    }

    /// Applies every job transition due by now in every account, and drops sessions
    /// past their grace period.
    pub(crate) fn tick(&self) {
        let env = self.0.env();
        for cell in self.0.accounts.all() {
            drop(cell.lock(&env));
        }
        self.0.prune_sessions();
    }

    // ---- jobs ---------------------------------------------------------------------------

    pub(crate) fn timing(&self) -> JobTiming {
        self.0.timing()
    }

    /// The stage timing of jobs started from now on.
    pub(crate) fn set_timing(&self, timing: JobTiming) -> ControlResult<()> {
        Self::check_timing(&timing)?;
        self.0
            .live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .timing = timing;
        self.0.save_timing();
        Ok(())
    }

    /// The CORS configuration of one bucket now.
    pub(crate) fn storage_cors(&self, provider: Provider) -> CorsConfig {
        let live = self.0.live.read().unwrap_or_else(|e| e.into_inner());
        match provider {
            Provider::S3 => live.storage_cors.s3.clone(),
            Provider::Oss => live.storage_cors.oss.clone(),
        }
    }

    /// Replaces one bucket's CORS configuration (`None`: back to the configured one).
    pub(crate) fn set_storage_cors(
        &self,
        provider: Provider,
        cors: Option<CorsConfig>,
    ) -> ControlResult<()> {
        let cors = match cors {
            Some(c) => {
                c.check().map_err(ControlError::invalid)?;
                c
            }
            None => match provider {
                Provider::S3 => self.0.cfg.storage_cors.s3.clone(),
                Provider::Oss => self.0.cfg.storage_cors.oss.clone(),
            },
        };
        let mut live = self.0.live.write().unwrap_or_else(|e| e.into_inner());
        match provider {
            Provider::S3 => live.storage_cors.s3 = cors,
            Provider::Oss => live.storage_cors.oss = cors,
        }
        Ok(())
    }

    pub(super) fn check_timing(timing: &JobTiming) -> ControlResult<()> {
        let stages = [
            ("waiting", timing.waiting),
            ("preparing", timing.preparing),
            ("executing", timing.executing),
            ("executing_per_input", timing.executing_per_input),
            ("result_processing", timing.result_processing),
        ];
        for (name, v) in stages {
            if !(v.is_finite() && (0.0..=1e9).contains(&v)) {
                return Err(ControlError::invalid(format!(
                    "timing `{name}` must be 0 to 1e9 seconds, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// The account holding a job.
    fn job_account(&self, uuid: &str) -> ControlResult<(std::sync::Arc<AccountCell>, Uuid)> {
        let id =
            Uuid::parse_str(uuid).map_err(|_| ControlError::not_found(format!("no job {uuid}")))?;
        let env = self.0.env();
        self.0
            .accounts
            .all()
            .into_iter()
            .find(|c| c.read(&env).jobs.get(&id).is_some())
            .map(|c| (c, id))
            .ok_or_else(|| ControlError::not_found(format!("no job {uuid}")))
    }

    /// Moves a started job on to `status` now (forward in order, stopped or failed).
    pub(crate) fn move_job(
        &self,
        uuid: &str,
        status: JobStatus,
        message: Option<&str>,
    ) -> ControlResult<terra_types::Job> {
        let (cell, id) = self.job_account(uuid)?;
        let env = self.0.env();
        let mut a = cell.lock(&env);
        a.move_job(&cell, &id, status, message, &env)
            .map_err(ControlError::conflict)?;
        Ok(crate::state::views::job_view(
            a.jobs.get(&id).expect("exists"),
            env.now,
            true,
        ))
    }

    /// Fails a running job now; `code` (an error code of the reconstruction error guide,
    /// say) goes before the message.
    pub(crate) fn fail_job(
        &self,
        uuid: &str,
        message: &str,
        code: Option<&str>,
    ) -> ControlResult<terra_types::Job> {
        let message = match code {
            Some(c) if !c.is_empty() => format!("{c}: {message}"),
            _ => message.to_owned(),
        };
        self.move_job(uuid, JobStatus::Failed, Some(&message))
    }

    /// The next `count` started jobs fail at the end of stage `failure.at`.
    pub(crate) fn fail_next(&self, count: usize, failure: JobFailure) -> ControlResult<usize> {
        if !(failure.at.is_running()) {
            return Err(ControlError::invalid(format!(
                "a job fails at the end of stage 1 to 4, not {}",
                failure.at
            )));
        }
        for _ in 0..count {
            self.0.failures.push(failure.clone());
        }
        Ok(self.0.failures.len())
    }

    // ---- faults -------------------------------------------------------------------------

    pub(crate) fn add_fault(&self, rule: FaultRule) -> ControlResult<u64> {
        self.0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule)
            .map_err(ControlError::invalid)
    }

    pub(crate) fn faults(&self) -> Vec<(u64, FaultRule)> {
        self.0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rules()
    }

    pub(crate) fn remove_fault(&self, id: u64) -> ControlResult<()> {
        if self
            .0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
        {
            Ok(())
        } else {
            Err(ControlError::not_found(format!("no fault rule {id}")))
        }
    }

    /// Removes every scripted rule and the random faults.
    pub(crate) fn clear_faults(&self) {
        self.0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub(crate) fn random_faults(&self) -> Option<RandomFaults> {
        self.0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random()
    }

    pub(crate) fn set_random_faults(&self, faults: Option<RandomFaults>) -> ControlResult<()> {
        if let Some(f) = &faults {
            let p = [
                ("error_5xx", f.error_5xx),
                ("too_many_requests", f.too_many_requests),
                ("reset", f.reset),
                ("latency", f.latency),
            ];
            for (name, v) in p {
                if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                    return Err(ControlError::invalid(format!(
                        "`{name}` is a probability, 0 to 1, got {v}"
                    )));
                }
            }
            if p.iter().map(|(_, v)| v).sum::<f64>() > 1.0 {
                return Err(ControlError::invalid(
                    "the probabilities of the random faults add up to more than 1",
                ));
            }
            if f.latency_ms > 600_000 {
                return Err(ControlError::invalid(format!(
                    "`latency_ms` is at most 600000, got {}",
                    f.latency_ms
                )));
            }
        }
        self.0
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_random(faults);
        Ok(())
    }
}
