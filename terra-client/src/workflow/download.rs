//! Downloading the output files: parallel, streamed to disk, the link listed with the file
//! used first and a fresh one fetched for every retry (after a 403 too), sizes checked,
//! written under a temporary name and renamed when complete.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use terra_types::glob::Glob;
use terra_types::{File, ListFilesQuery};

use super::WorkflowEvent;
use super::state::{Entry, State};
use super::transfer::{held, one};
use crate::TerraClient;
use crate::error::{Error, ErrorKind, Result};

/// Where a file the service names `name` goes under `out`: refused (kind
/// [`ErrorKind::UnsafeName`]) when the name would leave `out`: empty, absolute, a drive
/// or UNC prefix, a `.` or `..` segment, a backslash (a separator on Windows), or a NUL.
/// Every path built from a server-given name goes through this check: downloads of
/// outputs, `download_file` callers such as `terra files download`, the workflow.
///
/// ```
/// use std::path::Path;
/// use terra_client::workflow::local_path;
/// let out = Path::new("results");
/// assert_eq!(local_path(out, "map/result.tif").unwrap(), Path::new("results/map/result.tif"));
/// for bad in ["..", "a/..", "../x", "/etc/passwd", "C:/x", "a\\b", "a//b", "./a", ""] {
///     assert!(local_path(out, bad).is_err(), "{bad}");
/// }
/// ```
pub fn local_path(out: &Path, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    let drive = name.len() >= 2 && name.as_bytes()[1] == b':';
    let safe = !name.is_empty()
        && !drive
        && !name.contains(['\\', '\0'])
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !safe {
        return Err(Error::new(
            ErrorKind::UnsafeName,
            format!(
                "the service named a file {name:?}, which would not stay inside {}; refusing it",
                out.display()
            ),
        ));
    }
    Ok(out.join(rel))
}

fn complete(path: &Path, size: u64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size)
}

/// Every file of `resource`, oldest first.
async fn list(client: &TerraClient, resource: &str) -> Result<Vec<File>> {
    client
        .files(ListFilesQuery {
            resource_uuid: Some(resource.to_owned()),
            rows: Some(1000),
            order_asc: Some(true),
            // Links come with the page: the first attempt of each file needs no call of
            // its own (a retry fetches a fresh one).
            need_url: Some(true),
            ..Default::default()
        })
        .try_collect()
        .await
}

/// Files up to this size count as small: a download's time is then mostly its round trip,
/// and many of them can be in flight from the start.
const SMALL_FILE: u64 = 1 << 20;

/// How many downloads of `sizes` to start with, given the caller's `start` and `max`: at
/// least `start`, and as many as there are small files (up to `max`), so that a slow link's
/// round trips are overlapped from the first one rather than after a ramp of several.
fn first_window(sizes: impl Iterator<Item = u64>, (start, max): (usize, usize)) -> usize {
    let small = sizes.filter(|s| *s <= SMALL_FILE).count();
    small.clamp(start.min(max), max)
}

/// How many downloads run at once: from `start`, at most `max`, and never more than
/// `budget` bytes held in memory (see [`DownloadOptions`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub start: usize,
    pub max: usize,
    pub budget: u64,
}

