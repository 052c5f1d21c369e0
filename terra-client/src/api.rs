//! Every endpoint of the reference §3, typed with terra-types.

use std::sync::Mutex;

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use terra_types::{
    CallbackFile, CreateJobRequest, CreateResourceRequest, Created, DeleteMode, File,
    FileOperationRequest, Job, JobStatus, ListFilesQuery, ListJobsQuery, ListQuery,
    ListResourcesQuery, Page, Resource, ResourceDetail, StartJobRequest, StsToken,
    UpdateFileRequest, UpdateRequest, UploadCallbackRequest,
};

use crate::client::{Call, CheckFuture, Retry, TerraClient};
use crate::error::{Error, ErrorKind, Result};

/// The key of the request marker in `meta` (see "Retries" in the crate documentation).
pub const MARKER_KEY: &str = "terra-rs-request";

/// Adds a marker to `meta` when it is absent or a JSON object; returns the new meta and
/// the marker, or the meta unchanged and `None` when it cannot carry one.
fn mark(meta: Option<String>) -> (Option<String>, Option<String>) {
    let id = uuid::Uuid::new_v4().to_string();
    match meta {
        None => (
            Some(serde_json::json!({ MARKER_KEY: id }).to_string()),
            Some(id),
        ),
        Some(m) => match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&m) {
            Ok(mut obj) => {
                obj.insert(MARKER_KEY.to_owned(), serde_json::Value::String(id.clone()));
                (Some(serde_json::Value::Object(obj).to_string()), Some(id))
            }
            Err(_) => (Some(m), None),
        },
    }
}

fn missing(what: &str) -> Error {
    Error::decode(format!("the response has no `data` ({what} expected)"))
}

fn id(uuid: &str) -> Result<&str> {
    if uuid.is_empty() || uuid.contains(['/', '?', '#', '%']) {
        return Err(Error::new(
            ErrorKind::InvalidParameter,
            format!("{uuid:?} is not a TerraAPI uuid"),
        ));
    }
    Ok(uuid)
}

/// Rows the service creates and lists (resources, jobs): a create whose answer was lost is
/// found again by a marker in `meta`, so a retry never makes a second one.
pub(crate) trait Marked: DeserializeOwned + serde::Serialize + Send {
    /// The path that lists and creates them.
    const PATH: &'static str;
    /// What an error calls one.
    const WHAT: &'static str;
    /// The list query for the newest 100.
    type Query: ListQuery + Sync + Send;
    fn newest() -> Self::Query;
    fn meta(&self) -> &str;
}

impl Marked for Resource {
    const PATH: &'static str = "/v2/resources";
    const WHAT: &'static str = "a resource";
    type Query = ListResourcesQuery;
    fn newest() -> ListResourcesQuery {
        ListResourcesQuery {
            rows: Some(100),
            ..Default::default()
        }
    }
    fn meta(&self) -> &str {
        &self.meta
    }
}

impl Marked for Job {
    const PATH: &'static str = "/v2/jobs";
    const WHAT: &'static str = "a job";
    type Query = ListJobsQuery;
    fn newest() -> ListJobsQuery {
        ListJobsQuery {
            rows: Some(100),
            ..Default::default()
        }
    }
    fn meta(&self) -> &str {
        &self.meta
    }
}

impl TerraClient {
    /// The newest row (among 100) whose `meta` holds `marker`: a create that landed.
    pub(crate) async fn find_marked<T: Marked>(&self, marker: &str) -> Result<Option<T>> {
        let page: Page<T> = self.list(T::PATH, &T::newest()).await?;
        Ok(page.list.into_iter().find(|r| r.meta().contains(marker)))
    }

    /// `meta` with this client's request marker added (when markers are on and `meta`
    /// can carry one), and the marker.
    fn marked_meta(&self, meta: Option<String>) -> (Option<String>, Option<String>) {
        if self.inner.create_markers {
            mark(meta)
        } else {
            (meta, None)
        }
    }

