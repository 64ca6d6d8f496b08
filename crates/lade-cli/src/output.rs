//! How things look: Docker's sizes and durations, and hints that follow errors.

use std::io::{self, BufRead, IsTerminal, Write};

use lade_ops::LookupError;
use lade_ops::push::PushError;
use lade_store::StoreError;

/// Docker's `units.HumanSize`: base 1000, three significant digits (`7.8MB`, `133MB`).
pub fn human_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let mut s = significant(value, 3);
    s.push_str(UNITS[unit]);
    s
}

/// Go's `%.*g` for values below 1000: `precision` significant digits, no trailing zeros.
fn significant(value: f64, precision: i32) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (precision - 1 - magnitude).max(0) as usize;
    let mut s = format!("{value:.decimals$}");
    // Rounding can carry into a new digit (999.5 -> "1000"); Go prints that as 1e+03.
    if s.contains('.') {
        let kept = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(kept);
        s
    } else if s.len() as i32 > precision {
        format!("{}e+{:02}", &s[..1], s.len() - 1)
    } else {
        s
    }
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: std::time::Duration) -> String {
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", seconds / 3600 / 24 / 365)
    }
}

/// "2 weeks ago" for a time; "N/A" when it is unknown.
pub fn since(time: Option<jiff::Timestamp>, now: jiff::Timestamp) -> String {
    let Some(t) = time else {
        return "N/A".into();
    };
    let d = now.duration_since(t).unsigned_abs();
    format!("{} ago", human_duration(d))
}

/// Writes rows as Docker's tables are written (Go's tabwriter with minimum width 10
/// and padding 3): every cell but the last of a row is padded, widths counted in
/// characters.
pub fn write_table<S: AsRef<str>>(out: &mut impl Write, rows: &[Vec<S>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![10; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            widths[i] = widths[i].max(c.as_ref().chars().count() + 3);
        }
    }
    let mut text = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let c = c.as_ref();
            text.push_str(c);
            if i + 1 < r.len() {
                text.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count()));
            }
        }
        text.push('\n');
    }
    out.write_all(text.as_bytes())
}

/// Docker's `formatter.Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A time as Go's `time.RFC3339` prints it in the local time zone
/// (`2024-01-02T15:04:05+01:00`, `Z` for UTC).
pub fn rfc3339_local(t: jiff::Timestamp) -> String {
    let z = t.to_zoned(jiff::tz::TimeZone::system());
    let offset = z.offset();
    if offset.seconds() == 0 {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// A time as Go's `time.Time.String` prints it in the local time zone, which is what
/// `docker images` shows as CREATED AT: `2024-01-02 15:04:05 +0000 UTC`. An unknown
/// time is Go's zero time, as Docker prints it.
pub fn go_time_local(t: Option<jiff::Timestamp>) -> String {
    go_time_in(t, &jiff::tz::TimeZone::system())
}

/// [`go_time_local`] in the zone `tz` (look the local zone up once for many times).
pub fn go_time_in(t: Option<jiff::Timestamp>, tz: &jiff::tz::TimeZone) -> String {
    let Some(t) = t else {
        return "0001-01-01 00:00:00 +0000 UTC".to_owned();
    };
    let z = t.to_zoned(tz.clone());
    jiff::fmt::strtime::format("%Y-%m-%d %H:%M:%S %z %Z", &z)
        .or_else(|_| jiff::fmt::strtime::format("%Y-%m-%d %H:%M:%S %z", &z))
        .unwrap_or_else(|_| t.to_string())
}

/// Docker's confirmation prompt: prints `message [y/N] ` and reads one line; only `y`
/// or `Y` says yes. Standard input that ends without an answer when it is not a
/// terminal is an error ([`NoAnswer`]): a script must say `-f`.
pub fn confirm(message: &str) -> anyhow::Result<bool> {
    let mut stdout = io::stdout().lock();
    write!(stdout, "{message} [y/N] ")?;
    stdout.flush()?;
    drop(stdout);
    let stdin = io::stdin();
    let mut answer = String::new();
    let n = stdin.lock().read_line(&mut answer)?;
    if n == 0 && !stdin.is_terminal() {
        writeln!(io::stdout().lock())?;
        return Err(NoAnswer.into());
    }
    let answer = answer.trim();
    Ok(answer == "y" || answer == "Y")
}

/// The confirmation prompt got no answer.
#[derive(Debug)]
pub struct NoAnswer;

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "no answer to the confirmation prompt (standard input is not a terminal): nothing was removed",
        )
    }
}