/// Downloads `todo` (file, local path), the biggest first (so that they overlap the small
/// ones instead of running alone at the end), at most `window.max` at a time (see
/// [`terra_store::AdaptiveLimit`] and [`first_window`]) and within its memory budget,
/// calling `done` for each complete file; returns (files, bytes).
async fn fetch(
    client: &TerraClient,
    mut todo: Vec<(&File, PathBuf)>,
    window: Window,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
    mut done: impl FnMut(&File, u64) -> Result<()>,
) -> Result<(usize, u64)> {
    let started = std::time::Instant::now();
    todo.sort_by_key(|(f, _)| std::cmp::Reverse(f.size));
    let first = first_window(todo.iter().map(|(f, _)| f.size), (window.start, window.max));
    let mut limit = terra_store::AdaptiveLimit::new(first, window.max, Duration::ZERO);
    let mut pending = todo.into_iter().peekable();
    let mut running = futures::stream::FuturesUnordered::new();
    let (mut n, mut bytes, mut holding) = (0, 0, 0u64);
    loop {
        while running.len() < limit.now() {
            let Some((f, _)) = pending.peek() else {
                break;
            };
            // Within the budget, or alone (a budget below one download still makes progress).
            if !running.is_empty() && holding + held(f.size) > window.budget {
                break;
            }
            let Some((f, path)) = pending.next() else {
                break;
            };
            holding += held(f.size);
            running.push(async move { one(client, f, &path, emit).await.map(|r| (f, r)) });
        }
        let Some(result) = running.next().await else {
            break;
        };
        let (f, (size, retried)) = result?;
        holding -= held(f.size);
        limit.completed(size, retried, started.elapsed());
        done(f, size)?;
        emit(WorkflowEvent::Downloaded {
            name: f.name.clone(),
            size,
        });
        n += 1;
        bytes += size;
    }
    Ok((n, bytes))
}

/// Downloads every file of `resource` into `out`; returns (files downloaded now, their
/// bytes, files complete on disk).
pub(crate) async fn all(
    client: &TerraClient,
    resource: &str,
    out: &Path,
    state: &mut State,
    window: Window,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<(usize, u64, usize)> {
    let files = list(client, resource).await?;
    let mut todo = Vec::new();
    for f in &files {
        let path = local_path(out, &f.name)?;
        let done = state.downloaded.get(&f.name) == Some(&f.size) && complete(&path, f.size);
        if !done {
            todo.push((f, path));
        }
    }
    emit(WorkflowEvent::DownloadStarted {
        files: todo.len(),
        bytes: todo.iter().map(|(f, _)| f.size).sum(),
        already_downloaded: files.len() - todo.len(),
    });
    let (n, bytes) = fetch(client, todo, window, emit, |f, size| {
        state.record(&Entry::Downloaded {
            name: f.name.clone(),
            size,
        })
    })
    .await?;
    Ok((n, bytes, files.len()))
}

/// Which output files [`TerraClient::download_outputs`] fetches, and how.
///
/// The filters are globs of [`terra_types::glob`] (`*` within a folder, `**` across
/// folders, `?`, `[a-z]`), read as rclone and `.gitignore` read them: a pattern without
/// `/` matches the file name in any folder (`*.obj` finds `models/mesh/obj/Block.obj`); a
/// pattern with `/` matches the whole path from the top (`map/*.tif`, or `/*.json` for
/// top-level files only); a pattern ending in `/` matches everything under such a folder
/// (`terra_las/`). A file is fetched when it matches an `include` (or there is none) and
/// no `exclude`.
///
/// ```
/// let only_the_map = terra_client::workflow::DownloadOptions {
///     include: vec!["map/*.tif".into()],
///     ..Default::default()
/// };
/// assert!(only_the_map.wants("map/result.tif"));
/// assert!(!only_the_map.wants("models/mesh/obj/Block.obj"));
/// let meshes = terra_client::workflow::DownloadOptions {
///     include: vec!["*.obj".into()],
///     ..Default::default()
/// };
/// assert!(meshes.wants("models/mesh/obj/Block.obj"), "at any depth");
/// ```
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Globs of names to fetch (all when empty): `*.las` at any depth, `map/*.tif` from
    /// the top, `**` across folders (see above).
    pub include: Vec<String>,
    /// Globs of names to leave out (after `include`), read the same way.
    pub exclude: Vec<String>,
    /// Files downloaded at the same time at first, at least (small files, up to 1 MiB, start
    /// as many at once as there are of them, up to `max_concurrency`: their time is their
    /// round trip).
    pub concurrency: usize,
    /// At most this many at once: the number grows from `concurrency` while throughput
    /// grows (many requests in flight hide a long round trip), and halves when a download
    /// is retried. Equal to `concurrency` for a fixed number.
    pub max_concurrency: usize,
    /// Bytes the downloads in flight may hold in memory at once (32 MiB by default): each
    /// is counted for its connection's buffers (128 KiB) and either its whole body (files
    /// up to 256 KiB, kept as the chunks the connection read, not copied, and written in
    /// one trip to the disk) or a 256 KiB write buffer (bigger files, streamed). A download
    /// waits for room rather than pass the budget, so memory is bounded whatever the
    /// concurrency (one download always runs). Measured with the `terra` binary's
    /// allocator setting, the process's peak resident memory for a 728 MiB tree of 2 002
    /// files was 56 to 60 MiB at the default, s5cmd's (`cargo xtask bench download`,
    /// BENCHMARKS.md). A smaller budget costs time on slow links, where many requests in
    /// flight hide the round trips.
    pub memory_budget: u64,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            concurrency: 8,
            max_concurrency: 256,
            memory_budget: 32 * 1024 * 1024,
        }
    }
}

