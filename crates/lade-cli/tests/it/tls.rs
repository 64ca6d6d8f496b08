//! HTTPS: `lade registry serve --tls-cert/--tls-key`, and the client trusting a
//! registry's CA from `certs.d`.

use crate::support::*;

/// A CA and a server certificate for localhost/127.0.0.1, made with openssl.
fn certificates(t: &TestRoot) -> std::path::PathBuf {
    let dir = t.path("pki");
    std::fs::create_dir_all(&dir).unwrap();
    sh(&format!(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=lade test CA' 2>/dev/null \
         && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj '/CN=localhost' 2>/dev/null \
         && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext \
         && openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext 2>/dev/null \
         && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj '/CN=someone else' 2>/dev/null",
        dir.display()
    ));
    dir
}

#[test]
fn https_registry_with_a_ca_from_certs_d() {
    let t = TestRoot::new();
    let pki = certificates(&t);
    let reg = LadeRegistry::start(
        &t.path("registry"),
        &[
            "--tls-cert",
            pki.join("srv.crt").to_str().unwrap(),
            "--tls-key",
            pki.join("srv.key").to_str().unwrap(),
        ],
    );
    let port = reg.host.rsplit(':').next().unwrap().to_owned();
    let host = format!("localhost:{port}");
    // certs.d with the right CA, and one with a stranger's.
    for (name, ca) in [("good", "ca.crt"), ("bad", "other.crt")] {
        let d = t.path(name).join(&host);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(pki.join(ca), d.join("ca.crt")).unwrap();
    }
    let lade = |certs: &str, args: &[&str]| {
        Run::from(
            t.lade()
                .env("LADE_CERTS_DIRS", t.path(certs))
                .args(args)
                .output()
                .unwrap(),
        )
    };
    t.run_stdin(&["import", "-", "local:1"], &tarball(&[("f", b"over tls")]))
        .ok();
    let image = format!("{host}/secure/app:1");
    t.run(&["tag", "local:1", &image]).ok();
    lade("good", &["push", &image]).ok();
    // A fresh store pulls it back over verified TLS.
    let other = t.path("second");
    let pulled = Run::from(
        std::process::Command::new(env!("CARGO_BIN_EXE_lade"))
            .arg("--root")
            .arg(&other)
            .env("LADE_CERTS_DIRS", t.path("good"))
            .args(["pull", "-q", &image])
            .output()
            .unwrap(),
    )
    .ok();
    assert_eq!(pulled.stdout.trim(), image);
    // An untrusted certificate is refused with a hint, unless verification is turned off.
    lade("bad", &["pull", &image])
        .fails_with("invalid peer certificate")
        .fails_with("hint: the registry's certificate is not trusted");
    lade("bad", &["--tls-verify=false", "pull", "-q", &image]).ok();
    // curl agrees that it is real HTTPS with that CA.
    let answer = sh(&format!(
        "curl -s --cacert {} https://{host}/v2/",
        pki.join("ca.crt").display()
    ));
    assert_eq!(answer, "{}");
}