    /// POSTs `body` to `T::PATH` once, asking for the detail: a retry after an attempt
    /// that may have landed first looks for `marker`; without a marker only attempts that
    /// were never sent are retried.
    async fn create_once<T: Marked, B: serde::Serialize + Sync>(
        &self,
        body: &B,
        marker: Option<&str>,
    ) -> Result<serde_json::Value> {
        let make = || Call::new(Method::POST, T::PATH).detail().json(body);
        let value = match marker {
            Some(m) => {
                let check = || -> CheckFuture<'_, serde_json::Value> {
                    Box::pin(async move {
                        Ok(self
                            .find_marked::<T>(m)
                            .await?
                            .map(|r| serde_json::to_value(r).expect("a listed row is JSON")))
                    })
                };
                self.inner.run(&make, Retry::Checked(&check), false).await?
            }
            None => self.inner.run(&make, Retry::OnlyIfNotSent, false).await?,
        };
        value.ok_or_else(|| missing(T::WHAT))
    }
}

impl TerraClient {
    async fn get<T: DeserializeOwned>(&self, path: String, what: &str) -> Result<T> {
        let make = || Ok(Call::new(Method::GET, path.clone()));
        self.inner
            .run(&make, Retry::Idempotent, false)
            .await?
            .ok_or_else(|| missing(what))
    }

