#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use terra_client::{BackoffConfig, RetryConfig, TerraClient, TerraClientBuilder};
use terra_mock::{ManualClock, TerraMock};

/// The client's clock driven by the mock's manual clock: sleeping advances the mock.
#[derive(Debug, Clone)]
pub struct MockTime(pub ManualClock);

impl terra_client::Clock for MockTime {
    fn now(&self) -> SystemTime {
        terra_mock::Clock::now(&self.0)
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.advance(d);
        Box::pin(async {})
    }
}

/// The system clock, with sleeps recorded instead of waited.
#[derive(Debug, Default)]
pub struct RecordingClock(pub Mutex<Vec<Duration>>);

impl terra_client::Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 6,
        max_elapsed: Duration::from_secs(60),
        backoff: BackoffConfig::none(),
    }
}

pub fn builder(mock: &TerraMock) -> TerraClientBuilder {
    TerraClient::builder()
        .endpoint(mock.base_url())
        .credentials(mock.app_key(), mock.secret())
        .retry(fast_retry())
}

/// A started mock on a manual clock, and a client sharing that clock.
pub async fn manual() -> (TerraMock, TerraClient) {
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client = builder(&mock)
        .clock(Arc::new(MockTime(clock)))
        .build()
        .unwrap();
    (mock, client)
}

/// A resource with `n` images seeded into storage and registered through the client.
pub async fn resource_with_images(mock: &TerraMock, client: &TerraClient, n: usize) -> String {
    let token = client.obtain_token().await.unwrap();
    let resource = client
        .create_resource(&terra_types::CreateResourceRequest::map("flight"))
        .await
        .unwrap();
    let mut files = Vec::new();
    for i in 0..n {
        let name = format!("DJI_{i:04}.JPG");
        let meta = mock
            .put_object(&token, &name, format!("jpeg {i}").as_bytes())
            .unwrap();
        files.push(terra_types::CallbackFile::new(name, meta.quoted_etag()));
    }
    for batch in terra_client::callback_batches(files, 50) {
        client
            .upload_callback(&terra_types::UploadCallbackRequest {
                callback_param: token.callback_param.clone(),
                resource_uuid: resource.uuid.clone(),
                files: batch,
            })
            .await
            .unwrap();
    }
    resource.uuid
}

pub fn p3d() -> terra_types::JobParameters<terra_types::Model3dParams> {
    terra_types::JobParameters::new(terra_types::Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        ..Default::default()
    })
}
