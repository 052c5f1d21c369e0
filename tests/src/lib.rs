//! Helpers shared by the integration tests in `tests/tests/`: a running emulator with a
//! client pointed at it, and checks of a finished workflow's output folder.

use std::path::Path;
use std::time::Duration;

use terra_client::TerraClient;
use terra_client::workflow::{JobSpec, Reconstruct};
use terra_mock::{JobTiming, TerraMock, TerraMockBuilder};
use terra_store::BackendOptions;
use terra_types::ResourceType;

/// Job stages short enough for tests (about 2 s in all).
pub fn fast_jobs() -> JobTiming {
    JobTiming {
        waiting: 0.2,
        preparing: 0.2,
        executing: 1.0,
        executing_per_input: 0.01,
        result_processing: 0.3,
    }
}

/// A started emulator with fast jobs, customised by `f`.
pub async fn mock(f: impl FnOnce(TerraMockBuilder) -> TerraMockBuilder) -> TerraMock {
    f(TerraMock::builder().timing(fast_jobs()))
        .start()
        .await
        .expect("the emulator starts")
}

/// A client of `mock` with quick retries.
pub fn client(mock: &TerraMock) -> TerraClient {
    TerraClient::builder()
        .endpoint(mock.base_url())
        .credentials(mock.app_key(), mock.secret())
        .retry(terra_client::RetryConfig {
            backoff: terra_client::BackoffConfig {
                initial: Duration::from_millis(20),
                ..Default::default()
            },
            ..Default::default()
        })
        .build()
        .expect("client")
}

/// A workflow against `mock`, polling quickly.
pub fn workflow(
    mock: &TerraMock,
    client: &TerraClient,
    input: &Path,
    output: &Path,
    spec: JobSpec,
) -> Reconstruct {
    client
        .reconstruct()
        .input(input)
        .output(output)
        .job(spec)
        .storage(BackendOptions {
            endpoint: Some(mock.base_url()),
            ..Default::default()
        })
        .polling(terra_client::PollingPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            ..Default::default()
        })
}

/// Checks that every file of the job's output resource is on disk with the bytes the mock
/// holds for it, and returns their names.
pub fn assert_outputs_complete(mock: &TerraMock, output_dir: &Path) -> Vec<String> {
    let app_key = mock.app_key();
    let outputs: Vec<_> = mock
        .resources(app_key)
        .into_iter()
        .filter(|r| r.resource_type == ResourceType::JobOutput)
        .collect();
    assert_eq!(outputs.len(), 1, "one output resource");
    assert_outputs_of(mock, &outputs[0].uuid, output_dir)
}

/// Checks that every file of the output resource `output` is on disk under `output_dir`
/// with the bytes the mock holds for it, and returns their names.
pub fn assert_outputs_of(mock: &TerraMock, output: &str, output_dir: &Path) -> Vec<String> {
    mock.check_download(mock.app_key(), output, output_dir)
        .unwrap_or_else(|e| panic!("{e}"))
}