impl std::error::Error for NoAnswer {}

/// Prints what a check (`system check`, `registry check`) found and repaired, then
/// `checked WHAT: N problems`; with `damaged` (found and left), the hint on stderr and
/// exit 1.
pub fn print_check<P: std::fmt::Display>(
    problems: &[P],
    repairs: &[String],
    what: &str,
    damaged: bool,
    repair: bool,
    hint: &str,
) -> anyhow::Result<i32> {
    let mut out = io::stdout().lock();
    for p in problems {
        writeln!(out, "{p}")?;
    }
    for r in repairs {
        writeln!(out, "repaired: {r}")?;
    }
    writeln!(
        out,
        "checked {what}: {} problems{}",
        problems.len(),
        if repair { ", repaired" } else { "" }
    )?;
    if damaged {
        writeln!(io::stderr().lock(), "hint: {hint}")?;
        return Ok(crate::exit::FAILURE);
    }
    Ok(crate::exit::SUCCESS)
}

/// What to do after `image mount` or `image unmount` failed.
pub fn mount_hint(e: &lade_ops::mount::MountError) -> Option<String> {
    use lade_ops::mount::MountError as E;
    Some(match e {
        E::NotMounted(_) => "`lade image mount` lists the mounted images".into(),
        E::MountedElsewhere { .. } => {
            "unmount it first (`lade image unmount IMAGE`), or leave out DIR".into()
        }
        E::Lookup(_) => "`lade images` lists the images in the store".into(),
        E::OverlayUnsupported(_)
        | E::Overlay { .. }
        | E::Archive(lade_ops::mount::ArchiveError::OverlayWhiteout { .. }) => {
            "use the copy driver (`--driver copy`), which works without privileges".into()
        }
        E::Unmount { .. } if e.is_busy() => {
            "leave the directory and close what is open under it, or pass --force to detach it"
                .into()
        }
        E::Archive(lade_ops::mount::ArchiveError::LayerDiffId { .. }) => {
            "the image's layers do not match its config: pull or load it again from its source"
                .into()
        }
        _ => return None,
    })
}

/// What to try next after an error.
pub fn hints_for(err: &anyhow::Error) -> Vec<String> {
    let mut hints = Vec::new();
    for cause in err.chain() {
        if let Some(e) = store_error(cause) {
            match e {
                StoreError::NotAStore(_) | StoreError::NotADirectory(_) => hints.push(
                    "point --root (or $LADE_ROOT) at an empty directory or an existing lade store"
                        .into(),
                ),
                StoreError::UnsupportedVersion { .. } => {
                    hints.push("use the lade version that wrote this store, or a newer one".into())
                }
                // A download that failed verification was never stored: nothing to repair.
                StoreError::DigestMismatch { .. }
                    if err.chain().any(|c| {
                        matches!(
                            c.downcast_ref::<lade_ops::pull::PullError>(),
                            Some(lade_ops::pull::PullError::LayerVerification { .. })
                        )
                    }) =>
                {
                    hints.push(
                        "the registry (or something between) sent corrupt data, and none of it was kept: pull again".into(),
                    )
                }
                StoreError::CorruptIndex { .. } => {
                    hints.push(
                        "run `lade system check --repair` to rebuild index.json from what can be read of it and from the images in the store (the damaged file is kept as index.corrupt)".into(),
                    )
                }
                StoreError::CorruptRecords { .. } => {
                    hints.push(
                        "run `lade system check --repair` to rebuild lade's image records from the blobs".into(),
                    )
                }
                StoreError::DigestMismatch { .. } | StoreError::BlobMissing(_) => hints.push(
                    "run `lade system check` to see what is damaged, and `lade system check --repair` to drop it".into(),
                ),
                _ => {}
            }
        }
        if let Some(e) = cause.downcast_ref::<crate::format::FormatError>() {
            hints.extend(e.hints());
        }
        if let Some(hint) = cause
            .downcast_ref::<lade_ops::mount::MountError>()
            .and_then(mount_hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<lade_client::ResolveError>()
            .and_then(lade_client::ResolveError::hint)
        {
            hints.push(hint);
        }
        if cause.downcast_ref::<NoAnswer>().is_some() {
            hints.push("pass -f (--force) to remove without a prompt".into());
        }
        if let Some((host, repository)) = cause
            .downcast_ref::<PushError>()
            .and_then(PushError::denied)
        {
            let login = if host == "docker.io" {
                "lade login".to_owned()
            } else {
                format!("lade login {host}")
            };
            hints.push(format!(
                "run `{login}`, and check that you may push to {repository}"
            ));
        }
        if let Some(lade_ops::pull::PullError::AccessDenied { source, .. }) =
            cause.downcast_ref::<lade_ops::pull::PullError>()
            && source.api_code() == Some("UNAUTHORIZED")
        {
            hints.push("log in first: `lade login HOST` (credentials are read from Docker's config.json and podman's auth.json)".into());
        }
        // A layer cut off again and again: what arrived is kept in lade/partial.
        if let Some(lade_ops::pull::PullError::Fetch { what, source, .. }) =
            cause.downcast_ref::<lade_ops::pull::PullError>()
            && what.starts_with("layer ")
            && source.is_temporary()
        {
            hints.push("what arrived is kept: run the same pull again and each layer resumes where it stopped".into());
        }
        if let Some(LookupError::NotFound(_)) = cause.downcast_ref::<LookupError>() {
            hints.push("`lade images` lists the images in the store".into());
        }
        let text = cause.to_string();
        if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
            hints.push("the registry's certificate is not trusted: put its CA in /etc/docker/certs.d/HOST:PORT/ca.crt (or set LADE_CERTS_DIRS), or use --tls-verify=false for a registry you trust".into());
        }
        if text.contains("Connection refused") {
            hints.push("nothing answers at that address: is the registry running, and are host and port right?".into());
        }
        if let Some(kind) = io_kind(cause) {
            match kind {
                std::io::ErrorKind::StorageFull => {
                    hints.push("free some space (`lade image prune`) or use another --root".into())
                }
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                    hints.push("the store is not writable here: check its permissions or use another --root".into())
                }
                _ => {}
            }
        }
    }
    hints.dedup();
    hints
}

