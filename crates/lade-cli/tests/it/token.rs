//! `lade registry serve` with bearer tokens: per-user, per-repository rules, checked
//! through lade's own client, skopeo and raw HTTP.

use crate::support::*;

fn htpasswd(t: &TestRoot) -> std::path::PathBuf {
    let path = t.path("htpasswd");
    let mut text = String::new();
    for (u, p) in [("alice", "alicepass"), ("bob", "bobpass")] {
        text.push_str(&format!("{u}:{}\n", bcrypt::hash(p, 4).unwrap()));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn config(t: &TestRoot) -> std::path::PathBuf {
    let path = t.path("registry.toml");
    std::fs::write(
        &path,
        format!(
            r#"[auth]
htpasswd = "{}"
token = true
anonymous_pull = ["public/*"]
[[auth.rules]]
users = ["alice"]
repositories = ["*"]
actions = ["*"]
[[auth.rules]]
users = ["bob"]
repositories = ["bob/*"]
actions = ["pull", "push"]
"#,
            htpasswd(t).display()
        ),
    )
    .unwrap();
    path
}

/// Runs lade with its own DOCKER_CONFIG (credentials) in the test's directory.
fn lade_as(t: &TestRoot, who: &str, args: &[&str], stdin: &[u8]) -> Run {
    let dir = t.path(&format!("docker-{who}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lade"));
    let root = match who {
        // Pulls go to a store of their own per user.
        _ if args.first() == Some(&"pull") => t.path(&format!("pulled-{who}")),
        _ => t.root(),
    };
    c.arg("--root").arg(root).env_remove("LADE_ROOT");
    c.env("DOCKER_CONFIG", &dir).args(args);
    run_with_stdin(c, stdin)
}

#[test]
fn tokens_grant_what_the_rules_say_and_nothing_else() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(
        &t.path("registry"),
        &["--config", config(&t).to_str().unwrap()],
    );
    t.run_stdin(&["import", "-", "local:1"], &tarball(&[("f", b"tokens")]))
        .ok();
    let img = |r: &str| reg.image(r);

    // Wrong password: refused before anything is saved.
    lade_as(
        &t,
        "alice",
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        b"nope\n",
    )
    .fails_with("unauthorized");
    let ok = lade_as(
        &t,
        "alice",
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        b"alicepass\n",
    )
    .ok();
    assert!(!ok.stdout.contains("alicepass") && !ok.stderr.contains("alicepass"));
    lade_as(
        &t,
        "bob",
        &["login", "-u", "bob", "--password-stdin", &reg.host],
        b"bobpass\n",
    )
    .ok();

    // alice may push anywhere; bob only under bob/.
    for (who, repo, allowed) in [
        ("alice", "team/app:1", true),
        ("alice", "public/app:1", true),
        ("bob", "bob/app:1", true),
        ("bob", "team/app:2", false),
        ("anon", "public/app:2", false),
    ] {
        t.run(&["tag", "local:1", &img(repo)]).ok();
        let run = lade_as(&t, who, &["push", &img(repo)], b"");
        assert_eq!(
            run.code == 0,
            allowed,
            "{who} pushing {repo}: {}{}",
            run.stdout,
            run.stderr
        );
        if !allowed {
            assert!(run.stderr.contains("unauthorized"), "{}", run.stderr);
            assert!(run.stderr.contains("lade login"), "{}", run.stderr);
        }
    }
    // Pulls: anonymous only from public/*; bob not from team/.
    for (who, repo, allowed) in [
        ("anon", "public/app:1", true),
        ("anon", "team/app:1", false),
        ("bob", "team/app:1", false),
        ("bob", "bob/app:1", true),
        ("alice", "team/app:1", true),
    ] {
        let run = lade_as(&t, who, &["pull", "-q", &img(repo)], b"");
        assert_eq!(
            run.code == 0,
            allowed,
            "{who} pulling {repo}: {}",
            run.stderr
        );
    }
    // skopeo speaks the same token flow.
    let digest = json(&sh(&format!(
        "skopeo inspect --tls-verify=false --creds alice:alicepass docker://{}",
        img("team/app:1")
    )))["Digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(digest.starts_with("sha256:"));

    // Raw HTTP: a token for bob/app does not open team/app; no data leaks on refusal.
    let token = json(&sh(&format!(
        "curl -sf -u bob:bobpass 'http://{}/token?service=lade-registry&scope=repository:bob/app:pull&scope=repository:team/app:pull'",
        reg.host
    )));
    let token = token["token"].as_str().unwrap();
    let code = |path: &str, auth: &str| {
        sh(&format!(
            "curl -s -o /dev/null -w '%{{http_code}}' -H 'Authorization: {auth}' http://{}{path}",
            reg.host
        ))
    };
    assert_eq!(
        code("/v2/bob/app/manifests/1", &format!("Bearer {token}")),
        "200"
    );
    assert_eq!(
        code("/v2/team/app/manifests/1", &format!("Bearer {token}")),
        "401"
    );
    assert_eq!(
        code("/v2/team/app/manifests/1", "Bearer forged.token"),
        "401"
    );
    let mut forged = token.to_owned();
    forged.insert(5, 'x');
    assert_eq!(
        code("/v2/bob/app/manifests/1", &format!("Bearer {forged}")),
        "401"
    );
    let headers = sh(&format!(
        "curl -s -D - -o /dev/null http://{}/v2/team/app/manifests/1",
        reg.host
    ));
    assert!(
        headers.contains(&format!(
            "Bearer realm=\"http://{}/token\",service=\"lade-registry\",scope=\"repository:team/app:pull\"",
            reg.host
        )),
        "{headers}"
    );
    assert!(
        !headers
            .to_ascii_lowercase()
            .contains("docker-content-digest"),
        "{headers}"
    );
    // Wrong credentials at the token endpoint: 401.
    assert_eq!(
        sh(&format!(
            "curl -s -o /dev/null -w '%{{http_code}}' -u bob:wrong 'http://{}/token?scope=repository:bob/app:pull'",
            reg.host
        )),
        "401"
    );
}