impl DownloadOptions {
    /// Whether a file named `name` is fetched (a pattern that does not compile matches
    /// nothing; [`DownloadOptions::filter`] says why it was refused).
    pub fn wants(&self, name: &str) -> bool {
        let matching = |pats: &[String]| {
            pats.iter()
                .any(|p| filter_glob(p).is_ok_and(|g| g.matches(name)))
        };
        (self.include.is_empty() || matching(&self.include)) && !matching(&self.exclude)
    }

    /// The filters, compiled once: what [`TerraClient::download_outputs`] uses. A pattern
    /// that is malformed or too long is an [`ErrorKind::Input`] error naming it.
    ///
    /// ```
    /// use terra_client::workflow::DownloadOptions;
    /// let f = DownloadOptions { include: vec!["*.las".into()], ..Default::default() }.filter()?;
    /// assert!(f.wants("lidars/terra_las/cloud.las"));
    /// let bad = DownloadOptions { exclude: vec!["[ab".into()], ..Default::default() };
    /// assert!(bad.filter().unwrap_err().to_string().contains("--exclude"));
    /// # Ok::<(), terra_client::Error>(())
    /// ```
    pub fn filter(&self) -> Result<NameFilter> {
        let compile = |pats: &[String], flag: &str| {
            pats.iter()
                .map(|p| {
                    filter_glob(p)
                        .map_err(|e| Error::new(ErrorKind::Input, format!("--{flag} {p:?}: {e}")))
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(NameFilter {
            include: compile(&self.include, "include")?,
            exclude: compile(&self.exclude, "exclude")?,
        })
    }
}

/// The compiled filters of [`DownloadOptions`].
///
/// ```
/// let f = terra_client::workflow::DownloadOptions::default().filter()?;
/// assert!(f.wants("anything/at/all"));
/// # Ok::<(), terra_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NameFilter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl NameFilter {
    /// Whether a file named `name` is fetched.
    ///
    /// ```
    /// use terra_client::workflow::DownloadOptions;
    /// let f = DownloadOptions {
    ///     include: vec!["models/**".into()],
    ///     exclude: vec!["*.osgb".into()],
    ///     ..Default::default()
    /// }
    /// .filter()?;
    /// assert!(f.wants("models/mesh/obj/Block.obj"));
    /// assert!(!f.wants("models/mesh/osgb/Data/Tile_+000_+000/Tile_+000_+000.osgb"));
    /// # Ok::<(), terra_client::Error>(())
    /// ```
    pub fn wants(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(name)))
            && !self.exclude.iter().any(|g| g.matches(name))
    }
}

