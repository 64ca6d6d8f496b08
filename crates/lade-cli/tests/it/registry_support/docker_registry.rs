//! Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1:0, with its
//! storage in a temp dir, open or behind htpasswd (Basic) auth; stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `docker-registry serve`.
#[derive(Debug)]
pub struct DockerRegistry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    /// Every line it logged after the listening line.
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl DockerRegistry {
    /// An open registry: anyone may pull and push.
    pub fn start() -> Self {
        Self::start_with(|_| String::new())
    }

    /// A registry that lets only `user` with `password` in (`auth: htpasswd`, a file
    /// written by `htpasswd -Bbn` from Debian's apache2-utils).
    pub fn with_htpasswd(user: &str, password: &str) -> Self {
        let (user, password) = (user.to_owned(), password.to_owned());
        Self::start_with(move |dir| {
            let line = Command::new("htpasswd")
                .args(["-Bbn", &user, &password])
                .output()
                .expect("run htpasswd (Debian package apache2-utils)");
            assert!(line.status.success(), "htpasswd failed: {line:?}");
            let file = dir.join("htpasswd");
            std::fs::write(&file, line.stdout).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: lade-tests\n    path: {}\n",
                file.display()
            )
        })
    }

    /// `extra(dir)` returns more configuration (YAML) for a registry whose files are in `dir`.
    fn start_with(extra: impl FnOnce(&std::path::Path) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let extra = extra(dir.path());
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: info\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:0\n  secret: lade-tests\n{extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docker-registry (Debian package docker-registry)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        // Reads the port from `msg="listening on 127.0.0.1:PORT"`, then keeps draining
        // the log so that the registry never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut early = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.find("listening on ") {
                    let addr: String = line[i + 13..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(Ok(addr));
                } else if early.len() < 50 {
                    early.push(line.clone());
                }
                sink.lock().unwrap().push(line);
            }
            let _ = tx.send(Err(early.join("\n")));
        });
        let host = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(host)) => host,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("docker-registry did not start: {other:?}");
            }
        };
        Self {
            child,
            host,
            log,
            _dir: dir,
        }
    }

    /// The lines logged so far (one `msg="response completed"` line per request, with
    /// `http.request.method=…` and `http.request.uri=…`).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// `127.0.0.1:PORT/REPO:TAG`
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