    async fn list<Q: ListQuery + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        q: &Q,
    ) -> Result<Page<T>> {
        let make = || Call::new(Method::GET, path).query(q);
        self.inner
            .run(&make, Retry::Idempotent, false)
            .await?
            .ok_or_else(|| missing("a page"))
    }

    /// All items of a list, page after page, as a stream.
    fn stream<Q, T>(
        &self,
        path: &'static str,
        query: Q,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        Q: ListQuery + Send + Sync + 'static,
        T: DeserializeOwned + Send + 'static,
    {
        let start = query.page().unwrap_or(1);
        let client = self.clone();
        futures::stream::try_unfold(Some((client, query, start)), move |state| async move {
            let Some((client, mut q, page)) = state else {
                return Ok::<_, Error>(None);
            };
            q.set_page(page);
            let p: Page<T> = client.list(path, &q).await?;
            let next = p.has_next().then_some((client, q, page + 1));
            Ok(Some((
                futures::stream::iter(p.list.into_iter().map(Ok)),
                next,
            )))
        })
        .try_flatten()
    }

    /// A PUT returning the updated object (full object with `Return-Detail`, else GET).
    async fn update<B: serde::Serialize + Sync>(
        &self,
        path: String,
        body: &B,
        what: &str,
    ) -> Result<serde_json::Value> {
        let make = || Call::new(Method::PUT, path.clone()).detail().json(body);
        self.inner
            .run::<serde_json::Value>(&make, Retry::Idempotent, false)
            .await?
            .ok_or_else(|| missing(what))
    }

    async fn delete(&self, path: String, query: Option<String>) -> Result<()> {
        let make = || {
            let mut c = Call::new(Method::DELETE, path.clone());
            c.query = query.clone();
            Ok(c)
        };
        self.inner
            .run::<serde_json::Value>(&make, Retry::Idempotent, true)
            .await
            .map(drop)
    }

    // ---- store ----------------------------------------------------------------------------

    /// `POST /v2/store/obtain_token`: temporary credentials for DJI's bucket. Each call
    /// issues a new session with its own `storePath` and `callbackParam`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// let token = client.obtain_token().await?;
    /// // Objects go under `store_path` with `{fileName}` replaced, then `upload_callback`.
    /// assert!(token.object_key("DJI_0001.JPG").ends_with("DJI_0001.JPG"));
    /// # Ok(()) }
    /// ```
    pub async fn obtain_token(&self) -> Result<StsToken> {
        let make = || Ok(Call::new(Method::POST, "/v2/store/obtain_token"));
        self.inner
            .run(&make, Retry::Idempotent, false)
            .await?
            .ok_or_else(|| missing("an STS token"))
    }

    /// `POST /v2/store/upload_callback`: registers uploaded objects as files of a
    /// resource (at most 50 per call by default on the service side; see
    /// [`terra_types::limits::CALLBACK_BATCH`]). After an ambiguous failure the resource's
    /// files are checked and only the files not yet registered are sent again, so no file
    /// is registered twice.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// use terra_types::{CallbackFile, CreateResourceRequest, UploadCallbackRequest};
    /// let token = client.obtain_token().await?;
    /// // ... upload DJI_0001.JPG with the token (terra-store does this), keeping its ETag ...
    /// # let etag = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?.etag;
    /// let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// let files = client
    ///     .upload_callback(&UploadCallbackRequest {
    ///         callback_param: token.callback_param.clone(),
    ///         resource_uuid: resource.uuid.clone(),
    ///         files: vec![CallbackFile::new("DJI_0001.JPG", etag)],
    ///     })
    ///     .await?;
    /// assert_eq!(files[0].name, "DJI_0001.JPG");
    /// # Ok(()) }
    /// ```
    pub async fn upload_callback(&self, req: &UploadCallbackRequest) -> Result<Vec<File>> {
        let state = Mutex::new((req.files.clone(), Vec::<File>::new()));
        let make = || {
            let pending = state.lock().expect("callback state").0.clone();
            let body = UploadCallbackRequest {
                callback_param: req.callback_param.clone(),
                resource_uuid: req.resource_uuid.clone(),
                files: pending,
            };
            Call::new(Method::POST, "/v2/store/upload_callback").json(&body)
        };
        let check = || -> CheckFuture<'_, Vec<File>> {
            Box::pin(async {
                let registered: Vec<File> = self
                    .files(ListFilesQuery {
                        resource_uuid: Some(req.resource_uuid.clone()),
                        rows: Some(1000),
                        ..Default::default()
                    })
                    .try_collect()
                    .await?;
                let mut s = state.lock().expect("callback state");
                let (pending, done) = &mut *s;
                let mut still = Vec::new();
                for f in pending.drain(..) {
                    match registered.iter().find(|r| {
                        r.name == f.name
                            && terra_types::etag_eq(&r.checksum, &f.checksum)
                            && !done.iter().any(|d: &File| d.uuid == r.uuid)
                    }) {
                        Some(r) => done.push(r.clone()),
                        None => still.push(f),
                    }
                }
                *pending = still;
                Ok(pending.is_empty().then(Vec::new))
            })
        };
        let last = self
            .inner
            .run(&make, Retry::Checked(&check), false)
            .await?
            .unwrap_or_default();
        let mut done = state.into_inner().expect("callback state").1;
        done.extend(last);
        Ok(done)
    }

    // ---- resources ------------------------------------------------------------------------

    /// `POST /v2/resources` with `Return-Detail: true`. Never duplicated by a retry: see
    /// "Retries" in the crate documentation.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// use terra_types::CreateResourceRequest;
    /// let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// assert_eq!(resource.name, "survey");
    /// # Ok(()) }
    /// ```
    pub async fn create_resource(&self, req: &CreateResourceRequest) -> Result<Resource> {
        let (meta, marker) = self.marked_meta(req.meta.clone());
        let body = CreateResourceRequest {
            meta,
            ..req.clone()
        };
        let created = self
            .create_once::<Resource, _>(&body, marker.as_deref())
            .await?;
        self.resource_from(created).await
    }

    /// A full resource from a create/update answer, fetching it when the service only
    /// sent `{uuid}`.
    async fn resource_from(&self, v: serde_json::Value) -> Result<Resource> {
        if v.get("type").is_some() {
            return serde_path_to_error::deserialize(v).map_err(|e| {
                Error::decode(format!("cannot decode `data.{}`: {}", e.path(), e.inner()))
            });
        }
        let created: Created = serde_json::from_value(v)
            .map_err(|e| Error::decode(format!("cannot decode `data`: {e}")))?;
        Ok(self.get_resource(&created.uuid).await?.summary)
    }

    /// `GET /v2/resources`: one page.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// use terra_types::ListResourcesQuery;
    /// let page = client.list_resources(&ListResourcesQuery::default()).await?;
    /// assert!(page.list.iter().any(|r| r.name == "survey"));
    /// # Ok(()) }
    /// ```
    pub async fn list_resources(&self, q: &ListResourcesQuery) -> Result<Page<Resource>> {
        self.list("/v2/resources", q).await
    }

    /// Every resource matching `q`, from `q.page` (default 1) on, as a stream.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// use futures::TryStreamExt;
    /// let all: Vec<_> = client.resources(Default::default()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn resources(
        &self,
        q: ListResourcesQuery,
    ) -> impl Stream<Item = Result<Resource>> + Send + 'static {
        self.stream("/v2/resources", q)
    }

    /// `GET /v2/resources/{uuid}`: the summary plus `fileUuids` and the job links.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// let detail = client.get_resource(&resource.uuid).await?;
    /// assert_eq!(detail.summary.uuid, resource.uuid);
    /// assert!(detail.file_uuids.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn get_resource(&self, uuid: &str) -> Result<ResourceDetail> {
        self.get(format!("/v2/resources/{}", id(uuid)?), "a resource detail")
            .await
    }

    /// `PUT /v2/resources/{uuid}` (**unconfirmed body**: name and meta).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// use terra_types::UpdateRequest;
    /// let renamed = client
    ///     .update_resource(&resource.uuid, &UpdateRequest { name: Some("survey, day 2".into()), meta: None })
    ///     .await?;
    /// assert_eq!(renamed.name, "survey, day 2");
    /// # Ok(()) }
    /// ```
    pub async fn update_resource(&self, uuid: &str, req: &UpdateRequest) -> Result<Resource> {
        let v = self
            .update(format!("/v2/resources/{}", id(uuid)?), req, "a resource")
            .await?;
        self.resource_from(v).await
    }

    /// `DELETE /v2/resources/{uuid}?deleteMode=0|1`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// use terra_types::DeleteMode;
    /// client.delete_resource(&resource.uuid, DeleteMode::ResourceOnly).await?;
    /// assert!(client.get_resource(&resource.uuid).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn delete_resource(&self, uuid: &str, mode: DeleteMode) -> Result<()> {
        self.delete(
            format!("/v2/resources/{}", id(uuid)?),
            Some(format!("deleteMode={}", mode.as_str())),
        )
        .await
    }

    /// `POST /v2/resources/{uuid}/copy` (**unconfirmed body**). Retried only when the
    /// request surely did not reach the service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// use terra_types::UpdateRequest;
    /// let copy = client
    ///     .copy_resource(&resource.uuid, &UpdateRequest { name: Some("copy".into()), meta: None })
    ///     .await?;
    /// assert_ne!(copy.uuid, resource.uuid);
    /// # Ok(()) }
    /// ```
    pub async fn copy_resource(&self, uuid: &str, req: &UpdateRequest) -> Result<Resource> {
        let path = format!("/v2/resources/{}/copy", id(uuid)?);
        let make = || Call::new(Method::POST, path.clone()).detail().json(req);
        let v = self
            .inner
            .run::<serde_json::Value>(&make, Retry::OnlyIfNotSent, false)
            .await?
            .ok_or_else(|| missing("a resource"))?;
        self.resource_from(v).await
    }

    /// `POST /v2/resources/{uuid}/file_operation` (**unconfirmed body**). Retried only
    /// when the request surely did not reach the service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// use terra_types::FileOperationRequest;
    /// let other = client.create_resource(&CreateResourceRequest::map("subset")).await?;
    /// let op = FileOperationRequest { add_file_uuids: vec![file.uuid.clone()], ..Default::default() };
    /// let other = client.file_operation(&other.uuid, &op).await?;
    /// assert_eq!(other.file_count, 1);
    /// # Ok(()) }
    /// ```
    pub async fn file_operation(&self, uuid: &str, req: &FileOperationRequest) -> Result<Resource> {
        let path = format!("/v2/resources/{}/file_operation", id(uuid)?);
        let make = || Call::new(Method::POST, path.clone()).json(req);
        let v = self
            .inner
            .run::<serde_json::Value>(&make, Retry::OnlyIfNotSent, false)
            .await?
            .ok_or_else(|| missing("a resource"))?;
        self.resource_from(v).await
    }

    // ---- files ----------------------------------------------------------------------------

    /// `GET /v2/files`: one page.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// use terra_types::ListFilesQuery;
    /// let q = ListFilesQuery { resource_uuid: Some(resource.uuid.clone()), ..Default::default() };
    /// let page = client.list_files(&q).await?;
    /// assert_eq!(page.list[0].name, "DJI_0001.JPG");
    /// # Ok(()) }
    /// ```
    pub async fn list_files(&self, q: &ListFilesQuery) -> Result<Page<File>> {
        self.list("/v2/files", q).await
    }

    /// Every file matching `q` as a stream (e.g. all files of a resource).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// use futures::TryStreamExt;
    /// use terra_types::ListFilesQuery;
    /// let q = ListFilesQuery { resource_uuid: Some(resource.uuid.clone()), ..Default::default() };
    /// let all: Vec<_> = client.files(q).try_collect().await?;
    /// assert_eq!(all.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn files(&self, q: ListFilesQuery) -> impl Stream<Item = Result<File>> + Send + 'static {
        self.stream("/v2/files", q)
    }

    /// `GET /v2/files/{uuid}`: with a fresh download `url`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// let file = client.get_file(&file.uuid).await?;
    /// assert!(file.url.is_some(), "a presigned download link");
    /// # Ok(()) }
    /// ```
    pub async fn get_file(&self, uuid: &str) -> Result<File> {
        self.get(format!("/v2/files/{}", id(uuid)?), "a file").await
    }

    /// `PUT /v2/files/{uuid}` (**unconfirmed body**: name, meta, position).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// use terra_types::UpdateFileRequest;
    /// let req = UpdateFileRequest { meta: Some("checked".into()), ..Default::default() };
    /// let file = client.update_file(&file.uuid, &req).await?;
    /// assert_eq!(file.meta, "checked");
    /// # Ok(()) }
    /// ```
    pub async fn update_file(&self, uuid: &str, req: &UpdateFileRequest) -> Result<File> {
        let v = self
            .update(format!("/v2/files/{}", id(uuid)?), req, "a file")
            .await?;
        if v.get("name").is_some() {
            return serde_json::from_value(v)
                .map_err(|e| Error::decode(format!("cannot decode `data`: {e}")));
        }
        self.get_file(uuid).await
    }

    /// `DELETE /v2/files/{uuid}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let put = mock.put_object(&token, "DJI_0001.JPG", b"photo bytes")?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let file = client.upload_callback(&UploadCallbackRequest {
    /// #     callback_param: token.callback_param.clone(),
    /// #     resource_uuid: resource.uuid.clone(),
    /// #     files: vec![CallbackFile::new("DJI_0001.JPG", put.etag)],
    /// # }).await?.remove(0);
    /// client.delete_file(&file.uuid).await?;
    /// assert!(client.get_file(&file.uuid).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn delete_file(&self, uuid: &str) -> Result<()> {
        self.delete(format!("/v2/files/{}", id(uuid)?), None).await
    }

    // ---- jobs -----------------------------------------------------------------------------

    /// `POST /v2/jobs` with `Return-Detail: true`. Never duplicated by a retry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// use terra_types::CreateJobRequest;
    /// let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// assert_eq!(job.name, "survey 2D");
    /// # Ok(()) }
    /// ```
    pub async fn create_job(&self, req: &CreateJobRequest) -> Result<Job> {
        let (meta, marker) = self.marked_meta(req.meta.clone());
        let body = CreateJobRequest {
            meta,
            ..req.clone()
        };
        let created = self.create_once::<Job, _>(&body, marker.as_deref()).await?;
        self.job_from(created).await
    }

    async fn job_from(&self, v: serde_json::Value) -> Result<Job> {
        if v.get("status").is_some() {
            return serde_path_to_error::deserialize(v).map_err(|e| {
                Error::decode(format!("cannot decode `data.{}`: {}", e.path(), e.inner()))
            });
        }
        let created: Created = serde_json::from_value(v)
            .map_err(|e| Error::decode(format!("cannot decode `data`: {e}")))?;
        self.get_job(&created.uuid).await
    }

    /// `GET /v2/jobs`: one page.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use terra_types::ListJobsQuery;
    /// let page = client.list_jobs(&ListJobsQuery::default()).await?;
    /// assert_eq!(page.list[0].uuid, job.uuid);
    /// # Ok(()) }
    /// ```
    pub async fn list_jobs(&self, q: &ListJobsQuery) -> Result<Page<Job>> {
        self.list("/v2/jobs", q).await
    }

    /// Every job matching `q` as a stream.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use futures::TryStreamExt;
    /// let all: Vec<_> = client.jobs(Default::default()).try_collect().await?;
    /// assert_eq!(all.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn jobs(&self, q: ListJobsQuery) -> impl Stream<Item = Result<Job>> + Send + 'static {
        self.stream("/v2/jobs", q)
    }

    /// `GET /v2/jobs/{uuid}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// let job = client.get_job(&job.uuid).await?;
    /// assert_eq!(job.status, terra_types::JobStatus::Created);
    /// # Ok(()) }
    /// ```
    pub async fn get_job(&self, uuid: &str) -> Result<Job> {
        self.get(format!("/v2/jobs/{}", id(uuid)?), "a job").await
    }

    /// `PUT /v2/jobs/{uuid}` (**unconfirmed body**: name and meta).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use terra_types::UpdateRequest;
    /// let req = UpdateRequest { name: Some("survey 2D, north".into()), meta: None };
    /// let job = client.update_job(&job.uuid, &req).await?;
    /// assert_eq!(job.name, "survey 2D, north");
    /// # Ok(()) }
    /// ```
    pub async fn update_job(&self, uuid: &str, req: &UpdateRequest) -> Result<Job> {
        let v = self
            .update(format!("/v2/jobs/{}", id(uuid)?), req, "a job")
            .await?;
        self.job_from(v).await
    }

    /// `DELETE /v2/jobs/{uuid}` (refused while the job runs).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// client.delete_job(&job.uuid).await?;
    /// assert!(client.get_job(&job.uuid).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn delete_job(&self, uuid: &str) -> Result<()> {
        self.delete(format!("/v2/jobs/{}", id(uuid)?), None).await
    }

    /// `POST /v2/jobs/{uuid}/start`, then `GET` of the job (the reference leaves the
    /// start answer's `data` unconfirmed). After an ambiguous failure the job is read: if
    /// it has started with these parameters, that counts as done.
    ///
    /// Build `req` with [`StartJobRequest::new`], which validates the parameters first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let mut files = Vec::new();
    /// # for i in 0..10 {
    /// #     let name = format!("DJI_{i:04}.JPG");
    /// #     let put = mock.put_object(&token, &name, b"photo bytes")?;
    /// #     files.push(CallbackFile::new(name, put.etag));
    /// # }
    /// # let callback_param = token.callback_param.clone();
    /// # let resource_uuid = resource.uuid.clone();
    /// # client.upload_callback(&UploadCallbackRequest { callback_param, resource_uuid, files }).await?;
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use terra_types::{JobParameters, Map2dParams, StartJobRequest};
    /// let params = JobParameters::new(Map2dParams::default());
    /// let job = client.start_job(&job.uuid, &StartJobRequest::new(&resource.uuid, &params)?).await?;
    /// assert_ne!(job.status, terra_types::JobStatus::Created);
    /// # Ok(()) }
    /// ```
    pub async fn start_job(&self, uuid: &str, req: &StartJobRequest) -> Result<Job> {
        let path = format!("/v2/jobs/{}/start", id(uuid)?);
        let make = || Call::new(Method::POST, path.clone()).json(req);
        let check = || -> CheckFuture<'_, serde_json::Value> {
            Box::pin(async move {
                let job = self.get_job(uuid).await?;
                Ok((job.status != JobStatus::Created
                    && job.parameters.as_deref() == Some(req.parameters.as_str()))
                .then_some(serde_json::Value::Null))
            })
        };
        self.inner
            .run::<serde_json::Value>(&make, Retry::Checked(&check), false)
            .await?;
        self.get_job(uuid).await
    }

    /// `POST /v2/jobs/{uuid}/stop` (only while status < 4), then `GET` of the job.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let token = client.obtain_token().await?;
    /// # let resource = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// # let mut files = Vec::new();
    /// # for i in 0..10 {
    /// #     let name = format!("DJI_{i:04}.JPG");
    /// #     let put = mock.put_object(&token, &name, b"photo bytes")?;
    /// #     files.push(CallbackFile::new(name, put.etag));
    /// # }
    /// # let callback_param = token.callback_param.clone();
    /// # let resource_uuid = resource.uuid.clone();
    /// # client.upload_callback(&UploadCallbackRequest { callback_param, resource_uuid, files }).await?;
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use terra_types::{JobParameters, JobStatus, Map2dParams, StartJobRequest};
    /// let start = StartJobRequest::new(&resource.uuid, &JobParameters::new(Map2dParams::default()))?;
    /// client.start_job(&job.uuid, &start).await?;
    /// let job = client.stop_job(&job.uuid).await?;
    /// assert_eq!(job.status, JobStatus::Stopped);
    /// # Ok(()) }
    /// ```
    pub async fn stop_job(&self, uuid: &str) -> Result<Job> {
        let path = format!("/v2/jobs/{}/stop", id(uuid)?);
        let make = || Ok(Call::new(Method::POST, path.clone()));
        let check = || -> CheckFuture<'_, serde_json::Value> {
            Box::pin(async move {
                Ok((self.get_job(uuid).await?.status == JobStatus::Stopped)
                    .then_some(serde_json::Value::Null))
            })
        };
        self.inner
            .run::<serde_json::Value>(&make, Retry::Checked(&check), false)
            .await?;
        self.get_job(uuid).await
    }

    /// `POST /v2/jobs/{uuid}/copy` (**unconfirmed body**). Retried only when the request
    /// surely did not reach the service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_types::{CallbackFile, CreateJobRequest, CreateResourceRequest, UploadCallbackRequest};
    /// # let job = client.create_job(&CreateJobRequest::named("survey 2D")).await?;
    /// use terra_types::UpdateRequest;
    /// let copy = client.copy_job(&job.uuid, &UpdateRequest { name: Some("again".into()), meta: None }).await?;
    /// assert_ne!(copy.uuid, job.uuid);
    /// # Ok(()) }
    /// ```
    pub async fn copy_job(&self, uuid: &str, req: &UpdateRequest) -> Result<Job> {
        let path = format!("/v2/jobs/{}/copy", id(uuid)?);
        let make = || Call::new(Method::POST, path.clone()).detail().json(req);
        let v = self
            .inner
            .run::<serde_json::Value>(&make, Retry::OnlyIfNotSent, false)
            .await?
            .ok_or_else(|| missing("a job"))?;
        self.job_from(v).await
    }
}

