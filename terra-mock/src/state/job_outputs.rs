//! What a job leaves when it reaches result processing: the output resource and its files.

use std::sync::Arc;
use std::time::SystemTime;

use terra_types::ResourceType;
use uuid::Uuid;

use super::{Account, AccountCell, Env, FileRec, ObjectKey, ResourceRec, bucket_of};
use crate::outputs;

impl Account {
    /// Status 4: the output resource with its files.
    pub(super) fn create_outputs(
        &mut self,
        cell: &AccountCell,
        id: Uuid,
        now: SystemTime,
        env: &Env<'_>,
    ) {
        let bucket = bucket_of(cell.provider, env.cfg).to_owned();
        let (job_type, params, origin, merge_into) = {
            let j = self.jobs.get(&id).expect("advancing job exists");
            let run = j.run.as_ref().expect("started");
            (
                j.job_type,
                run.parameters.to_string(),
                run.origin,
                run.merge_into,
            )
        };
        // The photos' own EXIF places them (as the service reads it), for the first
        // EXIF_READS images; the rest use the position their callback sent.
        const EXIF_READS: usize = 2_000;
        const EXIF_HEAD: usize = 64 << 10;
        let mut exif_reads = 0;
        let (inputs, keys): (Vec<outputs::Input>, Vec<String>) = self
            .resources
            .get(&origin)
            .map(|r| {
                r.files
                    .iter()
                    .filter_map(|p| self.files.at(*p))
                    .map(|f| {
                        let key = f.key.full();
                        let mut position = f.position.map(|p| (p.latitude, p.longitude, None));
                        if terra_types::is_image_name(&f.name) && exif_reads < EXIF_READS {
                            exif_reads += 1;
                            if let Some(Ok(head)) = env.storage.head_bytes(&bucket, &key, EXIF_HEAD)
                                && let Some(g) = terra_types::exif_gps(&head)
                            {
                                position = Some((g.latitude, g.longitude, Some(g.altitude)));
                            }
                        }
                        let input = outputs::Input {
                            name: f.name.to_string(),
                            size: f.size,
                            position,
                        };
                        (input, key)
                    })
                    .unzip()
            })
            .unwrap_or_default();
        let out_id = merge_into.unwrap_or_else(Uuid::new_v4);
        if self.resources.get(&out_id).is_none() {
            let mut r = ResourceRec::new(
                out_id,
                &format!("output of job: {id}"),
                ResourceType::JobOutput,
                "",
                now,
            );
            r.output_jobs.push(id);
            self.insert_resource(r);
        } else if let Some(existing) = self.resources.get_mut(&out_id) {
            existing.output_jobs.push(id);
            existing.updated = now;
        }
        let read = |k: usize| {
            let key = keys.get(k)?;
            env.storage.bytes(&bucket, key)?.ok()
        };
        let files = outputs::generate(
            job_type,
            &params,
            &id.to_string(),
            &inputs,
            &env.cfg.outputs,
            &read,
        );
        let prefix: Arc<str> = format!("{}/outputs/{id}/", cell.id).into();
        for f in files {
            let key = format!("{prefix}{}", f.name);
            let meta =
                match env
                    .storage
                    .put_bytes(&bucket, &key, &f.body, Some(f.content_type), now)
                {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::error!(error = %e, key, "cannot write a job output");
                        continue;
                    }
                };
            let uuid = Uuid::new_v4();
            let pos = self.insert_file(FileRec {
                uuid,
                key: ObjectKey::new(prefix.clone(), f.name.as_str().into()),
                name: f.name.into(),
                size: meta.size,
                checksum: meta.quoted_etag().into(),
                meta: "".into(),
                position: None,
                created: now,
                updated: now,
                resources: Vec::new(),
            });
            self.link(&out_id, pos);
        }
        if let Some(run) = self.jobs.get_mut(&id).and_then(|j| j.run.as_mut()) {
            run.output = Some(out_id);
        }
    }
}
