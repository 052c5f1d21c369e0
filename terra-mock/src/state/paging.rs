//! Pages of list endpoints: views are built only for the rows on the page; a listing that
//! an index answers alone costs O(rows × log n), one that needs a filter the indexes do
//! not cover scans its candidates (counting them for `total`) but still builds only the
//! page's views.

use std::collections::HashSet;

use terra_types::Page;
use uuid::Uuid;

use super::table::Ranks;
use crate::config::MockConfig;
use crate::error::{ApiError, ApiResult};

/// A validated `page` / `rows` pair.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageReq {
    pub page: u32,
    pub rows: u32,
    pub skip: usize,
}

impl PageReq {
    pub(crate) fn new(page: Option<u32>, rows: Option<u32>, cfg: &MockConfig) -> ApiResult<Self> {
        let page = page.unwrap_or(1);
        if page == 0 {
            return Err(ApiError::invalid("parameter `page` starts at 1"));
        }
        let rows = rows.unwrap_or(cfg.default_rows);
        if rows == 0 {
            return Err(ApiError::invalid("parameter `rows` must be at least 1"));
        }
        let rows = rows.min(cfg.max_rows);
        Ok(Self {
            page,
            rows,
            skip: (page as usize - 1).saturating_mul(rows as usize),
        })
    }

    /// A page from its rows and the number of matching rows.
    pub(crate) fn page<T>(&self, list: Vec<T>, total: usize) -> Page<T> {
        Page {
            list,
            page: self.page,
            rows: self.rows,
            total: total as u64,
        }
    }

    /// A page of an ordered set with no further filter: O(rows × log n).
    pub(crate) fn of_ranks<T>(
        &self,
        ranks: Option<&Ranks>,
        ascending: bool,
        mut view: impl FnMut(u32) -> Option<T>,
    ) -> Page<T> {
        let Some(ranks) = ranks else {
            return self.page(Vec::new(), 0);
        };
        let total = ranks.len();
        let list = (self.skip..total.min(self.skip.saturating_add(self.rows as usize)))
            .filter_map(|k| ranks.nth(k, ascending).and_then(&mut view))
            .collect();
        self.page(list, total)
    }

    /// A page of candidates already in list order (and already filtered): views only for
    /// the page, every candidate counted.
    pub(crate) fn of_iter<I, T, V>(&self, items: I, mut view: V) -> Page<T>
    where
        I: Iterator,
        V: FnMut(I::Item) -> T,
    {
        let mut total = 0usize;
        let mut list = Vec::new();
        for item in items {
            if total >= self.skip && list.len() < self.rows as usize {
                list.push(view(item));
            }
            total += 1;
        }
        self.page(list, total)
    }
}

/// The `uuids` filter: at most 1 000 values; values that are not UUIDs match nothing.
pub(crate) fn uuid_filter(uuids: &[String]) -> ApiResult<Option<HashSet<Uuid>>> {
    if uuids.len() > terra_types::MAX_UUIDS_FILTER {
        return Err(ApiError::invalid(format!(
            "parameter `uuids` accepts at most {} values, got {}",
            terra_types::MAX_UUIDS_FILTER,
            uuids.len()
        )));
    }
    if uuids.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        uuids
            .iter()
            .filter_map(|u| Uuid::parse_str(u).ok())
            .collect(),
    ))
}

/// The `search` filter: a case-insensitive substring of the name (unconfirmed semantics).
#[derive(Debug, Clone)]
pub(crate) struct Search(Option<String>);

impl Search {
    pub(crate) fn new(search: &Option<String>) -> Self {
        Self(
            search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
        )
    }

    pub(crate) fn is_none(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        match &self.0 {
            None => true,
            Some(s) => name.to_lowercase().contains(s.as_str()),
        }
    }
}

/// Positions of the rows named by a `uuids` filter, in list order.
pub(crate) fn positions_of(
    only: &HashSet<Uuid>,
    position: impl Fn(&Uuid) -> Option<u32>,
    ascending: bool,
) -> Vec<u32> {
    let mut v: Vec<u32> = only.iter().filter_map(position).collect();
    v.sort_unstable();
    if !ascending {
        v.reverse();
    }
    v
}
