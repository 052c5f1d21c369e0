//! Finding the input files: photos for 2D/3D, the whole mission folder for LiDAR.

use std::io::Read;
use std::path::{Path, PathBuf};

use terra_types::{ImageFormat, JobType, image_format, is_image_name, limits};

use crate::error::{Error, ErrorKind, Result};

/// A file to upload.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # terra_mock::sample::write_flight(dir.path(), &terra_mock::sample::FlightPlan { images: 10, ..Default::default() })?;
/// let files = terra_client::workflow::scan(dir.path(), terra_types::JobType::Model3d, &dir.path().join("out"))?;
/// let first = &files[0];
/// println!("{} ({} bytes) taken at {:?}", first.name, first.size, first.position);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InputFile {
    /// Relative name with `/` separators (substituted for `{fileName}`).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// Modification time, Unix seconds (a changed file is uploaded again on resume).
    pub mtime: u64,
    /// Latitude and longitude from the photo's EXIF, if any.
    pub position: Option<(f64, f64)>,
}

fn input_error(message: String) -> Error {
    Error::new(ErrorKind::Input, message)
}

/// Scans `dir` for the input of a `job_type` job: for 2D and 3D the photos
/// (`.jpg .jpeg .dng .heic .heif`, any case), for LiDAR every file. Hidden files and
/// folders (`.name`) and `skip` (the output folder) are left out, `skip` only when it is
/// a subfolder of `dir`: an output folder that is `dir` itself or holds it (the default
/// `--out .` typed inside the photo folder or above it) leaves every photo in. Checks the
/// documented limits (at least 10 photos; at most 4 000 for 2D, 20 000 for 3D; 48 GB of
/// LiDAR data).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_client::{ErrorKind, workflow::scan};
/// use terra_types::JobType;
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("results");
/// terra_mock::sample::write_flight(dir.path(), &terra_mock::sample::FlightPlan { images: 12, ..Default::default() })?;
/// let photos = scan(dir.path(), JobType::Map2d, &out)?;
/// assert_eq!(photos.len(), 12);
/// assert!(photos.iter().all(|p| p.position.is_some()), "GPS read from EXIF");
///
/// let empty = tempfile::tempdir()?;
/// let err = scan(empty.path(), JobType::Map2d, &out).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Input);
/// # Ok(()) }
/// ```
pub fn scan(dir: &Path, job_type: JobType, skip: &Path) -> Result<Vec<InputFile>> {
    let walked = walk(dir, job_type, skip)?;
    let files: Vec<InputFile> = walked.into_iter().map(|w| w.file).collect();
    if let Some(problem) = count_problem(dir, job_type, &files) {
        return Err(input_error(problem));
    }
    Ok(files)
}

/// A file found by [`walk`], with what its first bytes said.
#[derive(Debug)]
pub(crate) struct Walked {
    pub file: InputFile,
    /// The photo format its content has (photos only).
    pub format: Option<ImageFormat>,
    /// Why its first bytes could not be read, if they could not.
    pub unreadable: Option<String>,
}

/// Where `skip` lies inside `dir`, relative to it, when it is a strict subfolder (both
/// resolved: `.`, `..` and symbolic links); `None` when it is `dir` itself, holds `dir`,
/// lies elsewhere or does not exist (then it holds nothing to leave out).
pub(crate) fn subfolder(dir: &Path, skip: &Path) -> Option<std::path::PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let skip = std::fs::canonicalize(skip).ok()?;
    let rel = skip.strip_prefix(&dir).ok()?;
    (!rel.as_os_str().is_empty()).then(|| rel.to_path_buf())
}