/// Splits files into callback batches of at most `batch` files.
///
/// ```
/// use terra_types::CallbackFile;
/// let files: Vec<_> = (0..120).map(|i| CallbackFile::new(format!("DJI_{i:04}.JPG"), "etag")).collect();
/// let batches = terra_client::callback_batches(files, 50);
/// assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
/// ```
pub fn callback_batches(files: Vec<CallbackFile>, batch: usize) -> Vec<Vec<CallbackFile>> {
    let mut out = Vec::new();
    let mut it = files.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(batch.max(1)).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_go_into_absent_or_object_meta_only() {
        let (m, id) = mark(None);
        assert!(m.unwrap().contains(&id.unwrap()));
        let (m, id) = mark(Some(r#"{"site":"A"}"#.into()));
        let v: serde_json::Value = serde_json::from_str(&m.unwrap()).unwrap();
        assert_eq!(
            (v["site"].as_str(), v[MARKER_KEY].as_str()),
            (Some("A"), id.as_deref())
        );
        assert_eq!(
            mark(Some("plain text".into())),
            (Some("plain text".into()), None)
        );
    }

    #[test]
    fn batches() {
        let files: Vec<CallbackFile> = (0..120)
            .map(|i| CallbackFile::new(format!("{i}.jpg"), "e"))
            .collect();
        let b = callback_batches(files, 50);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    }
}
