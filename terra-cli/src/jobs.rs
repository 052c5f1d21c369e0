//! `terra jobs`.

use terra_types::*;

use crate::args::{Cli, JobsCmd};
use crate::catalog::{list, page_query};
use crate::workflow::polling;
use crate::{Failure, Outcome, client, print_json};

/// `terra jobs ...`.
pub(crate) async fn run(cli: &Cli, j: &JobsCmd) -> Outcome {
    let c = client(cli)?;
    let show = |job: &Job| {
        if cli.json {
            print_json(job);
        } else {
            let pct = job
                .percentage
                .map(|p| format!(" {:.0} %", p * 100.0))
                .unwrap_or_default();
            out!(
                "{}  {}  {}{pct}  {}",
                job.uuid,
                job.job_type.label(),
                job.status,
                job.name
            );
            if let Some(m) = &job.message {
                out!("  message: {m}");
            }
            if let Some(o) = &job.output_resource_uuid {
                out!("  output:  {o}");
            }
        }
    };
    match j {
        JobsCmd::List { page } => {
            let (p, rows, search) = page_query(page);
            let q = ListJobsQuery {
                page: p,
                rows,
                search,
                ..Default::default()
            };
            list(
                cli.json,
                page.all,
                c.list_jobs(&q),
                c.jobs(q.clone()),
                |j: &Job| {
                    format!(
                        "{}  {:<12}  {:<22}  {}",
                        j.uuid,
                        j.job_type.label(),
                        j.status.to_string(),
                        j.name
                    )
                },
            )
            .await
        }
        JobsCmd::Show { uuid } => {
            show(&c.get_job(uuid).await?);
            Ok(())
        }
        JobsCmd::Create { name, meta } => {
            show(
                &c.create_job(&CreateJobRequest {
                    name: name.clone(),
                    meta: meta.clone(),
                })
                .await?,
            );
            Ok(())
        }
        JobsCmd::Start {
            uuid,
            resource,
            job,
        } => {
            let spec = job.spec()?;
            let req = spec.start_request(resource).map_err(|e| Failure {
                code: 3,
                message: e.to_string(),
            })?;
            show(&c.start_job(uuid, &req).await?);
            Ok(())
        }
        JobsCmd::Stop { uuid } => {
            show(&c.stop_job(uuid).await?);
            Ok(())
        }
        JobsCmd::Delete { uuid } => {
            c.delete_job(uuid).await?;
            if !cli.json {
                out!("deleted {uuid}");
            }
            Ok(())
        }
        JobsCmd::Wait { uuid } => {
            let mut poller = c.poll_job_with(uuid, polling(cli.max_poll_interval));
            let mut last = None;
            while let Some(job) = futures::StreamExt::next(&mut poller).await {
                let job = job?;
                if !cli.json {
                    eprintln!(
                        "{}  {:.0} %  {}",
                        job.status,
                        100.0 * job.percentage.unwrap_or(0.0),
                        job.remain_seconds
                            .map(|s| format!("{s} s left"))
                            .unwrap_or_default()
                    );
                }
                last = Some(job);
            }
            let job = last.ok_or_else(|| Failure {
                code: 1,
                message: "no job status".into(),
            })?;
            show(&job);
            match job.status {
                JobStatus::Succeeded => Ok(()),
                other => Err(Failure {
                    code: 5,
                    message: format!(
                        "job {uuid} ended {other}: {}",
                        job.message.unwrap_or_default()
                    ),
                }),
            }
        }
    }
}
