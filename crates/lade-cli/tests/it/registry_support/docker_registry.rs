//! Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1:0, with its
//! storage in a temp dir; stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `docker-registry serve`.
#[derive(Debug)]
pub struct DockerRegistry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    _dir: tempfile::TempDir,
}

impl DockerRegistry {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: info\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:0\n  secret: lade-tests\n",
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
        // Reads the port from `msg="listening on 127.0.0.1:PORT"`, then keeps draining
        // the log so that the registry never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut log = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.find("listening on ") {
                    let addr: String = line[i + 13..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(Ok(addr));
                } else if log.len() < 50 {
                    log.push(line);
                }
            }
            let _ = tx.send(Err(log.join("\n")));
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
            _dir: dir,
        }
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
