//! The golden vectors V1..V3 of the reference (§2.11), sent through the client with a fixed
//! clock: the headers that arrive are exactly the documented ones.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::MockTime;
use terra_mock::{ManualClock, TerraMock};
use terra_types::{CreateResourceRequest, ListJobsQuery};

#[tokio::test]
async fn v1_to_v3_through_the_client() {
    // Wed, 25 Nov 2026 10:00:00 GMT
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_795_600_800));
    let mock = TerraMock::builder()
        .account("test-ak", "test-sk", terra_mock::Provider::S3)
        .manual_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client = terra_client::TerraClient::builder()
        .endpoint(mock.base_url())
        .credentials("test-ak", "test-sk")
        .clock(Arc::new(MockTime(clock)))
        .create_markers(false)
        .build()
        .unwrap();

    client
        .create_resource(&CreateResourceRequest::map("test-resource"))
        .await
        .unwrap();
    client.obtain_token().await.unwrap();
    client
        .list_jobs(&ListJobsQuery {
            page: Some(1),
            rows: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();

    let log = mock.requests();
    let expect = [
        (
            "POST",
            "/terra-rescon-be/v2/resources",
            "SHA-256=HcQlmTSSoN1dOizbDUm1RpbvprZuSFP7dCMtMNADbbM=",
            "LeAE5bVrstlJ6ZBbcD1fK5jMI2UCTumgEDq0UpDmOSg=",
        ),
        (
            "POST",
            "/terra-rescon-be/v2/store/obtain_token",
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "C0TooMz7/xcYEoOP7TGnTubypvIm+gpIPLph3uV49Qw=",
        ),
        (
            "GET",
            "/terra-rescon-be/v2/jobs?page=1&rows=10",
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "N0sgdeu1JnJkCu9f71WBNtV//uv1wiJu+xtzJMGauJc=",
        ),
    ];
    for (i, (method, target, digest, signature)) in expect.iter().enumerate() {
        let r = &log[i];
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            (*method, *target),
            "V{}",
            i + 1
        );
        assert_eq!(r.header("date"), Some("Wed, 25 Nov 2026 10:00:00 GMT"));
        assert_eq!(r.header("digest"), Some(*digest));
        let auth = format!(
            r#"hmac username="test-ak", algorithm="hmac-sha256", headers="date @request-target digest", signature="{signature}""#
        );
        assert_eq!(r.header("authorization"), Some(auth.as_str()), "V{}", i + 1);
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        &log[0].body[..],
        br#"{"name":"test-resource","type":"map"}"#,
        "V1 body byte for byte"
    );
    assert!(log[1].body.is_empty() && log[2].body.is_empty());
    mock.shutdown().await;
}
