use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{JobType, ResourceType};

/// The most uuids a list filter accepts (reference §3.1).
pub const MAX_UUIDS_FILTER: usize = 1000;

/// `data` of the list endpoints: one page of items.
///
/// ```
/// let page: terra_types::Page<terra_types::Job> =
///     serde_json::from_str(r#"{"list":[],"page":1,"rows":10,"total":0}"#).unwrap();
/// assert!(page.list.is_empty() && !page.has_next());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Page_{T}"))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Page<T> {
    /// The items of this page.
    #[serde(default = "Vec::new")]
    #[cfg_attr(feature = "schema", schemars(default = "Vec::<T>::new"))]
    pub list: Vec<T>,
    /// Page number, starting at 1.
    #[serde(default)]
    pub page: u32,
    /// Page size.
    #[serde(default)]
    pub rows: u32,
    /// Number of matching records over all pages.
    #[serde(default)]
    pub total: u64,
}

impl<T> Page<T> {
    /// Whether a page after this one exists.
    ///
    /// ```
    /// use terra_types::Page;
    /// let p = |page, n, total| Page { list: vec![0; n], page, rows: 10, total };
    /// assert!(p(1, 10, 25).has_next());
    /// assert!(p(2, 10, 25).has_next());
    /// assert!(!p(3, 5, 25).has_next());
    /// ```
    pub fn has_next(&self) -> bool {
        let seen = u64::from(self.page.max(1)) * u64::from(self.rows);
        self.rows > 0 && !self.list.is_empty() && seen < self.total
    }
}

/// `uuids` travels as one comma-separated query value.
mod comma_list {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.join(","))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect())
    }
}

/// Query of `GET /v2/resources`.
///
/// ```
/// use terra_types::ListResourcesQuery;
/// let q = ListResourcesQuery { page: Some(2), rows: Some(50), ..Default::default() };
/// assert_eq!(serde_urlencoded::to_string(&q).unwrap(), "page=2&rows=50");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ListResourcesQuery {
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    /// Free-text search (semantics unconfirmed; terra-mock matches name substrings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Only these resources (at most 1000).
    #[serde(default, with = "comma_list", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::uuid_list()"))]
    pub uuids: Vec<String>,
    /// Only this type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<ResourceType>,
}

/// Query of `GET /v2/files`.
///
/// ```
/// use terra_types::ListFilesQuery;
/// let q = ListFilesQuery {
///     resource_uuid: Some("r-1".into()),
///     uuids: vec!["f-1".into(), "f-2".into()],
///     rows: Some(100),
///     ..Default::default()
/// };
/// assert_eq!(serde_urlencoded::to_string(&q).unwrap(), "rows=100&uuids=f-1%2Cf-2&resourceUuid=r-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ListFilesQuery {
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    /// Free-text search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Fill `url` in the list items.
    #[serde(rename = "needURL", default, skip_serializing_if = "Option::is_none")]
    pub need_url: Option<bool>,
    /// Exact file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only these files (at most 1000).
    #[serde(default, with = "comma_list", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::uuid_list()"))]
    pub uuids: Vec<String>,
    /// Only files linked to this resource.
    #[serde(
        rename = "resourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_uuid: Option<String>,
    /// Oldest first (the default order is `created_at` descending).
    #[serde(rename = "orderAsc", default, skip_serializing_if = "Option::is_none")]
    pub order_asc: Option<bool>,
}

/// Query of `GET /v2/jobs`.
///
/// ```
/// use terra_types::{JobType, ListJobsQuery};
/// let q = ListJobsQuery { job_type: Some(JobType::Model3d), page: Some(2), ..Default::default() };
/// assert_eq!(serde_urlencoded::to_string(&q).unwrap(), "page=2&type=15");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ListJobsQuery {
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    /// Free-text search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Only these jobs (at most 1000).
    #[serde(default, with = "comma_list", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::uuid_list()"))]
    pub uuids: Vec<String>,
    /// Only this job type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<JobType>,
    /// Only jobs with this input resource.
    #[serde(
        rename = "originResourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub origin_resource_uuid: Option<String>,
    /// Only jobs with this output resource.
    #[serde(
        rename = "outputResourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_resource_uuid: Option<String>,
}

/// What the list queries have in common, so one pager serves all three.
///
/// ```
/// use terra_types::{ListJobsQuery, ListQuery};
/// fn next_page<Q: ListQuery>(mut q: Q) -> Q {
///     let page = q.page().unwrap_or(1);
///     q.set_page(page + 1);
///     q
/// }
/// assert_eq!(next_page(ListJobsQuery::default()).page, Some(2));
/// ```
pub trait ListQuery: Clone + Serialize {
    /// The page number, if set.
    fn page(&self) -> Option<u32>;
    /// Sets the page number.
    fn set_page(&mut self, page: u32);
    /// The page size, if set.
    fn rows(&self) -> Option<u32>;
}

macro_rules! list_query {
    ($($t:ty),*) => {$(
        impl ListQuery for $t {
            fn page(&self) -> Option<u32> { self.page }
            fn set_page(&mut self, page: u32) { self.page = Some(page); }
            fn rows(&self) -> Option<u32> { self.rows }
        }
    )*};
}
list_query!(ListResourcesQuery, ListFilesQuery, ListJobsQuery);
