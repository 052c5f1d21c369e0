//! Pages of a bucket: objects in key order, common prefixes with a delimiter.

use std::ops::Bound;

use super::{BlobStore, ObjectMeta};

/// One page of a bucket listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    pub objects: Vec<(String, ObjectMeta)>,
    /// Common prefixes (with a delimiter).
    pub prefixes: Vec<String>,
    /// More follow.
    pub truncated: bool,
    /// The last key or prefix shown, where the next page starts (when truncated).
    pub next: Option<String>,
}

impl BlobStore {
    /// Up to `limit` objects of `bucket` whose key starts with `prefix` and comes after
    /// `after`, in key order: O(log n + limit).
    pub(crate) fn list(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Vec<(String, ObjectMeta)> {
        let inner = self.lock();
        let Some(objects) = inner.buckets.get(bucket) else {
            return Vec::new();
        };
        let start = if !after.is_empty() && after >= prefix {
            Bound::Excluded(after.to_owned())
        } else {
            Bound::Included(prefix.to_owned())
        };
        objects
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect()
    }

    /// One page of a listing: up to `max` objects and common prefixes (with a delimiter)
    /// of `bucket` under `prefix` after `after`, in key order, and where the next page
    /// starts if there is one. Costs O(log n + what the page skips and shows).
    pub(crate) fn page(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        max: usize,
        delimiter: Option<&str>,
    ) -> ListPage {
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut page = ListPage::default();
        let mut after = after.to_owned();
        let shown = |p: &ListPage| p.objects.len() + p.prefixes.len();
        'outer: loop {
            let batch = self.list(bucket, prefix, &after, 256);
            if batch.is_empty() {
                break;
            }
            for (key, meta) in batch {
                after.clone_from(&key);
                let common = delimiter.and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|p| prefix.len() + p + d.len())
                });
                if let Some(end) = common {
                    let cp = key[..end].to_owned();
                    if page.prefixes.last() == Some(&cp) {
                        continue;
                    }
                    if shown(&page) >= max {
                        page.truncated = true;
                        break 'outer;
                    }
                    // Skip every key under this common prefix.
                    after = format!("{cp}\u{10FFFF}");
                    page.next = Some(cp.clone());
                    page.prefixes.push(cp);
                    continue 'outer;
                }
                if shown(&page) >= max {
                    page.truncated = true;
                    break 'outer;
                }
                page.next = Some(key.clone());
                page.objects.push((key, meta));
            }
        }
        if !page.truncated {
            page.next = None;
        }
        page
    }

    /// Every key under `prefix` (cleanup of expired upload prefixes).
    pub(crate) fn keys_under(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.list(bucket, prefix, "", usize::MAX)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }
}
