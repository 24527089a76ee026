//! Whether the process that left a file behind is still running: the
//! export directory (`export::directory`), the block cache and `sort` tag
//! their temporary files with the writer's pid, and sweep a leftover only
//! when its writer is gone (a run stopped by Ctrl-C or killed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether process `pid` exists (`kill(pid, 0)`; a process we may not
/// signal exists too). `path` is the leftover, used where there is no
/// cheap process test.
#[cfg(unix)]
pub fn alive(pid: u32, _path: &Path) -> bool {
    use rustix::process::{test_kill_process, Pid};
    match i32::try_from(pid).ok().and_then(Pid::from_raw) {
        Some(pid) => test_kill_process(pid) != Err(rustix::io::Errno::SRCH),
        None => false,
    }
}

/// Without a cheap process test, a leftover untouched for a day counts as
/// abandoned.
#[cfg(not(unix))]
pub fn alive(_pid: u32, path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age < std::time::Duration::from_secs(86_400))
}

/// Remove the folders in `dir` whose name `pid_of` reads a pid from and
/// whose process is gone: what a run stopped by Ctrl-C or killed left
/// half-written. Another running process's folders are left alone; a
/// folder that cannot be removed is left (for `cache clear`, or the next
/// run).
pub fn sweep_abandoned(dir: &Path, pid_of: impl Fn(&str) -> Option<u32>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(&pid_of) else {
            continue;
        };
        let path = entry.path();
        if path.is_dir() && !alive(pid, &path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// A new folder `<prefix><pid>-<n>` in `dir` (a fresh `n` per call), after
/// removing the folders of `prefix` there whose process is gone
/// ([`sweep_abandoned`]). The error carries the folder it could not make.
pub fn tagged_folder(dir: &Path, prefix: &str) -> Result<PathBuf, (PathBuf, std::io::Error)> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    sweep_abandoned(dir, |n| tagged_pid(n, prefix));
    let path = dir.join(format!(
        "{prefix}{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let made = if path.exists() {
        std::fs::remove_dir_all(&path)
    } else {
        Ok(())
    }
    .and_then(|()| std::fs::create_dir_all(&path));
    match made {
        Ok(()) => Ok(path),
        Err(e) => Err((path, e)),
    }
}

/// The pid in a name `<prefix><pid>-<n>` (the block cache's temporary
/// folders), if it is one.
pub fn tagged_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, n) = rest.split_once('-')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| pid.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_not() {
        let here = Path::new(".");
        assert!(alive(std::process::id(), here));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid, here));
    }

    #[test]
    fn tagged_names() {
        assert_eq!(tagged_pid(".tmp-123-4", ".tmp-"), Some(123));
        assert_eq!(tagged_pid("cypdash-blocks-9-0", "cypdash-blocks-"), Some(9));
        assert_eq!(tagged_pid(".tmp-123", ".tmp-"), None);
        assert_eq!(tagged_pid(".tmp-x-1", ".tmp-"), None);
        assert_eq!(tagged_pid("sdq_score", ".tmp-"), None);
    }
}
