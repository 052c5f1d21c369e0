//! Lists every job of the account, newest first.
//!
//! ```text
//! DJI_APP_KEY=... DJI_SECRET_KEY=... cargo run -p terra-client --example list_jobs
//! TERRA_ENDPOINT=http://127.0.0.1:8080 DJI_APP_KEY=terra-mock-ak DJI_SECRET_KEY=terra-mock-sk \
//!     cargo run -p terra-client --example list_jobs        # against `terra-mock serve`
//! ```
//!
//! `TerraClient::from_env()`: `TERRA_REGION` (`us` or `cn`, default `us`) picks DJI's host;
//! `TERRA_ENDPOINT` overrides it.

use futures::TryStreamExt;
use terra_client::TerraClient;
use terra_types::ListJobsQuery;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = TerraClient::from_env().build()?;
    let mut jobs = Box::pin(client.jobs(ListJobsQuery {
        rows: Some(100),
        ..Default::default()
    }));
    println!(
        "{:<36}  {:<6}  {:<22}  {:<20}  name",
        "uuid", "type", "status", "created"
    );
    let mut n = 0;
    while let Some(job) = jobs.try_next().await? {
        n += 1;
        println!(
            "{:<36}  {:<6}  {:<22}  {:<20}  {}",
            job.uuid,
            job.job_type.label(),
            job.status.to_string(),
            job.created_at,
            job.name
        );
    }
    println!("{n} jobs");
    Ok(())
}
