//! Files: listing, detail (with a download link), update and delete.

use terra_types::{File, ListFilesQuery, Page, UpdateFileRequest};
use uuid::Uuid;

use super::paging::{PageReq, Search, positions_of, uuid_filter};
use super::resources::{UrlFn, check_file_name};
use super::views::file_view;
use super::{Account, AccountCell, Env, FileRec, parse_uuid};
use crate::error::{ApiError, ApiResult};

impl Account {
    pub(super) fn file_uuid(&self, uuid: &str) -> ApiResult<Uuid> {
        let id = parse_uuid(uuid, ApiError::no_file)?;
        self.files.get(&id).ok_or_else(|| ApiError::no_file(uuid))?;
        Ok(id)
    }
    // ---- files ------------------------------------------------------------------------

    pub(crate) fn list_files(
        &self,
        cell: &AccountCell,
        q: &ListFilesQuery,
        env: &Env<'_>,
        url: UrlFn<'_>,
    ) -> ApiResult<Page<File>> {
        let req = PageReq::new(q.page, q.rows, env.cfg)?;
        let only = uuid_filter(&q.uuids)?;
        let search = Search::new(&q.search);
        let asc = q.order_asc.unwrap_or(false);
        let need_url = q.need_url.unwrap_or(false);
        let view = |f: &FileRec| file_view(f, need_url.then(|| url(cell.provider, &f.key.full())));
        let filtered = q.name.is_some() || !search.is_none();
        let keep =
            |f: &&FileRec| q.name.as_ref().is_none_or(|n| *n == *f.name) && search.matches(&f.name);
        let at = |p: u32| self.files.at(p);
        if let Some(r) = &q.resource_uuid {
            let (_, res) = self.resource(r)?;
            let positions: Box<dyn Iterator<Item = &u32>> = if asc {
                Box::new(res.files.iter())
            } else {
                Box::new(res.files.iter().rev())
            };
            if !filtered && only.is_none() {
                // Every row matches: only the page is looked at.
                let list = positions
                    .skip(req.skip)
                    .take(req.rows as usize)
                    .filter_map(|p| at(*p))
                    .map(view)
                    .collect();
                return Ok(req.page(list, res.files.len()));
            }
            let rows = positions
                .filter_map(|p| at(*p))
                .filter(|f| only.as_ref().is_none_or(|s| s.contains(&f.uuid)))
                .filter(keep);
            return Ok(req.of_iter(rows, view));
        }
        if let Some(only) = &only {
            let rows = positions_of(only, |u| self.files.position(u), asc)
                .into_iter()
                .filter_map(at)
                .filter(keep);
            return Ok(req.of_iter(rows, view));
        }
        if !filtered {
            return Ok(req.of_ranks(Some(self.files.ranks()), asc, |p| at(p).map(view)));
        }
        if asc {
            Ok(req.of_iter(self.files.values().filter(keep), view))
        } else {
            Ok(req.of_iter(self.files.values().rev().filter(keep), view))
        }
    }

    pub(crate) fn file_detail(
        &self,
        cell: &AccountCell,
        uuid: &str,
        url: UrlFn<'_>,
    ) -> ApiResult<File> {
        let id = self.file_uuid(uuid)?;
        let f = self.files.get(&id).expect("checked");
        Ok(file_view(f, Some(url(cell.provider, &f.key.full()))))
    }

    fn file_locked(&self, id: &Uuid) -> bool {
        self.files.get(id).is_some_and(|f| {
            f.resources
                .iter()
                .any(|r| self.resources.get(r).is_some_and(|r| !r.revisable))
        })
    }

    pub(crate) fn update_file(
        &mut self,
        uuid: &str,
        req: UpdateFileRequest,
        env: &Env<'_>,
    ) -> ApiResult<File> {
        let id = self.file_uuid(uuid)?;
        if self.file_locked(&id) {
            return Err(ApiError::not_allowed(format!(
                "file {uuid} belongs to a resource that is not revisable"
            )));
        }
        if let Some(name) = &req.name {
            check_file_name(name, 0).map_err(|why| {
                ApiError::invalid(format!(
                    "parameter `name` {why}: give a relative name with `/` separators"
                ))
            })?;
        }
        let pos = self.files.position(&id).expect("checked");
        let resources = self
            .files
            .get(&id)
            .map(|f| f.resources.clone())
            .unwrap_or_default();
        if req.position.is_some() {
            for r in &resources {
                self.unlink(r, pos);
            }
        }
        let f = self.files.get_mut(&id).expect("checked");
        if let Some(name) = req.name {
            f.name = name.into();
        }
        if let Some(meta) = req.meta {
            f.meta = meta.into();
        }
        if let Some(p) = req.position {
            f.position = Some(p);
        }
        f.updated = env.now;
        if req.position.is_some() {
            for r in &resources {
                self.link(r, pos);
            }
        }
        Ok(file_view(self.files.get(&id).expect("checked"), None))
    }

    pub(crate) fn delete_file(
        &mut self,
        cell: &AccountCell,
        uuid: &str,
        env: &Env<'_>,
    ) -> ApiResult<()> {
        let id = self.file_uuid(uuid)?;
        if self.file_locked(&id) {
            return Err(ApiError::not_allowed(format!(
                "file {uuid} belongs to a resource that is not revisable"
            )));
        }
        self.remove_file(&id, env, cell.provider);
        self.compact_if_sparse();
        Ok(())
    }
}