/// A filter pattern as a glob of whole names: without `/` it matches the file name at any
/// depth (`**/` before it), with one it is anchored at the top (a leading `/` only says
/// so), and a trailing `/` means everything under that folder.
fn filter_glob(pattern: &str) -> std::result::Result<Glob, terra_types::glob::GlobError> {
    let (body, folder) = match pattern.strip_suffix('/') {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    let anchored = body.contains('/');
    let body = body.strip_prefix('/').unwrap_or(body);
    let mut g = String::with_capacity(body.len() + 6);
    if !anchored {
        g.push_str("**/");
    }
    g.push_str(body);
    if folder {
        g.push_str("/**");
    }
    let added = g.len() - body.len();
    if g.len() > terra_types::glob::MAX_PATTERN_LEN {
        // Named by what the user wrote, not by what was added to it.
        return Err(terra_types::glob::GlobError::TooLong {
            len: pattern.len(),
            max: terra_types::glob::MAX_PATTERN_LEN - added,
        });
    }
    Glob::new(&g)
}

/// What [`TerraClient::download_outputs`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DownloadSummary {
    /// The resource the files came from.
    pub resource_uuid: String,
    /// Files of the resource that the filters selected.
    pub selected: usize,
    /// Files fetched now.
    pub downloaded: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Selected files already complete on disk (same size), not fetched again.
    pub already_complete: usize,
}

impl TerraClient {
    /// Downloads one file to `path`, streaming to disk: a fresh link is fetched for every
    /// attempt (again after a 403), the size is checked, and the file appears under its
    /// name only when complete (`<name>.part` until then). Parent folders are created.
    /// Returns the bytes written. Feature `workflow`.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// let bytes = client.download_file("<file uuid>", std::path::Path::new("Block.obj")).await?;
    /// # let _ = bytes; Ok(()) }
    /// ```
    pub async fn download_file(&self, uuid: &str, path: &Path) -> Result<u64> {
        let f = self.get_file(uuid).await?;
        one(self, &f, path, &|_| {}).await.map(|(n, _)| n)
    }

