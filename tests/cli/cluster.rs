//! The Ballista cluster (`--features cluster`, issue #16): a scheduler and
//! two executors started from the built binary on localhost run the whole
//! dashboard of the demo data and of a generated 100,000-referral set; every
//! exported chart equals the single-machine export. An executor killed
//! mid-run leaves either the same export (its tasks rerun on the other) or
//! a clear error and no export at all.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cache::assert_same;
use crate::common::{cypdash, output, root};

/// A free port on localhost (the listener is dropped at once; a race with
/// another process taking it is possible but not seen on a test machine).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something listens on `port`, or fail naming `what`.
fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and its executors, killed when dropped.
struct Cluster {
    url: String,
    scheduler: Child,
    executors: Vec<Child>,
    _work: tempfile::TempDir,
}

impl Cluster {
    fn start(executors: usize) -> Self {
        let work = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut scheduler = process(&[
            "cluster",
            "scheduler",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--executor-timeout",
            "15",
        ]);
        wait_listening(port, "the scheduler", &mut scheduler);
        let url = format!("df://127.0.0.1:{port}");
        let executors = (0..executors)
            .map(|i| {
                let (flight, grpc) = (free_port(), free_port());
                let dir = work.path().join(format!("executor-{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                let mut child = process(&[
                    "cluster",
                    "executor",
                    "--scheduler",
                    &url,
                    "--port",
                    &flight.to_string(),
                    "--grpc-port",
                    &grpc.to_string(),
                    "--concurrency",
                    "2",
                    "--work-dir",
                    dir.to_str().unwrap(),
                ]);
                wait_listening(flight, "an executor", &mut child);
                child
            })
            .collect();
        // Executors register with their first heartbeat, right after they
        // listen.
        std::thread::sleep(Duration::from_secs(2));
        Self {
            url,
            scheduler,
            executors,
            _work: work,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain([&mut self.scheduler]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `cypdash ARGS` in the background, its output discarded.
fn process(args: &[&str]) -> Child {
    Command::new(insta_cmd::get_cargo_bin("cypdash"))
        .current_dir(root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `cypdash [--cluster URL --cache DIR] --data DATA export --format csv`.
fn export(data: &Path, cluster: Option<(&str, &Path)>, out: &Path) -> Command {
    let mut cmd = cypdash();
    cmd.arg("--quiet").arg("--data").arg(data);
    if let Some((url, cache)) = cluster {
        cmd.args(["--cluster", url]).arg("--cache").arg(cache);
    }
    cmd.args(["export", "--format", "csv", "--out"]).arg(out);
    cmd
}

fn run_ok(cmd: &mut Command) {
    let (code, _, stderr) = output(cmd);
    assert_eq!(code, 0, "{stderr}");
}

/// A generated data set of `referrals` (seed 16), made once per test.
fn generated(dir: &Path, referrals: u64) -> PathBuf {
    let data = dir.join(format!("gen-{referrals}"));
    run_ok(
        cypdash()
            .args(["--quiet", "generate", "--seed", "16", "--referrals"])
            .arg(referrals.to_string())
            .arg("--out")
            .arg(&data),
    );
    data
}

#[test]
fn the_dashboard_on_a_cluster_equals_the_single_machine_export() {
    let cluster = Cluster::start(2);
    let tmp = tempfile::tempdir().unwrap();
    let demo = root().join("data/demo");
    let big = generated(tmp.path(), 100_000);
    for (name, data) in [("demo", demo.as_path()), ("100k", big.as_path())] {
        let local = tmp.path().join(format!("{name}-local"));
        let remote = tmp.path().join(format!("{name}-cluster"));
        let cache = tmp.path().join(format!("{name}-cache"));
        run_ok(&mut export(data, None, &local));
        run_ok(&mut export(data, Some((&cluster.url, &cache)), &remote));
        // Floats to 1e-10 relative: the executors sum other partitions
        // than one process does (assert_same explains the bound).
        assert_same(&local, &remote);
    }
}

#[test]
fn a_killed_executor_gives_the_same_export_or_a_clear_error_and_none() {
    let mut cluster = Cluster::start(2);
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), 100_000);
    let local = tmp.path().join("local");
    run_ok(&mut export(&data, None, &local));

    let out = tmp.path().join("cluster");
    let cache = tmp.path().join("cache");
    let mut run = export(&data, Some((&cluster.url, &cache)), &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the second executor once the run is under way (the shared
    // blocks take several seconds at this size).
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run ended before the kill"
    );
    cluster.executors[1].kill().unwrap();
    cluster.executors[1].wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the run hangs after the kill");
        std::thread::sleep(Duration::from_millis(200));
    };
    let stderr = {
        use std::io::Read;
        let mut s = String::new();
        run.stderr.take().unwrap().read_to_string(&mut s).unwrap();
        s
    };
    // Which way it went shows with --nocapture.
    eprintln!(
        "after the kill: {}",
        match status.success() {
            true => "the run finished (lost tasks rerun on the other executor)".to_string(),
            false => format!("the run failed: {}", stderr.trim()),
        }
    );
    if status.success() {
        assert_same(&local, &out);
    } else {
        // All or nothing: no export folder, no half-written files beside it.
        assert!(!out.exists(), "a failed run left {}", out.display());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".cluster") || n.contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // The error line (warnings may come before it).
        assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
    }
}

#[test]
fn a_cluster_needs_a_cache_and_a_reachable_scheduler() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = root().join("data/demo");
    let out = tmp.path().join("out");

    let (code, _, stderr) = output(
        cypdash()
            .arg("--data")
            .arg(&demo)
            .args(["--cluster", "df://127.0.0.1:1", "export", "--out"])
            .arg(&out),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("needs --cache DIR"), "{stderr}");

    // Nothing listens on port 1: a clear error, soon, and no export.
    let started = Instant::now();
    let (code, _, stderr) = output(&mut export(
        &demo,
        Some(("df://127.0.0.1:1", &tmp.path().join("cache"))),
        &out,
    ));
    assert_ne!(code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!out.exists());

    // serve's chart tables run in its own process: refused, not half-served.
    let (code, _, stderr) = output(
        cypdash()
            .arg("--data")
            .arg(&demo)
            .args(["--cluster", "df://127.0.0.1:1", "--cache"])
            .arg(tmp.path().join("cache"))
            .arg("serve"),
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("serve does not run on a cluster"),
        "{stderr}"
    );

    let (code, _, stderr) = output(cypdash().args(["--cluster", "http://x:1", "list"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("df://HOST:PORT"), "{stderr}");
}
