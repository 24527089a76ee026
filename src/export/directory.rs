//! The export directory: what cypdash writes there, and how a new export
//! replaces an earlier one whole (issue 10).
//!
//! - An export is written complete into a staging directory beside the
//!   output, `<parent>/.<name>.cypdash-staging-<pid>` (same parent, so the
//!   same file system), then swapped with the output directory in one step
//!   (`renameat2` with `RENAME_EXCHANGE` on Linux, `RENAME_SWAP` on macOS);
//!   the staging name then holds the earlier export, which is deleted. With
//!   no output directory yet, the staging directory is renamed to it. A
//!   process killed at any moment (even by SIGKILL) leaves the output
//!   directory holding either the complete earlier export or the complete
//!   new one, never files of two runs beside a manifest of one.
//! - Where the exchange is not supported (another OS, or a file system
//!   without it, such as some network file systems), the earlier export is
//!   renamed aside to `.<name>.cypdash-old-<pid>` and the new one renamed in.
//!   Between those two renames (microseconds) the output directory does not
//!   exist: a reader finds no export rather than a mixed one, and if the
//!   process is killed there the next export moves the earlier one back.
//! - Leftovers of a killed export (`.<name>.cypdash-staging-<pid>` and
//!   `-old-<pid>` whose process is gone, `.<file>.tmp-<pid>` beside a file
//!   written through a temporary name) are removed by the next export to the
//!   same place. Another live export's staging directory is left alone: two
//!   exports to one directory each land whole, the last one to finish wins.
//! - As an export replaces the whole directory, an existing directory is
//!   replaced only when it is empty or holds an earlier export and nothing
//!   else: a cypdash `manifest.json`, files named like the exports
//!   (`<section>__<chart>.parquet`, `.csv`, `.pq`, and the funnel charts'
//!   `<section>__<chart>__limits.*`), `dashboard.html` and
//!   temporary files. Anything else (a subdirectory, a Power BI file, another
//!   tool's `manifest.json`) makes the export refuse, naming what it found,
//!   so a user's folder is never swapped away.
//! - A symbolic link as the output is followed: the directory it points to
//!   is replaced, the link stays.

use std::path::{Path, PathBuf};

/// The manifest written beside the exported files.
pub const MANIFEST: &str = "manifest.json";

/// The rendered dashboard that `dashboard` writes beside its exports.
pub const REPORT: &str = "dashboard.html";

/// The extensions of a chart's files, `<section>__<chart>.<ext>`.
const CHART_EXTENSIONS: [&str; 3] = ["parquet", "csv", "pq"];

/// The most names an error lists.
const LISTED: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot export to {}: it exists and is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "refusing to export to {}: it is not a cypdash export (it holds {holds}), and an export \
         replaces the whole directory; give a new or empty directory, or one holding an earlier \
         export",
        path.display()
    )]
    NotAnExport { path: PathBuf, holds: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DirectoryError + '_ {
    move |source| DirectoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The name a file is written to before it is renamed into place:
/// `.<name>.tmp-<pid>` (see [`remove_stale_temporaries`]).
pub fn temporary_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

/// Remove the temporary files of `name` in `dir` left by processes that
/// are gone (killed while writing it). Best effort: errors are ignored.
pub fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    for (path, pid) in tagged_entries(dir, &prefix) {
        if abandoned(pid, &path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The entries of `dir` named `<prefix><pid>`, with the pid.
fn tagged_entries(dir: &Path, prefix: &str) -> Vec<(PathBuf, u32)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let pid = name.to_str()?.strip_prefix(prefix)?.parse().ok()?;
            Some((e.path(), pid))
        })
        .collect()
}

/// Whether a leftover tagged with `pid` belongs to no running export: its
/// process is gone, or it is this process's own (an export that failed to
/// clean up after itself; one process runs one export to a place at a time).
fn abandoned(pid: u32, path: &Path) -> bool {
    pid == std::process::id() || !crate::process::alive(pid, path)
}

/// Whether `name` is one of the temporary files cypdash writes: `.x.tmp-<pid>`
/// (exports) or `x.html.partial` (the report).
fn is_temporary(name: &str) -> bool {
    let tagged = name.starts_with('.')
        && name
            .rsplit_once(".tmp-")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    tagged || name.ends_with(".html.partial")
}

