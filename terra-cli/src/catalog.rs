//! `terra resources` and `terra files`, and the listing every list command shares.

use futures::TryStreamExt;
use serde::Serialize;
use terra_types::*;

use crate::args::{Cli, FilesCmd, PageArgs, ResourcesCmd};
use crate::{Outcome, client, print_json};

/// `terra resources ...`.
pub(crate) async fn resources(cli: &Cli, r: &ResourcesCmd) -> Outcome {
    let c = client(cli)?;
    match r {
        ResourcesCmd::List { page, kind } => {
            let (p, rows, search) = page_query(page);
            let q = ListResourcesQuery {
                page: p,
                rows,
                search,
                resource_type: kind.as_deref().map(ResourceType::parse),
                ..Default::default()
            };
            list(
                cli.json,
                page.all,
                c.list_resources(&q),
                c.resources(q.clone()),
                |r: &Resource| {
                    format!(
                        "{}  {:<10}  {:>6} files  {}",
                        r.uuid, r.resource_type, r.file_count, r.name
                    )
                },
            )
            .await
        }
        ResourcesCmd::Show { uuid } => {
            let d = c.get_resource(uuid).await?;
            if cli.json {
                print_json(&d);
            } else {
                let s = &d.summary;
                out!(
                    "{}  {}  ({}, {} files, {} bytes, revisable: {})",
                    s.uuid,
                    s.name,
                    s.resource_type,
                    s.file_count,
                    s.total_size,
                    s.revisable
                );
                for f in &d.file_uuids {
                    out!("  file {f}");
                }
                for j in d.input_job_uuids.iter().chain(&d.output_job_uuids) {
                    out!("  job  {j}");
                }
            }
            Ok(())
        }
        ResourcesCmd::Create { name, meta } => {
            let r = c
                .create_resource(&CreateResourceRequest {
                    meta: meta.clone(),
                    ..CreateResourceRequest::map(name)
                })
                .await?;
            if cli.json {
                print_json(&r)
            } else {
                out!("{}", r.uuid)
            }
            Ok(())
        }
        ResourcesCmd::Delete { uuid, with_files } => {
            c.delete_resource(
                uuid,
                if *with_files {
                    DeleteMode::WithFiles
                } else {
                    DeleteMode::ResourceOnly
                },
            )
            .await?;
            if !cli.json {
                out!("deleted {uuid}");
            }
            Ok(())
        }
    }
}

/// `terra files ...`.
pub(crate) async fn files(cli: &Cli, f: &FilesCmd) -> Outcome {
    let c = client(cli)?;
    match f {
        FilesCmd::List {
            page,
            resource,
            name,
        } => {
            let (p, rows, search) = page_query(page);
            let q = ListFilesQuery {
                page: p,
                rows,
                search,
                resource_uuid: resource.clone(),
                name: name.clone(),
                order_asc: Some(true),
                ..Default::default()
            };
            list(
                cli.json,
                page.all,
                c.list_files(&q),
                c.files(q.clone()),
                |f: &File| format!("{}  {:>12}  {}", f.uuid, f.size, f.name),
            )
            .await
        }
        FilesCmd::Show { uuid } => {
            let file = c.get_file(uuid).await?;
            if cli.json {
                print_json(&file)
            } else {
                out!(
                    "{}  {} bytes  {}\n{}",
                    file.uuid,
                    file.size,
                    file.name,
                    file.url.unwrap_or_default()
                )
            }
            Ok(())
        }
        FilesCmd::Download { uuid, out } => {
            let file = c.get_file(uuid).await?;
            // The service's name is checked as `terra download` checks it; a folder given
            // with --out receives the file under its own name.
            let here = std::path::Path::new(".");
            terra_client::workflow::local_path(here, &file.name)?;
            let base = file.name.rsplit('/').next().unwrap_or_default();
            let path = match out {
                Some(dir) if dir.is_dir() => dir.join(base),
                Some(path) => path.clone(),
                None => here.join(base),
            };
            let bytes = c.download_file(uuid, &path).await?;
            if !cli.json {
                out!("{bytes} bytes -> {}", path.display());
            }
            Ok(())
        }
    }
}

pub(crate) fn page_query(p: &PageArgs) -> (Option<u32>, Option<u32>, Option<String>) {
    (Some(p.page), Some(p.rows), p.search.clone())
}

pub(crate) async fn list<T: Serialize>(
    json: bool,
    all: bool,
    page: impl std::future::Future<Output = terra_client::Result<Page<T>>>,
    stream: impl futures::Stream<Item = terra_client::Result<T>>,
    line: impl Fn(&T) -> String,
) -> Outcome {
    let (items, total) = if all {
        let items: Vec<T> = stream.try_collect().await?;
        let n = items.len() as u64;
        (items, n)
    } else {
        let p = page.await?;
        (p.list, p.total)
    };
    if json {
        print_json(&serde_json::json!({ "list": items, "total": total }));
    } else {
        for i in &items {
            out!("{}", line(i));
        }
        out!("({} of {total})", items.len());
    }
    Ok(())
}