/// The files of `dir` for a `job_type` job (see [`scan`]), each photo's first bytes read
/// once for its format and GPS position. Errors only for a folder that cannot be read.
pub(crate) fn walk(dir: &Path, job_type: JobType, skip: &Path) -> Result<Vec<Walked>> {
    let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            input_error(format!("the input folder {} does not exist", dir.display()))
        }
        _ => input_error(format!(
            "cannot read the input folder {}: {e}",
            dir.display()
        )),
    })?;
    if !meta.is_dir() {
        return Err(input_error(format!("{} is not a folder", dir.display())));
    }
    let images = job_type != JobType::Lidar;
    let skipped = subfolder(dir, skip);
    let mut files = Vec::new();
    // One buffer for every file's head: an allocation per file of this size is an
    // mmap and munmap each (the allocator's threshold), which a flight of 20 000 photos feels.
    let mut head = Vec::with_capacity(HEAD);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| input_error(format!("cannot read {}: {e}", d.display())))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| input_error(format!("cannot read {}: {e}", d.display())))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ft = entry
                .file_type()
                .map_err(|e| input_error(format!("cannot read {}: {e}", path.display())))?;
            if ft.is_dir() {
                if skipped.as_deref() != path.strip_prefix(dir).ok() {
                    stack.push(path);
                }
                continue;
            }
            let meta = std::fs::metadata(&path)
                .map_err(|e| input_error(format!("cannot read {}: {e}", path.display())))?;
            if !meta.is_file() {
                continue;
            }
            let rel = path.strip_prefix(dir).expect("walked from dir");
            let name = rel
                .iter()
                .map(|c| {
                    c.to_str().ok_or_else(|| {
                        input_error(format!("{} is not a UTF-8 file name", path.display()))
                    })
                })
                .collect::<Result<Vec<_>>>()?
                .join("/");
            if images && !is_image_name(&name) {
                continue;
            }
            let (position, format, unreadable) = if is_image_name(&name) {
                match read_head(&path, &mut head) {
                    Ok(()) => (
                        terra_types::exif_gps(&head).map(|g| (g.latitude, g.longitude)),
                        image_format(&head),
                        None,
                    ),
                    Err(e) => (None, None, Some(e.to_string())),
                }
            } else {
                (None, None, None)
            };
            files.push(Walked {
                file: InputFile {
                    name,
                    size: meta.len(),
                    mtime: super::mtime_secs(&meta),
                    path,
                    position,
                },
                format,
                unreadable,
            });
        }
    }
    files.sort_by(|a, b| a.file.name.cmp(&b.file.name));
    Ok(files)
}

/// What is wrong with the number (or, for LiDAR, the bytes) of `files`, if anything.
pub(crate) fn count_problem(dir: &Path, job_type: JobType, files: &[InputFile]) -> Option<String> {
    let images = job_type != JobType::Lidar;
    let label = job_type.label();
    if files.is_empty() {
        return Some(if images {
            format!(
                "no photos (.jpg, .jpeg, .dng, .heic, .heif) in {}",
                dir.display()
            )
        } else {
            format!(
                "{} holds no files; give the LiDAR mission folder",
                dir.display()
            )
        });
    }
    if images {
        let max = if job_type == JobType::Map2d {
            limits::MAX_IMAGES_2D
        } else {
            limits::MAX_IMAGES_3D
        };
        if files.len() < limits::MIN_IMAGES {
            return Some(format!(
                "{} holds {} photos; {label} reconstruction needs at least {} (with 70 % overlap)",
                dir.display(),
                files.len(),
                limits::MIN_IMAGES
            ));
        }
        if files.len() > max {
            return Some(format!(
                "{} holds {} photos; a {label} job takes at most {max}",
                dir.display(),
                files.len()
            ));
        }
    } else {
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        if bytes > limits::MAX_LIDAR_BYTES {
            return Some(format!(
                "{} holds {bytes} bytes; LiDAR jobs take at most 48 GB",
                dir.display()
            ));
        }
    }
    None
}

/// The first bytes of a file (into `head`): enough for its format and its EXIF block.
/// Bytes of a photo read for its format and EXIF (an EXIF segment is at most 64 KiB and
/// comes first).
const HEAD: usize = 72 * 1024;