/// The store error a cause is. Library errors keep a store error as their source
/// (`#[error("{0}")]`, never `transparent`, which would hide it from the chain).
fn store_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a StoreError> {
    cause.downcast_ref::<StoreError>()
}

/// The kind of the I/O error a cause is or wraps.
fn io_kind(cause: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return Some(e.kind());
    }
    match store_error(cause) {
        Some(StoreError::Io(e)) => Some(e.kind()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_cut_off_for_good_says_the_pull_resumes() {
        let cut = lade_ops::pull::PullError::Fetch {
            what: "layer 0123456789ab".into(),
            reference: "r/app".into(),
            source: Box::new(lade_client::ClientError::Body {
                host: "registry.test".into(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            }),
        };
        let hints = hints_for(&anyhow::Error::new(cut));
        assert!(
            hints.iter().any(|h| h.contains("run the same pull again")),
            "{hints:?}"
        );
        let refused = lade_ops::pull::PullError::Fetch {
            what: "layer 0123456789ab".into(),
            reference: "r/app".into(),
            source: Box::new(lade_client::ClientError::Protocol {
                url: "u".into(),
                reason: "r".into(),
            }),
        };
        assert!(hints_for(&anyhow::Error::new(refused)).is_empty());
    }

    #[test]
    fn sizes_as_docker_prints_them() {
        // Values from go-units' size_test.go (HumanSize).
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1024), "1.02kB");
        assert_eq!(human_size(1_000_000), "1MB");
        assert_eq!(human_size(1_048_576), "1.05MB");
        assert_eq!(human_size(2 * 1_000_000), "2MB");
        assert_eq!(human_size(3_670_016), "3.67MB");
        assert_eq!(human_size(1_000_000_000), "1GB");
        assert_eq!(human_size(7_800_000), "7.8MB");
        assert_eq!(human_size(133_000_000), "133MB");
        assert_eq!(human_size(1_110_000_000), "1.11GB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(999_500), "1e+03kB");
    }

    #[test]
    fn durations_as_docker_prints_them() {
        use std::time::Duration;
        let s = Duration::from_secs;
        assert_eq!(
            human_duration(Duration::from_millis(47)),
            "Less than a second"
        );
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(47)), "47 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(47 * 60)), "47 minutes");
        assert_eq!(human_duration(s(3600)), "About an hour");
        assert_eq!(human_duration(s(3 * 3600)), "3 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
        assert_eq!(human_duration(s(15 * 86400)), "2 weeks");
        assert_eq!(human_duration(s(90 * 86400)), "3 months");
        assert_eq!(human_duration(s(3 * 365 * 86400)), "3 years");
    }
}