/// Whether `name` is named like a chart's file: `<section>__<chart>.<ext>`.
fn is_chart_file(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| stem.contains("__") && CHART_EXTENSIONS.contains(&ext))
}

/// Whether `dir/manifest.json` was written by cypdash.
fn has_our_manifest(dir: &Path) -> bool {
    std::fs::read(dir.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|m| m["tool"] == "cypdash")
}

/// Check that an existing directory may be replaced by an export: it is
/// empty or holds an earlier export and nothing else (see the module docs).
pub fn check_replaceable(dir: &Path) -> Result<(), DirectoryError> {
    let ours = has_our_manifest(dir);
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ty = entry.file_type().map_err(io_error(&entry.path()))?;
        let known = is_temporary(&name)
            || name == REPORT
            || (ours && (name == MANIFEST || is_chart_file(&name)));
        if !(ty.is_file() && known) {
            foreign.push(if ty.is_dir() {
                format!("{name}/")
            } else {
                name
            });
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let mut holds = foreign
        .iter()
        .take(LISTED)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if foreign.len() > LISTED {
        holds.push_str(&format!(" and {} more", foreign.len() - LISTED));
    }
    Err(DirectoryError::NotAnExport {
        path: dir.to_path_buf(),
        holds,
    })
}

/// The absolute output path, symbolic links resolved, its parent created.
fn resolve(out: &Path) -> Result<PathBuf, DirectoryError> {
    match std::fs::canonicalize(out) {
        Ok(path) => return Ok(path),
        // A dangling symbolic link is not a directory to write to.
        Err(_) if std::fs::symlink_metadata(out).is_ok() => {
            return Err(DirectoryError::NotADirectory {
                path: out.to_path_buf(),
            })
        }
        Err(_) => {}
    }
    let invalid = || {
        io_error(out)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a directory name",
        ))
    };
    let name = out.file_name().ok_or_else(invalid)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let parent = std::fs::canonicalize(parent).map_err(io_error(parent))?;
    Ok(parent.join(name))
}

/// A leftover's name: `.<name>.cypdash-<kind>-<pid>`.
fn leftover_name(name: &str, kind: &str, pid: u32) -> String {
    format!(".{name}.cypdash-{kind}-{pid}")
}

