//! A private, throwaway PostgreSQL cluster for the demo and the tests: `initdb` into a directory of
//! ours, a free loopback port, trust authentication, durability off (nothing here outlives the run).
//!
//! PostgreSQL refuses to run as root, so when we are root the cluster runs as the `postgres` system
//! user (or `nobody`) and its directory is handed to that user.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What went wrong starting or stopping the private cluster.
#[derive(Debug, thiserror::Error)]
pub enum LocalPostgresError {
    /// The PostgreSQL server binaries are not installed where we look.
    #[error(
        "PostgreSQL server binaries not found (looked for initdb in PG_BIN_DIR, /usr/lib/postgresql/*/bin and PATH); \
         install PostgreSQL 15 (Debian: apt-get install postgresql-15) or set DATABASE_URL"
    )]
    BinariesNotFound,
    /// A command failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// Which command.
        command: String,
        /// Its output or the reason.
        detail: String,
    },
    /// A filesystem operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A running private cluster. Stopped (and, if throwaway, deleted) on [`LocalPostgres::stop`] or drop.
#[derive(Debug)]
pub struct LocalPostgres {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    throwaway: bool,
    running: bool,
    /// The server options it was started with, so a restart brings back the same server.
    options: String,
}

impl LocalPostgres {
    /// Creates a fresh cluster in `root` (emptied first) and starts it. With `throwaway`, the directory
    /// is deleted when the cluster stops.
    pub fn start_fresh(root: &Path, throwaway: bool) -> Result<Self, LocalPostgresError> {
        Self::start_fresh_with(root, throwaway, &[])
    }

    /// [`LocalPostgres::start_fresh`] with extra server settings (`-c name=value`), e.g. to preload
    /// `pg_stat_statements` for a benchmark.
    pub fn start_fresh_with(
        root: &Path,
        throwaway: bool,
        settings: &[(&str, &str)],
    ) -> Result<Self, LocalPostgresError> {
        let bin_dir = find_bin_dir().ok_or(LocalPostgresError::BinariesNotFound)?;
        if root.exists() {
            if root.join("data/postmaster.pid").exists() {
                // A cluster left running by an earlier, interrupted run: stop it before reusing the folder.
                let _ = Self::stop_at(root);
            }
            fs::remove_dir_all(root).map_err(|source| io("removing", root, source))?;
        }
        fs::create_dir_all(root).map_err(|source| io("creating", root, source))?;
        let root = root.canonicalize().map_err(|source| io("resolving", root, source))?;
        let run_as = unprivileged_owner();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).map_err(|source| io("chown", &root, source))?;
            open_path_for_traversal(&root);
        }

        let mut cluster =
            Self { root: root.clone(), bin_dir, port: 0, run_as, throwaway, running: false, options: String::new() };
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&root.join("data")),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        cluster.port = free_port().map_err(|source| io("finding a free port near", &root, source))?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='{}' -c max_connections=300 \
             -c shared_buffers=128MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            cluster.port,
            root.display()
        );
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        cluster.options = options;
        cluster.start()?;
        Ok(cluster)
    }

    fn start(&mut self) -> Result<(), LocalPostgresError> {
        let data = self.root.join("data");
        let log = self.root.join("postgres.log");
        self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-l", path_str(&log), "-o", &self.options, "-w", "-t", "60", "start"],
        )?;
        self.running = true;
        Ok(())
    }

    /// Stops the server the way a crash would (`-m immediate`: no shutdown checkpoint, connections cut)
    /// and starts it again on the same port; it recovers from its WAL.
    pub fn restart_after_crash(&mut self) -> Result<(), LocalPostgresError> {
        self.run("pg_ctl", &["-D", path_str(&self.root.join("data")), "-m", "immediate", "-w", "stop"])?;
        self.running = false;
        self.start()
    }

    /// A URL for `database` as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The port the cluster listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where its server binaries are (`pg_waldump` among them).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Keeps the cluster running after this handle is dropped (for `dev-postgres start`).
    pub fn detach(mut self) {
        self.running = false;
    }

    /// Stops the cluster and, if throwaway, deletes its directory.
    pub fn stop(&mut self) -> Result<(), LocalPostgresError> {
        if self.running {
            self.running = false;
            Self::stop_at(&self.root)?;
        }
        if self.throwaway && self.root.exists() {
            fs::remove_dir_all(&self.root).map_err(|source| io("removing", &self.root, source))?;
        }
        Ok(())
    }

    /// Stops a cluster started earlier in `root` by another process.
    pub fn stop_at(root: &Path) -> Result<(), LocalPostgresError> {
        let bin_dir = find_bin_dir().ok_or(LocalPostgresError::BinariesNotFound)?;
        let this = Self {
            root: root.to_path_buf(),
            bin_dir,
            port: 0,
            run_as: unprivileged_owner(),
            throwaway: false,
            running: false,
            options: String::new(),
        };
        this.run("pg_ctl", &["-D", path_str(&root.join("data")), "-m", "fast", "-w", "stop"])
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), LocalPostgresError> {
        let mut command = Command::new(self.bin_dir.join(program));
        command.args(args).stdin(Stdio::null()).env("LC_ALL", "C").current_dir(&self.root);
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid).env("HOME", &self.root);
        }
        let output = command
            .output()
            .map_err(|e| LocalPostgresError::Command { command: program.into(), detail: e.to_string() })?;
        if output.status.success() {
            Ok(())
        } else {
            let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            if let Ok(log) = fs::read_to_string(self.root.join("postgres.log")) {
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                detail.push_str("\npostgres.log (last lines):\n");
                detail.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
            Err(LocalPostgresError::Command { command: program.into(), detail })
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("warning: stopping the private PostgreSQL failed: {e}");
        }
    }
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> LocalPostgresError {
    LocalPostgresError::Io { what, path: path.to_path_buf(), source }
}

fn path_str(path: &Path) -> &str {
    // Our own directories; a non-UTF-8 path would have failed at creation.
    path.to_str().unwrap_or_default()
}

/// PG_BIN_DIR, then the newest /usr/lib/postgresql/<v>/bin (15 first: the version we test on), then PATH.
fn find_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").exists().then_some(dir);
    }
    let preferred = Path::new("/usr/lib/postgresql/15/bin");
    if preferred.join("initdb").exists() {
        return Some(preferred.to_path_buf());
    }
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some(dir) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}

/// When running as root, the uid/gid the cluster runs as.
fn unprivileged_owner() -> Option<(u32, u32)> {
    // SAFETY-free check: /proc/self/status tells our effective uid without libc.
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let euid: u32 = status.lines().find(|l| l.starts_with("Uid:"))?.split_whitespace().nth(2)?.parse().ok()?;
    if euid != 0 {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    ["postgres", "nobody"].iter().find_map(|user| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 3 && fields[0] == *user)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    })
}

/// The unprivileged user must be able to reach its directory: give "others" search permission on each
/// ancestor that lacks it (directories we created under the project, or a 0700 temp dir).
fn open_path_for_traversal(dir: &Path) {
    for ancestor in dir.ancestors().skip(1) {
        if let Ok(meta) = fs::metadata(ancestor) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let _ = fs::set_permissions(ancestor, fs::Permissions::from_mode(mode | 0o001));
            }
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
