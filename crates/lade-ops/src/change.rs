//! The Dockerfile instructions `docker import --change` accepts, applied to an image
//! config (Docker's `BuildFromConfig`): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
//! STOPSIGNAL, USER, VOLUME, WORKDIR.

use std::collections::BTreeMap;

use lade_oci::ContainerConfig;

/// A `--change` that lade cannot apply.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("{0} is not a valid change command")]
    NotAllowed(String),
    #[error("{instruction} requires at least one argument")]
    MissingArgument { instruction: String },
    #[error("{instruction}: {reason}")]
    Invalid { instruction: String, reason: String },
}

/// Applies each change, in order, to `config`.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<(), ChangeError> {
    for change in changes {
        for line in change.lines().map(str::trim).filter(|l| !l.is_empty()) {
            apply_one(config, line)?;
        }
    }
    Ok(())
}

fn apply_one(config: &mut ContainerConfig, line: &str) -> Result<(), ChangeError> {
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    let instruction = word.to_ascii_uppercase();
    let allowed = [
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "LABEL",
        "ONBUILD",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ];
    if !allowed.contains(&instruction.as_str()) {
        return Err(ChangeError::NotAllowed(instruction));
    }
    let invalid = |reason: &str| ChangeError::Invalid {
        instruction: instruction.clone(),
        reason: reason.to_owned(),
    };
    if rest.is_empty() && instruction != "CMD" && instruction != "ENTRYPOINT" {
        return Err(ChangeError::MissingArgument { instruction });
    }
    match instruction.as_str() {
        "CMD" => config.cmd = Some(command(rest)),
        "ENTRYPOINT" => config.entrypoint = Some(command(rest)),
        "ENV" => {
            let env = config.env.get_or_insert_with(Vec::new);
            for (k, v) in name_values(rest, true).map_err(|r| invalid(&r))? {
                env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in name_values(rest, false).map_err(|r| invalid(&r))? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in words(rest).map_err(|r| invalid(&r))? {
                for port in expand_port(&p).map_err(|r| invalid(&r))? {
                    ports.insert(port, serde_json::json!({}));
                }
            }
        }
        "VOLUME" => {
            let vols = config.volumes.get_or_insert_with(BTreeMap::new);
            let list = match json_array(rest) {
                Some(v) => v,
                None => words(rest).map_err(|r| invalid(&r))?,
            };
            for v in list {
                if v.is_empty() {
                    return Err(invalid("VOLUME specified can not be an empty string"));
                }
                vols.insert(v, serde_json::json!({}));
            }
        }
        "USER" => config.user = Some(rest.to_owned()),
        "STOPSIGNAL" => config.stop_signal = Some(rest.to_owned()),
        "WORKDIR" => {
            let base = config.working_dir.clone().unwrap_or_default();
            config.working_dir = Some(if rest.starts_with('/') {
                rest.to_owned()
            } else {
                join_clean(&base, rest)
            });
        }
        "ONBUILD" => {
            let trigger = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if matches!(trigger.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(invalid(&format!(
                    "{trigger} isn't allowed as an ONBUILD trigger"
                )));
            }
            config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_owned());
        }
        _ => unreachable!("checked against the allowed list above"),
    }
    Ok(())
}

/// Exec form (`["a","b"]`) or shell form (`/bin/sh -c "…"`).
fn command(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    json_array(rest).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), rest.to_owned()])
}

fn json_array(rest: &str) -> Option<Vec<String>> {
    if !rest.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(rest).ok()
}

/// Splits on white space, honouring quotes and backslash escapes as Dockerfile words do.
fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => cur.push('\\'),
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unmatched quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `k=v k2="v 2"`, or for ENV the legacy `k v w` (one variable, the rest its value).
fn name_values(rest: &str, legacy_ok: bool) -> Result<Vec<(String, String)>, String> {
    let parts = words(rest)?;
    let first_has_eq = parts.first().is_some_and(|p| p.contains('='));
    if !first_has_eq {
        if !legacy_ok || parts.is_empty() {
            return Err(format!("{rest:?} is not of the form key=value"));
        }
        // Legacy form: the raw text after the key is the value.
        let key = parts[0].clone();
        let value = rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..].trim();
        if value.is_empty() {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(vec![(key, value.to_owned())]);
    }
    parts
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("{p:?} is not of the form key=value")),
        })
        .collect()
}