/// Remove what killed exports to `out` left beside it (see the module
/// docs); an earlier export moved aside is moved back when `out` is
/// missing. Best effort, except moving an earlier export back.
pub fn remove_leftovers(out: &Path) -> Result<(), DirectoryError> {
    let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
        return Ok(());
    };
    let name = name.to_string_lossy();
    for (path, pid) in tagged_entries(parent, &format!(".{name}.cypdash-staging-")) {
        if abandoned(pid, &path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    for (path, pid) in tagged_entries(parent, &format!(".{name}.cypdash-old-")) {
        if !abandoned(pid, &path) {
            continue;
        }
        if std::fs::symlink_metadata(out).is_err() {
            std::fs::rename(&path, out).map_err(io_error(out))?;
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    Ok(())
}

/// An export being written: a staging directory beside the output that
/// [`Staging::commit`] swaps in whole. Dropped without a commit, it is
/// removed and the output is left as it was.
#[derive(Debug)]
pub struct Staging {
    /// The output directory: absolute, symbolic links resolved.
    out: PathBuf,
    /// Where the export is written until the commit.
    dir: PathBuf,
}

impl Staging {
    /// Prepare to replace `out`: remove the leftovers of killed exports,
    /// check that `out` may be replaced, create the staging directory
    /// (with the permissions of the existing output).
    pub fn begin(out: &Path) -> Result<Staging, DirectoryError> {
        let out = resolve(out)?;
        let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
            return Err(DirectoryError::NotAnExport {
                holds: "the whole file system".to_string(),
                path: out,
            });
        };
        remove_leftovers(&out)?;
        let existing = existing_dir(&out)?;
        if existing.is_some() {
            check_replaceable(&out)?;
        }
        let dir = parent.join(leftover_name(
            &name.to_string_lossy(),
            "staging",
            std::process::id(),
        ));
        let staging = Staging { out, dir };
        std::fs::create_dir(&staging.dir).map_err(io_error(&staging.dir))?;
        if let Some(meta) = existing {
            std::fs::set_permissions(&staging.dir, meta.permissions())
                .map_err(io_error(&staging.dir))?;
        }
        Ok(staging)
    }

    /// Where to write the export's files.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The output directory the commit replaces (absolute).
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Swap the staging directory in as the output directory and delete
    /// the earlier export.
    pub fn commit(self) -> Result<(), DirectoryError> {
        sync_dir(&self.dir);
        // Checked again: something may have been put there meanwhile.
        if existing_dir(&self.out)?.is_some() {
            check_replaceable(&self.out)?;
            if !exchange(&self.dir, &self.out).map_err(io_error(&self.out))? {
                self.replace_in_two_steps()?;
            }
            // `self.dir` now holds the earlier export: dropping `self` deletes it.
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(io_error(&self.out))?;
        }
        if let Some(parent) = self.out.parent() {
            sync_dir(parent);
        }
        Ok(())
    }

    /// The fallback without an atomic exchange: move the earlier export
    /// aside, move the new one in, delete the earlier one. If the process
    /// dies between the two renames, [`remove_leftovers`] moves the earlier
    /// export back.
    fn replace_in_two_steps(&self) -> Result<(), DirectoryError> {
        let (Some(parent), Some(name)) = (self.out.parent(), self.out.file_name()) else {
            return Ok(());
        };
        let aside = parent.join(leftover_name(
            &name.to_string_lossy(),
            "old",
            std::process::id(),
        ));
        std::fs::rename(&self.out, &aside).map_err(io_error(&self.out))?;
        if let Err(e) = std::fs::rename(&self.dir, &self.out) {
            let _ = std::fs::rename(&aside, &self.out);
            return Err(io_error(&self.out)(e));
        }
        let _ = std::fs::remove_dir_all(&aside);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Uncommitted: the partial export. Committed by an exchange: the
        // earlier export. Committed by a rename: nothing is there any more.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The metadata of `path` if it is an existing directory; an error if it
/// exists and is something else.
fn existing_dir(path: &Path) -> Result<Option<std::fs::Metadata>, DirectoryError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(Some(meta)),
        Ok(_) => Err(DirectoryError::NotADirectory {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Atomically exchange two directories. `Ok(false)` when the system or
/// the file system cannot.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if [Errno::INVAL, Errno::NOSYS, Errno::NOTSUP, Errno::OPNOTSUPP].contains(&e) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Flush a directory's entries to disk (best effort; for a power cut, not
/// needed against a kill).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(path) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Above Linux's largest possible pid (2^22), so never a live process.
    const DEAD: u32 = 4_194_305;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn earlier_export(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(MANIFEST), r#"{"tool": "cypdash", "files": []}"#).unwrap();
        std::fs::write(dir.join("key__units.csv"), "old").unwrap();
        std::fs::write(dir.join(REPORT), "old").unwrap();
    }

    #[test]
    fn a_commit_swaps_the_whole_directory_and_leaves_nothing_beside_it() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        earlier_export(&out);
        std::fs::write(out.join("who__age.pq"), "old only").unwrap();
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.path().join(MANIFEST), r#"{"tool": "cypdash"}"#).unwrap();
        std::fs::write(staging.path().join("key__units.csv"), "new").unwrap();
        // Nothing is visible before the commit.
        assert_eq!(
            std::fs::read_to_string(out.join("key__units.csv")).unwrap(),
            "old"
        );
        staging.commit().unwrap();
        assert_eq!(names(&out), ["key__units.csv", MANIFEST]);
        assert_eq!(
            std::fs::read_to_string(out.join("key__units.csv")).unwrap(),
            "new"
        );
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn a_first_export_is_renamed_into_place_and_a_dropped_one_leaves_no_trace() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("new").join("out");
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.path().join(MANIFEST), "{}").unwrap();
        staging.commit().unwrap();
        assert_eq!(names(&out), [MANIFEST]);

        earlier_export(&out);
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.path().join("key__units.csv"), "half").unwrap();
        drop(staging);
        assert_eq!(names(&out), [REPORT, "key__units.csv", MANIFEST]);
        assert_eq!(names(&root.path().join("new")), ["out"]);
    }

    #[test]
    fn the_two_step_fallback_replaces_the_directory_too() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        earlier_export(&out);
        let staging = Staging::begin(&out).unwrap();
        std::fs::write(staging.path().join(MANIFEST), "{}").unwrap();
        staging.replace_in_two_steps().unwrap();
        drop(staging);
        assert_eq!(names(&out), [MANIFEST]);
        assert_eq!(names(root.path()), ["out"]);
    }

    /// Issue 10: the leftovers of a killed export are removed by the next.
    #[test]
    fn leftovers_of_dead_exports_are_removed_and_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        earlier_export(&out);
        let dead = root.path().join(leftover_name("out", "staging", DEAD));
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("key__units.csv"), "half").unwrap();
        let dead_aside = root.path().join(leftover_name("out", "old", DEAD));
        earlier_export(&dead_aside);
        // pid 1 (init) is always alive: its staging directory stays.
        let live = root.path().join(leftover_name("out", "staging", 1));
        std::fs::create_dir(&live).unwrap();
        // Another output's leftovers are not this one's to remove.
        let other = root.path().join(leftover_name("other", "staging", DEAD));
        std::fs::create_dir(&other).unwrap();
        let tmp_dead = out.join(format!(".key__units.csv.tmp-{DEAD}"));
        std::fs::write(&tmp_dead, "half").unwrap();
        let tmp_live = out.join(".key__units.csv.tmp-1");
        std::fs::write(&tmp_live, "half").unwrap();

        remove_leftovers(&out).unwrap();
        remove_stale_temporaries(&out, "key__units.csv");
        assert!(!dead.exists() && !dead_aside.exists());
        assert!(live.exists() && other.exists());
        assert!(!tmp_dead.exists() && tmp_live.exists());
        assert_eq!(
            std::fs::read_to_string(out.join("key__units.csv")).unwrap(),
            "old"
        );
    }

    #[test]
    fn an_earlier_export_moved_aside_by_a_killed_fallback_is_moved_back() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let aside = root.path().join(leftover_name("out", "old", DEAD));
        earlier_export(&aside);
        let staging = root.path().join(leftover_name("out", "staging", DEAD));
        std::fs::create_dir(&staging).unwrap();
        remove_leftovers(&out).unwrap();
        assert_eq!(names(&out), [REPORT, "key__units.csv", MANIFEST]);
        assert_eq!(names(root.path()), ["out"]);
    }

    /// Issue 10: a folder that is not an export is never swapped away.
    #[test]
    fn only_an_empty_directory_or_an_earlier_export_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        std::fs::create_dir(&out).unwrap();
        check_replaceable(&out).unwrap();
        earlier_export(&out);
        std::fs::write(out.join(".who__age.csv.tmp-12"), "").unwrap();
        std::fs::write(out.join("dashboard.html.partial"), "").unwrap();
        check_replaceable(&out).unwrap();

        // A file of the user's beside an export.
        std::fs::write(out.join("report.pbix"), "mine").unwrap();
        std::fs::create_dir(out.join("notes")).unwrap();
        let err = Staging::begin(&out).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "refusing to export to {}: it is not a cypdash export (it holds `notes/`, \
                 `report.pbix`)",
                out.display()
            )),
            "{err}"
        );
        assert_eq!(names(root.path()), ["out"], "no staging directory left");

        // Files named like exports, without a cypdash manifest.
        let out = root.path().join("data");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("key__units.csv"), "").unwrap();
        std::fs::write(out.join(MANIFEST), r#"{"tool": "other"}"#).unwrap();
        let err = Staging::begin(&out).unwrap_err().to_string();
        assert!(
            err.contains("(it holds `key__units.csv`, `manifest.json`)"),
            "{err}"
        );

        let file = root.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = Staging::begin(&file).unwrap_err().to_string();
        assert!(err.ends_with("it exists and is not a directory"), "{err}");
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        #[cfg(unix)]
        {
            let root = tempfile::tempdir().unwrap();
            let target = root.path().join("target");
            earlier_export(&target);
            let link = root.path().join("link");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let staging = Staging::begin(&link).unwrap();
            assert_eq!(staging.out(), std::fs::canonicalize(&target).unwrap());
            std::fs::write(staging.path().join(MANIFEST), "{}").unwrap();
            staging.commit().unwrap();
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(names(&link), [MANIFEST]);
        }
    }

    #[test]
    fn names_cypdash_writes_are_recognised() {
        assert!(is_temporary(".who__age.csv.tmp-123"));
        assert!(is_temporary("dashboard.html.partial"));
        assert!(!is_temporary(".who__age.csv.tmp-"));
        assert!(!is_temporary("x.tmp-1"));
        assert!(is_chart_file("who__age.parquet"));
        assert!(!is_chart_file("who_age.csv"));
        assert!(!is_chart_file("who__age.xlsx"));
    }
}
