//! What the S3 backend puts in `x-amz-content-sha256`.

mod common;

use common::{MockTokens, file};
use terra_mock::TerraMock;
use terra_store::*;

#[tokio::test]
async fn payload_signing_is_what_the_option_says() {
    let mock = TerraMock::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "a.bin", 70_000, 1);
    for sign_payload in [false, true] {
        let opts = UploadOptions {
            backend: BackendOptions {
                endpoint: Some(mock.base_url()),
                sign_payload,
                ..Default::default()
            },
            ..Default::default()
        };
        mock.clear_requests();
        Uploader::new(MockTokens::new(&mock), opts)
            .upload(vec![UploadItem::new("a.bin", &path)])
            .await
            .unwrap();
        let put = mock
            .requests()
            .into_iter()
            .find(|r| r.method == "PUT")
            .unwrap();
        let sha = put
            .header("x-amz-content-sha256")
            .unwrap_or_default()
            .to_owned();
        if sign_payload {
            use sha2::Digest;
            let want = hex::encode(sha2::Sha256::digest(std::fs::read(&path).unwrap()));
            assert_eq!(sha, want, "the SHA-256 of the body is signed");
        } else {
            assert_eq!(sha, "UNSIGNED-PAYLOAD");
        }
    }
}
