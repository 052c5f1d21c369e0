//! The job state machine: the timer queue that moves started jobs through their stages
//! on the mock's clock, forced moves (control API), stops and failures.

use std::time::SystemTime;

use terra_types::JobStatus;
use uuid::Uuid;

use super::{Account, AccountCell, Env};

impl Account {
    /// Ends a running job now with `status` and `message`; `false` if it was not running.
    pub(crate) fn end_run(
        &mut self,
        id: &Uuid,
        status: JobStatus,
        message: &str,
        now: SystemTime,
    ) -> bool {
        if !self.jobs.get(id).is_some_and(|j| j.status.is_running()) {
            return false;
        }
        self.set_status(id, status);
        let j = self.jobs.get_mut(id).expect("checked");
        j.updated = now;
        let run = j.run.as_mut().expect("running jobs have a run");
        run.completed = Some(now);
        run.message = message.into();
        if let Some(t) = run.timer.take() {
            self.timers.remove(&t);
        }
        true
    }

    /// Moves a started job on to `target` now: forward through the stages in order (outputs
    /// made on the way), or to stopped or failed. Refused backwards, or for a job not
    /// started or already ended.
    pub(crate) fn move_job(
        &mut self,
        cell: &AccountCell,
        id: &Uuid,
        target: JobStatus,
        message: Option<&str>,
        env: &Env<'_>,
    ) -> Result<(), String> {
        let Some(j) = self.jobs.get(id) else {
            return Err(format!("no job {id} in account {}", cell.app_key));
        };
        let from = j.status;
        if !from.is_running() {
            return Err(format!(
                "job {id} is {from}: only a started, unfinished job can move"
            ));
        }
        match target {
            JobStatus::Stopped => {
                self.end_run(
                    id,
                    JobStatus::Stopped,
                    message.unwrap_or("stopped by user"),
                    env.now,
                );
            }
            JobStatus::Failed => {
                self.end_run(id, JobStatus::Failed, message.unwrap_or("failed"), env.now);
            }
            t if t.code() > from.code() && (t.is_running() || t == JobStatus::Succeeded) => {
                while self
                    .jobs
                    .get(id)
                    .is_some_and(|j| j.status != t && j.status.is_running())
                {
                    let timer = self
                        .jobs
                        .get_mut(id)
                        .and_then(|j| j.run.as_mut())
                        .and_then(|r| r.timer.take());
                    if let Some(t) = timer {
                        self.timers.remove(&t);
                    }
                    self.advance_job(cell, *id, env.now, env);
                }
            }
            t => return Err(format!("job {id} cannot move from {from} to {t}")),
        }
        Ok(())
    }

    /// Applies every job transition due at or before `env.now`, in time order.
    /// Whether a job is due to move on by `env.now` (what [`Account::tick`] would do).
    pub(super) fn due(&self, env: &Env<'_>) -> bool {
        self.timers
            .first_key_value()
            .is_some_and(|((at, _), _)| *at <= env.now)
    }

    pub(super) fn tick(&mut self, cell: &AccountCell, env: &Env<'_>) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > env.now {
                break;
            }
            let ((at, _), job) = entry.remove_entry();
            self.advance_job(cell, job, at, env);
        }
    }

    fn advance_job(&mut self, cell: &AccountCell, id: Uuid, at: SystemTime, env: &Env<'_>) {
        let seq = self.next_seq();
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let Some(run) = job.run.as_mut() else { return };
        run.timer = None;
        let from = job.status;
        if run.failure.as_ref().is_some_and(|f| f.at == from) {
            let message = run.failure.take().expect("checked").message;
            self.end_run_at(&id, JobStatus::Failed, &message, at);
            return;
        }
        let (next, message, stage) = match from {
            JobStatus::Waiting => (JobStatus::Preparing, "preparing", 1),
            JobStatus::Preparing => (JobStatus::Executing, "executing", 2),
            JobStatus::Executing => (JobStatus::ResultProcessing, "result processing", 3),
            JobStatus::ResultProcessing => (JobStatus::Succeeded, "success", 4),
            _ => return,
        };
        job.updated = at;
        run.message = match (&run.note, next) {
            (Some(note), JobStatus::Succeeded) => format!("{message}; {note}").into(),
            _ => message.into(),
        };
        if next == JobStatus::Succeeded {
            run.completed = Some(at);
        } else {
            let due = run.ends[stage].max(at);
            run.timer = Some((due, seq));
            self.timers.insert((due, seq), id);
        }
        self.set_status(&id, next);
        if next == JobStatus::ResultProcessing {
            self.create_outputs(cell, id, at, env);
        }
    }

    fn end_run_at(&mut self, id: &Uuid, status: JobStatus, message: &str, at: SystemTime) {
        self.set_status(id, status);
        if let Some(j) = self.jobs.get_mut(id) {
            j.updated = at;
            if let Some(run) = j.run.as_mut() {
                run.completed = Some(at);
                run.message = message.into();
                run.timer = None;
            }
        }
    }
}