fn read_head(path: &Path, head: &mut Vec<u8>) -> std::io::Result<()> {
    head.clear();
    std::fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(head)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn names(dir: &Path, job_type: JobType, skip: &Path) -> Vec<String> {
        walk(dir, job_type, skip)
            .unwrap()
            .into_iter()
            .map(|w| w.file.name)
            .collect()
    }

    fn files(n: usize, size: u64) -> Vec<InputFile> {
        (0..n)
            .map(|i| InputFile {
                name: format!("{i}.jpg"),
                path: PathBuf::from(format!("{i}.jpg")),
                size,
                mtime: 0,
                position: None,
            })
            .collect()
    }

    #[test]
    fn photos_are_found_in_subfolders_sorted_and_hidden_ones_left_out() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        for f in [
            "b.JPG",
            "a/c.jpeg",
            "a/d.DNG",
            "e.heic",
            "notes.txt",
            ".hidden.jpg",
            ".cache/f.jpg",
        ] {
            touch(&dir.join(f), b"not really a photo");
        }
        let out = dir.join("out");
        assert_eq!(
            names(dir, JobType::Model3d, &out),
            ["a/c.jpeg", "a/d.DNG", "b.JPG", "e.heic"]
        );
        // LiDAR takes every file, still not the hidden ones.
        assert_eq!(
            names(dir, JobType::Lidar, &out),
            ["a/c.jpeg", "a/d.DNG", "b.JPG", "e.heic", "notes.txt"]
        );
        let w = walk(dir, JobType::Model3d, &out).unwrap();
        assert_eq!(w[2].file.size, 18);
        assert_eq!(w[2].file.path, dir.join("b.JPG"));
        assert!(w[2].unreadable.is_none() && w[2].format.is_none() && w[2].file.position.is_none());
    }

    #[test]
    fn the_output_folder_is_left_out_only_when_it_is_a_subfolder() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("flight");
        touch(&dir.join("a.jpg"), b"x");
        touch(&dir.join("out/map.jpg"), b"x");
        touch(&dir.join("out2/b.jpg"), b"x");
        assert_eq!(
            names(&dir, JobType::Map2d, &dir.join("out")),
            ["a.jpg", "out2/b.jpg"]
        );
        // The folder itself, one that holds it, or one elsewhere: nothing left out.
        for skip in [
            dir.clone(),
            d.path().to_path_buf(),
            d.path().join("elsewhere"),
        ] {
            assert_eq!(
                names(&dir, JobType::Map2d, &skip).len(),
                3,
                "{}",
                skip.display()
            );
        }
        assert_eq!(
            subfolder(&dir, &dir.join("out/../out")),
            Some(PathBuf::from("out"))
        );
        assert_eq!(subfolder(&dir, &dir), None);
        assert_eq!(subfolder(&dir, d.path()), None);
        assert_eq!(subfolder(&dir, &dir.join("missing")), None);
    }

    #[test]
    fn a_missing_folder_or_a_file_is_a_clear_input_error() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        let e = walk(&missing, JobType::Map2d, d.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(e.to_string().contains("does not exist"), "{e}");
        let file = d.path().join("a.jpg");
        touch(&file, b"x");
        let e = walk(&file, JobType::Map2d, d.path()).unwrap_err();
        assert!(e.to_string().contains("is not a folder"), "{e}");
    }

    #[test]
    fn the_documented_limits_are_checked() {
        let dir = Path::new("flight");
        let problem = |t, n| count_problem(dir, t, &files(n, 1));
        assert!(problem(JobType::Map2d, 0).unwrap().starts_with("no photos"));
        assert!(
            problem(JobType::Lidar, 0)
                .unwrap()
                .contains("holds no files")
        );
        assert!(problem(JobType::Map2d, 9).unwrap().contains("at least 10"));
        assert_eq!(problem(JobType::Map2d, 10), None);
        assert_eq!(problem(JobType::Map2d, 4_000), None);
        assert!(
            problem(JobType::Map2d, 4_001)
                .unwrap()
                .contains("at most 4000")
        );
        assert_eq!(problem(JobType::Model3d, 20_000), None);
        assert!(
            problem(JobType::Model3d, 20_001)
                .unwrap()
                .contains("at most 20000")
        );
        // LiDAR: any number of files, at most 48 GB.
        assert_eq!(problem(JobType::Lidar, 1), None);
        assert_eq!(
            count_problem(dir, JobType::Lidar, &files(48, 1_000_000_000)),
            None
        );
        assert!(
            count_problem(dir, JobType::Lidar, &files(49, 1_000_000_000))
                .unwrap()
                .contains("at most 48 GB")
        );
    }

    #[test]
    fn a_position_kilobytes_into_the_file_is_read() {
        let d = tempfile::tempdir().unwrap();
        let plan = terra_mock::sample::FlightPlan {
            images: 1,
            ..Default::default()
        };
        terra_mock::sample::write_flight(d.path(), &plan).unwrap();
        let photo = walk(d.path(), JobType::Map2d, d.path())
            .unwrap()
            .remove(0)
            .file;
        assert!(photo.position.is_some());
        // An 8 KB application segment before the EXIF one: the GPS block now starts
        // 8 KB in, as in photos with large maker notes or previews.
        let bytes = std::fs::read(&photo.path).unwrap();
        let mut padded = bytes[..2].to_vec();
        padded.extend_from_slice(&[0xFF, 0xE2, 0x1F, 0x42]);
        padded.extend(std::iter::repeat_n(0u8, 0x1F40));
        padded.extend_from_slice(&bytes[2..]);
        std::fs::write(&photo.path, padded).unwrap();
        let again = walk(d.path(), JobType::Map2d, d.path())
            .unwrap()
            .remove(0)
            .file;
        assert_eq!(again.position, photo.position);
    }

    #[test]
    fn scan_returns_the_photos_with_their_positions_or_the_problem() {
        let d = tempfile::tempdir().unwrap();
        let plan = terra_mock::sample::FlightPlan {
            images: 10,
            ..Default::default()
        };
        terra_mock::sample::write_flight(d.path(), &plan).unwrap();
        let out = d.path().join("out");
        let photos = scan(d.path(), JobType::Map2d, &out).unwrap();
        assert_eq!(photos.len(), 10);
        assert!(photos.iter().all(|p| p.position.is_some()));
        std::fs::remove_file(&photos[0].path).unwrap();
        let e = scan(d.path(), JobType::Map2d, &out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(e.to_string().contains("holds 9 photos"), "{e}");
    }
}
