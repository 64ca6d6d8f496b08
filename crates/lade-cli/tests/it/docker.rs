//! Docker itself against lade: a real dockerd (Debian's docker.io, started with its own
//! roots and socket) logs in to, pulls from, pushes to and searches lade's registry, and
//! lade pulls what Docker pushed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A dockerd of the test's own; stopped on drop.
struct Dockerd {
    child: Child,
    sock: String,
    config: std::path::PathBuf,
}

impl Dockerd {
    fn start(t: &TestRoot) -> Option<Self> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            eprintln!("skipped: dockerd is not installed");
            return None;
        }
        let dir = t.path("dockerd");
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("docker.sock");
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(["--iptables=false", "--bridge=none"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("start dockerd");
        let d = Self {
            child,
            sock: format!("unix://{}", sock.display()),
            config: dir.join("config"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if d.docker(&["info"]).status.success() {
                return Some(d);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "dockerd did not start:\n{}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(&self.sock)
            .args(args)
            .env("DOCKER_CONFIG", &self.config)
            .output()
            .expect("run docker")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_uses_lades_registry() {
    let t = TestRoot::new();
    let Some(docker) = Dockerd::start(&t) else {
        return;
    };
    let htpasswd = t.path("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("ci:{}\n", bcrypt::hash("cipass", 4).unwrap()),
    )
    .unwrap();
    let config = t.path("registry.toml");
    std::fs::write(
        &config,
        // Token mode: Docker pulls anonymously with an anonymous token, pushes with its own.
        format!(
            "[auth]\nhtpasswd = \"{}\"\ntoken = true\nanonymous_pull = [\"*\"]\n",
            htpasswd.display()
        ),
    )
    .unwrap();
    let reg = LadeRegistry::start(&t.path("registry"), &["--config", config.to_str().unwrap()]);

    // lade pushes an image with a description; Docker pulls it and finds it by search.
    t.run_stdin(
        &[
            "import",
            "-",
            "app:1",
            "-c",
            "LABEL org.opencontainers.image.description=\"made by lade\"",
        ],
        &tarball(&[("bin/app", &noise(50_000, 4))]),
    )
    .ok();
    let image = reg.image("team/app:1");
    t.run(&["tag", "app:1", &image]).ok();
    // lade needs credentials to push.
    let creds = t.path("lade-docker-config");
    std::fs::create_dir_all(&creds).unwrap();
    let lade_env = |args: &[&str], stdin: &[u8]| {
        let mut c = t.lade();
        c.env("DOCKER_CONFIG", &creds).args(args);
        run_with_stdin(c, stdin)
    };
    lade_env(
        &["login", "-u", "ci", "--password-stdin", &reg.host],
        b"cipass",
    )
    .ok();
    let pushed = lade_env(&["push", &image], b"").ok();
    let digest = pushed
        .stdout
        .split("digest: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();

    let pulled = docker.ok(&["pull", &image]);
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    let repo_digests = docker.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &image,
    ]);
    assert!(repo_digests.contains(&digest), "{repo_digests}");
    let search = docker.ok(&["search", &format!("{}/team", reg.host)]);
    assert!(
        search.contains("team/app") && search.contains("made by lade"),
        "{search}"
    );

    // Docker logs in and pushes; the shared layer is mounted, and lade pulls the result.
    let login = Command::new("docker")
        .args([
            "-H",
            &docker.sock,
            "login",
            "-u",
            "ci",
            "--password-stdin",
            &reg.host,
        ])
        .env("DOCKER_CONFIG", &docker.config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::io::Write::write_all(&mut c.stdin.take().unwrap(), b"cipass")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        String::from_utf8_lossy(&login.stdout).contains("Login Succeeded"),
        "{login:?}"
    );
    let other = reg.image("docker/pushed:1");
    docker.ok(&["tag", &image, &other]);
    let push = docker.ok(&["push", &other]);
    assert!(push.contains("Mounted from team/app"), "{push}");
    let docker_digest = push
        .split("digest: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let second = t.path("second");
    let run = Run::from(
        Command::new(env!("CARGO_BIN_EXE_lade"))
            .arg("--root")
            .arg(&second)
            .args(["pull", &other])
            .output()
            .unwrap(),
    )
    .ok();
    assert!(
        run.stderr.contains(&format!("Digest: {docker_digest}")),
        "{}",
        run.stderr
    );
    // The image's SIZE is what Docker counts (its files' bytes), whether lade imported
    // it or pulled what Docker pushed.
    let docker_size = docker.ok(&["image", "inspect", "--format", "{{.Size}}", &other]);
    assert_eq!(docker_size.trim(), content_size(50_000).to_string());
    assert_eq!(
        t.run(&["inspect", "--format", "{{.Size}}", &image])
            .ok()
            .stdout,
        docker_size
    );
    let pulled_size = Run::from(
        Command::new(env!("CARGO_BIN_EXE_lade"))
            .arg("--root")
            .arg(&second)
            .args(["inspect", "--format", "{{.Size}}", &other])
            .output()
            .unwrap(),
    )
    .ok();
    assert_eq!(pulled_size.stdout, docker_size);
    // What `docker save` writes, lade loads; `images` then shows the rows Docker shows.
    let archive = t.path("docker-save.tar");
    docker.ok(&["save", "-o", archive.to_str().unwrap(), &other]);
    let third = t.path("third");
    let lade_third = |args: &[&str]| {
        Run::from(
            Command::new(env!("CARGO_BIN_EXE_lade"))
                .arg("--root")
                .arg(&third)
                .args(args)
                .output()
                .unwrap(),
        )
        .ok()
    };
    lade_third(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let row = "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}";
    assert_eq!(
        lade_third(&["images", "--format", row, &other]).stdout,
        docker.ok(&["images", "--format", row, &other])
    );
    // `lade manifest inspect -v` prints what `docker manifest inspect -v` prints.
    let docker_v = docker.ok(&["manifest", "inspect", "--insecure", "-v", &other]);
    let lade_v = t.run(&["manifest", "inspect", "-v", &other]).ok().stdout;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&lade_v).unwrap(),
        serde_json::from_str::<serde_json::Value>(&docker_v).unwrap(),
        "lade:\n{lade_v}\ndocker:\n{docker_v}"
    );
    // `docker manifest inspect` reads what lade serves.
    let m = docker.ok(&["manifest", "inspect", "--insecure", &other]);
    assert!(
        m.contains("application/vnd.docker.distribution.manifest.v2+json"),
        "{m}"
    );
    // Docker's wrong password is refused by lade's registry.
    let bad = Command::new("docker")
        .args([
            "-H",
            &docker.sock,
            "login",
            "-u",
            "ci",
            "-p",
            "wrong",
            &reg.host,
        ])
        .env("DOCKER_CONFIG", t.path("other-docker-config"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
