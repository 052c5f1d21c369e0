//! The objects files point at (a file count per object key: the last file's delete frees
//! the object) and the membership of files in resources, with each resource's aggregate.

use uuid::Uuid;

use super::{Account, Agg, Env, FileRec, ObjRef, ObjectKey, bucket_of};
use crate::config::Provider;

impl Account {
    // ---- objects --------------------------------------------------------------------

    /// Records that file `uuid` points at `key`.
    pub(crate) fn hold_object(&mut self, key: &ObjectKey, uuid: Uuid) {
        self.objects
            .entry(key.digest())
            .and_modify(|r| r.count += 1)
            .or_insert(ObjRef {
                first: uuid,
                count: 1,
            });
    }

    /// Forgets that file `uuid` (already out of the file table) pointed at `key`; deletes
    /// the object when no file does.
    pub(crate) fn release_object(
        &mut self,
        key: &ObjectKey,
        uuid: Uuid,
        env: &Env<'_>,
        provider: Provider,
    ) {
        let h = key.digest();
        let Some(r) = self.objects.get_mut(&h) else {
            // A failure is logged, and the object stays, unreferenced, until a reset.
            let _ = env
                .storage
                .delete(bucket_of(provider, env.cfg), &key.full());
            return;
        };
        r.count -= 1;
        if r.count == 0 {
            self.objects.remove(&h);
            // A failure is logged, and the object stays, unreferenced, until a reset.
            let _ = env
                .storage
                .delete(bucket_of(provider, env.cfg), &key.full());
        } else if r.first == uuid {
            // A copy outlives the file the object was first registered with (rare: only
            // `copy` shares objects): find another holder.
            let next = self.files.values().find(|f| f.key == *key).map(|f| f.uuid);
            if let (Some(next), Some(r)) = (next, self.objects.get_mut(&h)) {
                r.first = next;
            }
        }
    }

    /// Whether any file points at the object `key`.
    pub(crate) fn references(&self, key: &str) -> bool {
        self.objects
            .contains_key(&ObjectKey::new(key.into(), "".into()).digest())
    }

    /// The file of `resource` that points at `key`, if any.
    pub(super) fn file_in_resource(&self, key: &ObjectKey, resource: &Uuid) -> Option<Uuid> {
        let r = self.objects.get(&key.digest())?;
        let holds = |f: &FileRec| f.key == *key && f.resources.contains(resource);
        if self.files.get(&r.first).is_some_and(holds) {
            return Some(r.first);
        }
        if r.count == 1 {
            return None;
        }
        // Copies: look among the resource's own files.
        let res = self.resources.get(resource)?;
        res.files
            .iter()
            .filter_map(|p| self.files.at(*p))
            .find(|f| holds(f))
            .map(|f| f.uuid)
    }

    // ---- membership -----------------------------------------------------------------

    /// Adds the file at `pos` to resource `rid` (kept in creation order).
    pub(super) fn link(&mut self, rid: &Uuid, pos: u32) {
        let Some(f) = self.files.at(pos) else { return };
        let fid = f.uuid;
        let Some(r) = self.resources.get_mut(rid) else {
            return;
        };
        if let Err(at) = r.files.binary_search(&pos) {
            r.files.insert(at, pos);
            let f = self.files.at(pos).expect("checked");
            r.agg.add(f);
            if let Some(f) = self.files.get_mut(&fid)
                && !f.resources.contains(rid)
            {
                f.resources.push(*rid);
            }
        }
    }

    /// Removes the file at `pos` from resource `rid`.
    pub(super) fn unlink(&mut self, rid: &Uuid, pos: u32) {
        let Some(r) = self.resources.get_mut(rid) else {
            return;
        };
        let Ok(at) = r.files.binary_search(&pos) else {
            return;
        };
        r.files.remove(at);
        let Some(f) = self.files.at(pos) else { return };
        let (size, position) = (f.size, f.position);
        let r = self.resources.get_mut(rid).expect("checked");
        r.agg.size -= size;
        let on_edge = match (position, r.agg.scope) {
            (Some(p), Some(s)) => {
                p.latitude <= s.min_latitude
                    || p.latitude >= s.max_latitude
                    || p.longitude <= s.min_longitude
                    || p.longitude >= s.max_longitude
            }
            _ => false,
        };
        if on_edge {
            let mut agg = Agg::default();
            let positions =
                std::mem::take(&mut self.resources.get_mut(rid).expect("checked").files);
            for p in &positions {
                if let Some(f) = self.files.at(*p) {
                    agg.add(f);
                }
            }
            let r = self.resources.get_mut(rid).expect("checked");
            r.files = positions;
            r.agg = agg;
        }
        let fid = self.files.at(pos).map(|f| f.uuid);
        if let Some(f) = fid.and_then(|id| self.files.get_mut(&id)) {
            f.resources.retain(|x| x != rid);
        }
    }

    /// Inserts a file row holding its object; returns its position.
    pub(crate) fn insert_file(&mut self, f: FileRec) -> u32 {
        self.hold_object(&f.key, f.uuid);
        self.files.insert(f.uuid, f)
    }

    /// Deletes a file row: out of its resources, its object released.
    pub(super) fn remove_file(&mut self, id: &Uuid, env: &Env<'_>, provider: Provider) {
        let Some(pos) = self.files.position(id) else {
            return;
        };
        let resources = self
            .files
            .get(id)
            .map(|f| f.resources.clone())
            .unwrap_or_default();
        for r in &resources {
            self.unlink(r, pos);
        }
        if let Some(f) = self.files.remove(id) {
            self.release_object(&f.key, f.uuid, env, provider);
        }
    }
}
