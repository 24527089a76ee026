//! Starting the server and finding the clients.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cypdash");

/// A query that runs for minutes on the demo data (20,000 referrals: a
/// three-way cross join of 8e12 rows; a sum, so that no statistic answers it).
pub const ENDLESS: &str =
    "SELECT sum(a.referral_id + b.referral_id + c.referral_id) FROM referral a, referral b, referral c";

/// A running `cypdash serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// `cypdash <global> serve --port 0 <args>` over the demo data, once it
    /// listens.
    pub fn start(global: &[&str], args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(global)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cypdash serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start listening; its log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        let port = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no address in the first line: {line}"));
        Server { child, port, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait up to `within` for the server's log to contain `text`.
    pub fn wait_for_log(&self, text: &str, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.log().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// A value from /proc/PID/status in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run the cypdash binary itself (the reference for what the server returns).
pub fn cypdash(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run cypdash");
    assert!(
        out.status.success(),
        "cypdash {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Whether a client can run. When it cannot: with CYPDASH_SKIP_BROWSER=1
/// say so and skip (false); otherwise fail, naming what to install.
pub fn available(found: bool, what: &str) -> bool {
    if found {
        return true;
    }
    if std::env::var("CYPDASH_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("skipped: {what} is not installed (CYPDASH_SKIP_BROWSER=1)");
        return false;
    }
    panic!(
        "{what} is not installed; scripts/test.sh installs it \
         (CYPDASH_SKIP_BROWSER=1 skips the client tests instead)"
    );
}

/// `psql` on PATH.
pub fn psql_found() -> bool {
    Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// psql against the server as `analyst`, no password prompt, no psqlrc.
pub fn psql(port: u16, args: &[&str]) -> Output {
    psql_as(port, "analyst", None, args)
}

pub fn psql_as(port: u16, user: &str, password: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "--no-password", "-h", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .args(["-U", user, "-d", "cypdash", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "20")
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("run psql")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A Python that imports `module`: Debian's (/usr/bin/python3, where the
/// python3-* packages install) before any other on PATH.
fn python_with(module: &str) -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The Python for `module`, or None (after [`available`]'s skip) when none
/// has it; `package` names the Debian package that installs it.
pub fn python_or_skip(module: &str, package: &str) -> Option<PathBuf> {
    let python = python_with(module);
    if python.is_none() {
        available(false, &format!("Python {module} ({package})"));
    }
    python
}

/// Run a Python program given as text.
pub fn python_inline(python: &Path, program: &str) -> Output {
    Command::new(python)
        .args(["-c", program])
        .output()
        .expect("run python")
}

/// Run one of tests/serve/clients/*.py and parse the JSON it prints.
pub fn run_script(python: &Path, script: &str, args: &[String]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/serve/clients")
        .join(script);
    let out = Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {}", stdout(&out)))
}

/// CSV text as rows of cells, each cell normalised so that psql's text
/// form and cypdash's CSV compare: numbers by value, booleans as
/// true/false, NULL as the empty string (both write NULL so).
pub fn csv_cells(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            r.expect("csv row")
                .iter()
                .map(|cell| match cell {
                    "t" => "true".to_string(),
                    "f" => "false".to_string(),
                    other => match other.parse::<f64>() {
                        Ok(v) => format!("{v:?}"),
                        Err(_) => other.to_string(),
                    },
                })
                .collect()
        })
        .collect()
}