    /// Downloads the outputs of a finished job (`uuid` of the job), or the files of a
    /// resource (`uuid` of the resource), into `out`, keeping their folders: those
    /// `opts` selects, several at a time, each streamed to `<name>.part` and renamed when
    /// complete, a fresh link per attempt. Files already complete in `out` (same size) are
    /// kept, so a rerun after a crash fetches only what is missing. `on_event` sees
    /// [`WorkflowEvent::DownloadStarted`], `DownloadProgress` and `Downloaded`. Feature
    /// `workflow`.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// use terra_client::workflow::DownloadOptions;
    /// let orthophoto = DownloadOptions { include: vec!["map/*.tif".into()], ..Default::default() };
    /// let s = client
    ///     .download_outputs("<job uuid>", std::path::Path::new("results"), &orthophoto, |_| {})
    ///     .await?;
    /// println!("{} of {} files, {} bytes", s.downloaded, s.selected, s.bytes);
    /// # Ok(()) }
    /// ```
    pub async fn download_outputs(
        &self,
        uuid: &str,
        out: &Path,
        opts: &DownloadOptions,
        on_event: impl Fn(WorkflowEvent) + Sync,
    ) -> Result<DownloadSummary> {
        let resource = match self.get_job(uuid).await {
            Ok(job) => job.output_resource_uuid.ok_or_else(|| {
                Error::new(
                    ErrorKind::Input,
                    format!(
                        "job {uuid} has no outputs yet (status {}): wait for it to finish",
                        job.status
                    ),
                )
            })?,
            Err(e) if e.kind() == ErrorKind::NotFound => uuid.to_owned(),
            Err(e) => return Err(e),
        };
        let files = match list(self, &resource).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{uuid} is neither a job nor a resource of this account"),
                ));
            }
            other => other?,
        };
        let filter = opts.filter()?;
        let selected: Vec<&File> = files.iter().filter(|f| filter.wants(&f.name)).collect();
        let mut todo = Vec::new();
        for f in &selected {
            let path = local_path(out, &f.name)?;
            if !complete(&path, f.size) {
                todo.push((*f, path));
            }
        }
        let already_complete = selected.len() - todo.len();
        on_event(WorkflowEvent::DownloadStarted {
            files: todo.len(),
            bytes: todo.iter().map(|(f, _)| f.size).sum(),
            already_downloaded: already_complete,
        });
        let (downloaded, bytes) = fetch(
            self,
            todo,
            Window {
                start: opts.concurrency,
                max: opts.max_concurrency,
                budget: opts.memory_budget,
            },
            &on_event,
            |_, _| Ok(()),
        )
        .await?;
        Ok(DownloadSummary {
            resource_uuid: resource,
            selected: selected.len(),
            downloaded,
            bytes,
            already_complete,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_patterns_as_rclone_and_gitignore_do() {
        for (pattern, name, matches) in [
            ("map/*.tif", "map/result.tif", true),
            ("map/*.tif", "map/sub/result.tif", false),
            ("map/*.tif", "x/map/result.tif", false),
            // Without `/`: the file name, at any depth (issue 31).
            ("*.obj", "models/mesh/obj/Block.obj", true),
            ("*.obj", "Block.obj", true),
            ("*.tif", "map/result.tif", true),
            ("Block.*", "models/mesh/obj/Block.mtl", true),
            ("*.obj", "models/mesh/obj/Block.obj.part", false),
            // A leading `/` anchors at the top.
            ("/*.json", "report.json", true),
            ("/*.json", "report/report.json", false),
            // A trailing `/`: everything under such a folder.
            ("terra_las/", "lidars/terra_las/cloud.las", true),
            ("lidars/terra_las/", "lidars/terra_las/cloud.las", true),
            ("terra_las/", "lidars/terra_dem/dem.tif", false),
            ("**/*.tif", "map/result.tif", true),
            ("**/*.tif", "result.tif", true),
            ("**", "a/b/c", true),
            ("models/**/Block.obj", "models/mesh/obj/Block.obj", true),
            ("models/**/Block.obj", "models/Block.obj", true),
            ("models/**", "map/result.tif", false),
            ("?.las", "a.las", true),
            ("?.las", "ab.las", false),
            (
                "lidars/terra_las/cloud*.las",
                "lidars/terra_las/cloud_merged.las",
                true,
            ),
        ] {
            let opts = DownloadOptions {
                include: vec![pattern.into()],
                ..Default::default()
            };
            assert_eq!(opts.wants(name), matches, "{pattern} vs {name}");
            assert_eq!(
                opts.filter().unwrap().wants(name),
                matches,
                "{pattern} vs {name}"
            );
        }
        let too_long = DownloadOptions {
            include: vec![format!("{}x", "a/".repeat(600))],
            ..Default::default()
        };
        let e = too_long.filter().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(e.to_string().contains("at most 1024 bytes"), "{e}");
        let opts = DownloadOptions {
            include: vec!["models/**".into(), "map/*.tif".into()],
            exclude: vec!["**/*.osgb".into()],
            ..Default::default()
        };
        assert!(opts.wants("models/mesh/obj/Block.obj"));
        assert!(!opts.wants("models/mesh/osgb/Data/Tile.osgb"));
        assert!(opts.wants("map/result.tif"));
        assert!(!opts.wants("lidars/terra_las/cloud.las"));
        assert!(DownloadOptions::default().wants("anything/at/all"));
    }

    #[test]
    fn names_cannot_escape_the_output_folder() {
        let out = Path::new("/out");
        assert_eq!(
            local_path(out, "models/mesh/Block.obj").unwrap(),
            Path::new("/out/models/mesh/Block.obj")
        );
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "",
            "a\\b",
            "./x",
        ] {
            assert!(local_path(out, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn small_files_start_many_at_once_and_the_bounds_hold() {
        let mib = 1 << 20;
        // 500 tiles: all of them at once, up to the ceiling.
        assert_eq!(first_window([100_000u64; 500].into_iter(), (8, 256)), 256);
        assert_eq!(first_window([100_000u64; 20].into_iter(), (8, 256)), 20);
        // Big files only: the caller's start, to grow from.
        assert_eq!(first_window([300 * mib; 40].into_iter(), (8, 256)), 8);
        // A few small ones: never fewer than the start; a fixed number stays fixed.
        assert_eq!(first_window([mib, mib + 1].into_iter(), (8, 256)), 8);
        assert_eq!(first_window([10u64; 500].into_iter(), (4, 4)), 4);
        assert_eq!(first_window(std::iter::empty(), (8, 256)), 8);
    }
}