fn expand_port(p: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = match p.split_once('/') {
        Some((ports, proto)) => (ports, proto.to_ascii_lowercase()),
        None => (p, "tcp".to_owned()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("invalid containerPort: {s}"))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(ports)?, parse(ports)?),
    };
    if hi < lo {
        return Err(format!(
            "invalid range specified for container port: {ports}"
        ));
    }
    Ok((lo..=hi).map(|n| format!("{n}/{proto}")).collect())
}

fn join_clean(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in base.split('/').chain(rel.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn apply(changes: &[&str]) -> Result<ContainerConfig, ChangeError> {
        let mut c = ContainerConfig::default();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply_changes(&mut c, &changes)?;
        Ok(c)
    }

    #[test]
    fn the_documented_examples() {
        // docs.docker.com `docker import`: --change "CMD /bin/bash" and ENV DEBUG=true
        let c = apply(&["CMD /bin/bash", "ENV DEBUG=true"]).unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/sh", "-c", "/bin/bash"]);
        assert_eq!(c.env.unwrap(), vec!["DEBUG=true"]);
    }

    #[test]
    fn exec_forms_env_labels_ports_volumes() {
        let c = apply(&[
            r#"ENTRYPOINT ["/app", "--serve"]"#,
            r#"cmd ["--port", "80"]"#,
            r#"ENV A=1 B="two words" A=3"#,
            "ENV LEGACY some value",
            r#"LABEL org.opencontainers.image.description="a test" x=y"#,
            "EXPOSE 80 53/udp 8000-8001",
            r#"VOLUME ["/data", "/logs"]"#,
            "VOLUME /cache",
            "USER 1000:1000",
            "WORKDIR /srv",
            "WORKDIR app/../web",
            "STOPSIGNAL SIGTERM",
            "ONBUILD RUN echo hi",
        ])
        .unwrap();
        assert_eq!(c.entrypoint.unwrap(), vec!["/app", "--serve"]);
        assert_eq!(c.cmd.unwrap(), vec!["--port", "80"]);
        assert_eq!(
            c.env.unwrap(),
            vec!["B=two words", "A=3", "LEGACY=some value"]
        );
        let labels = c.labels.unwrap();
        assert_eq!(labels["org.opencontainers.image.description"], "a test");
        assert_eq!(labels["x"], "y");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, vec!["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        let vols: Vec<_> = c.volumes.unwrap().into_keys().collect();
        assert_eq!(vols, vec!["/cache", "/data", "/logs"]);
        assert_eq!(c.user.unwrap(), "1000:1000");
        assert_eq!(c.working_dir.unwrap(), "/srv/web");
        assert_eq!(c.stop_signal.unwrap(), "SIGTERM");
        assert_eq!(c.on_build.unwrap(), vec!["RUN echo hi"]);
    }

    #[rstest]
    #[case("RUN echo hi", "RUN is not a valid change command")]
    #[case("FROM scratch", "FROM is not a valid change command")]
    #[case("ADD a b", "ADD is not a valid change command")]
    #[case("ENV", "ENV requires at least one argument")]
    #[case("EXPOSE 80/icmp", "EXPOSE: invalid proto: icmp")]
    #[case("EXPOSE http", "EXPOSE: invalid containerPort: http")]
    #[case("LABEL novalue", "LABEL: \"novalue\" is not of the form key=value")]
    #[case("ENV A=\"unterminated", "ENV: unmatched quote")]
    #[case("ONBUILD FROM x", "ONBUILD: FROM isn't allowed as an ONBUILD trigger")]
    fn refuses_what_docker_refuses(#[case] change: &str, #[case] message: &str) {
        assert_eq!(apply(&[change]).unwrap_err().to_string(), message);
    }
}
