//! `--filter key=value` as Docker parses and applies it: the flag's syntax, `until=`
//! times and durations (`timetypes.GetTimestamp`), `label=` / `label!=` matching
//! (`MatchKVList`) and `reference=` globs (`reference.FamiliarMatch`, Go's
//! `path.Match`).

use lade_reference::Reference;

/// A filter that cannot be used, in Docker's words.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value)")]
    BadFormat,
    #[error("invalid filter '{0}'")]
    InvalidKey(String),
    #[error("failed to parse value as time or duration: {0:?}")]
    BadTime(String),
    #[error("more than one until filter specified")]
    SeveralUntil,
    #[error("invalid filter '{key}={value}': syntax error in pattern")]
    BadPattern { key: String, value: String },
}

/// `--filter` flags split into (key, value) pairs, keys lowercased, as Docker's
/// `filters.ParseFlag` does. Empty flags are ignored.
pub fn parse_flags(flags: &[String]) -> Result<Vec<(String, String)>, FilterError> {
    let mut out = Vec::new();
    for f in flags {
        if f.is_empty() {
            continue;
        }
        let (k, v) = f.split_once('=').ok_or(FilterError::BadFormat)?;
        out.push((k.trim().to_lowercase(), v.trim().to_owned()));
    }
    Ok(out)
}

/// Docker's `GetTimestamp`: a Go duration before `now` (`24h`, `1h30m`), an RFC 3339
/// time (`2024-01-02T15:04:05Z`), a date or date-time in local time (`2024-01-02`,
/// `2024-01-02T15:04`), or Unix seconds (`1700000000`, `1700000000.5`).
pub fn parse_time(value: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, FilterError> {
    let bad = || FilterError::BadTime(value.to_owned());
    if value != "0"
        && let Some(d) = parse_go_duration(value)
    {
        return now
            .checked_sub(jiff::SignedDuration::from_nanos(d))
            .map_err(|_| bad());
    }
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let tz = jiff::tz::TimeZone::system();
    if let Ok(dt) = value.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(tz).map(|z| z.timestamp()).map_err(|_| bad());
    }
    if let Ok(date) = value.parse::<jiff::civil::Date>() {
        return date.to_zoned(tz).map(|z| z.timestamp()).map_err(|_| bad());
    }
    if value.contains('-') {
        return Err(bad());
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos: i32 = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    jiff::Timestamp::new(secs, nanos).map_err(|_| bad())
}

/// Go's `time.ParseDuration`, in nanoseconds: `300ms`, `-1.5h`, `2h45m`.
fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * unit;
    }
    if total >= i64::MAX as f64 {
        return None;
    }
    let n = total.round() as i64;
    Some(if neg { -n } else { n })
}

/// Docker's `MatchKVList`: every `key` or `key=value` in `wanted` is among `labels`.
pub fn labels_match(wanted: &[String], labels: &lade_oci::Labels) -> bool {
    if wanted.is_empty() {
        return true;
    }
    if labels.is_empty() {
        return false;
    }
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
        None => labels.contains_key(w.as_str()),
    })
}

/// Docker's `FamiliarMatch`: the pattern matches the familiar reference (`redis:7`)
/// or, failing that, the familiar name (`redis`).
pub fn reference_matches(pattern: &str, name: &Reference) -> Result<bool, FilterError> {
    let bad = || FilterError::BadPattern {
        key: "reference".into(),
        value: pattern.to_owned(),
    };
    if glob_match(pattern, &name.familiar()).ok_or_else(bad)? {
        return Ok(true);
    }
    Ok(glob_match(pattern, &name.familiar_name()).unwrap_or(false))
}

/// Checks a pattern's syntax up front, so that a bad one is an error even when no
/// image is there to match it.
pub fn check_pattern(key: &str, pattern: &str) -> Result<(), FilterError> {
    if pattern_is_valid(pattern) {
        Ok(())
    } else {
        Err(FilterError::BadPattern {
            key: key.into(),
            value: pattern.to_owned(),
        })
    }
}

fn pattern_is_valid(pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return false;
                }
                i += 2;
            }
            '[' => match class_end(&p, i + 1) {
                Some(end) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// Where a character class starting after `[` at `start` ends (index after `]`), if it
/// is well formed.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            return Some(i + 1);
        }
        first = false;
        let lo = class_char(p, &mut i)?;
        if p.get(i) == Some(&'-') {
            i += 1;
            let hi = class_char(p, &mut i)?;
            if hi < lo {
                return None;
            }
        }
    }
}

/// One (possibly escaped) character of a class; Go refuses unescaped `-`, `]` and `[`
/// in some places, and a missing character.
fn class_char(p: &[char], i: &mut usize) -> Option<char> {
    let c = *p.get(*i)?;
    match c {
        '-' | ']' => None,
        '\\' => {
            let e = *p.get(*i + 1)?;
            *i += 2;
            Some(e)
        }
        _ => {
            *i += 1;
            Some(c)
        }
    }
}

/// Go's `path.Match`: `*` any run of non-`/` characters, `?` one non-`/` character,
/// `[…]` a class (`^` negates, `a-z` ranges), `\` escapes. `None` for a bad pattern.
pub fn glob_match(pattern: &str, name: &str) -> Option<bool> {
    if !pattern_is_valid(pattern) {
        return None;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    Some(match_from(&p, 0, &n, 0))
}

fn match_from(p: &[char], mut pi: usize, n: &[char], mut ni: usize) -> bool {
    while pi < p.len() {
        match p[pi] {
            '*' => {
                // A run of stars is one star.
                while pi < p.len() && p[pi] == '*' {
                    pi += 1;
                }
                let mut k = ni;
                loop {
                    if match_from(p, pi, n, k) {
                        return true;
                    }
                    if k >= n.len() || n[k] == '/' {
                        return false;
                    }
                    k += 1;
                }
            }
            '?' => {
                if ni >= n.len() || n[ni] == '/' {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
            '[' => {
                if ni >= n.len() || n[ni] == '/' {
                    return false;
                }
                let c = n[ni];
                let mut i = pi + 1;
                let negate = p.get(i) == Some(&'^');
                if negate {
                    i += 1;
                }
                let mut matched = false;
                let mut first = true;
                while first || p[i] != ']' {
                    first = false;
                    let Some(lo) = class_char(p, &mut i) else {
                        return false;
                    };
                    let hi = if p.get(i) == Some(&'-') {
                        i += 1;
                        let Some(hi) = class_char(p, &mut i) else {
                            return false;
                        };
                        hi
                    } else {
                        lo
                    };
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                }
                if matched == negate {
                    return false;
                }
                pi = i + 1;
                ni += 1;
            }
            '\\' => {
                if ni >= n.len() || n[ni] != p[pi + 1] {
                    return false;
                }
                pi += 2;
                ni += 1;
            }
            c => {
                if ni >= n.len() || n[ni] != c {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
        }
    }
    ni == n.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_at_the_first_equals() {
        let f = parse_flags(&["label!=a=b".into(), " Until = 24h ".into()]).unwrap();
        assert_eq!(
            f,
            [
                ("label!".to_owned(), "a=b".to_owned()),
                ("until".to_owned(), "24h".to_owned())
            ]
        );
        assert_eq!(
            parse_flags(&["dangling".into()]),
            Err(FilterError::BadFormat)
        );
    }

    #[test]
    fn times_and_durations() {
        let now: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
        let t = |s: &str| parse_time(s, now).map(|t| t.to_string());
        assert_eq!(t("24h").unwrap(), "2024-05-31T12:00:00Z");
        assert_eq!(t("1h30m").unwrap(), "2024-06-01T10:30:00Z");
        assert_eq!(t("1.5h").unwrap(), "2024-06-01T10:30:00Z");
        assert_eq!(t("90s").unwrap(), "2024-06-01T11:58:30Z");
        assert_eq!(t("2024-01-02T03:04:05Z").unwrap(), "2024-01-02T03:04:05Z");
        assert_eq!(
            t("2024-01-02T03:04:05+01:00").unwrap(),
            "2024-01-02T02:04:05Z"
        );
        assert_eq!(t("1700000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(t("1700000000.5").unwrap(), "2023-11-14T22:13:20.5Z");
        assert!(t("2024-01-02").is_ok());
        assert!(t("2024-01-02T03:04").is_ok());
        for bad in ["abc", "24x", "2024-13-01", "", "1.2.3", "h"] {
            assert_eq!(t(bad), Err(FilterError::BadTime(bad.into())), "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("-2m"), Some(-120_000_000_000));
        assert_eq!(parse_go_duration("2h45m"), Some(9_900_000_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("5d"), None);
    }

    #[test]
    fn labels_as_match_kv_list() {
        let labels: lade_oci::Labels = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), String::new()),
        ]
        .into_iter()
        .collect();
        assert!(labels_match(&[], &labels));
        assert!(labels_match(&["a".into()], &labels));
        assert!(labels_match(&["a=1".into(), "b".into()], &labels));
        assert!(labels_match(&["b=".into()], &labels));
        assert!(!labels_match(&["a=2".into()], &labels));
        assert!(!labels_match(&["c".into()], &labels));
        assert!(!labels_match(&["a".into()], &lade_oci::Labels::new()));
    }

    // Cases from Go's path/match_test.go.
    #[test]
    fn go_path_match_table() {
        for (pattern, s, want) in [
            ("abc", "abc", Some(true)),
            ("*", "abc", Some(true)),
            ("*c", "abc", Some(true)),
            ("a*", "a", Some(true)),
            ("a*", "abc", Some(true)),
            ("a*", "ab/c", Some(false)),
            ("a*/b", "abc/b", Some(true)),
            ("a*/b", "a/c/b", Some(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
            ("ab[c]", "abc", Some(true)),
            ("ab[b-d]", "abc", Some(true)),
            ("ab[e-g]", "abc", Some(false)),
            ("ab[^c]", "abc", Some(false)),
            ("ab[^b-d]", "abc", Some(false)),
            ("ab[^e-g]", "abc", Some(true)),
            ("a\\*b", "a*b", Some(true)),
            ("a\\*b", "ab", Some(false)),
            ("a?b", "a☺b", Some(true)),
            ("a[^a]b", "a☺b", Some(true)),
            ("a???b", "a☺b", Some(false)),
            ("a[^a][^a][^a]b", "a☺b", Some(false)),
            ("[a-ζ]*", "α", Some(true)),
            ("*[a-ζ]", "A", Some(false)),
            ("a?b", "a/b", Some(false)),
            ("a*b", "a/b", Some(false)),
            ("[\\]a]", "]", Some(true)),
            ("[\\-]", "-", Some(true)),
            ("[x\\-]", "x", Some(true)),
            ("[x\\-]", "-", Some(true)),
            ("[x\\-]", "z", Some(false)),
            ("[\\-x]", "x", Some(true)),
            ("[\\-x]", "-", Some(true)),
            ("[\\-x]", "a", Some(false)),
            ("[]a]", "]", None),
            ("[-]", "-", None),
            ("[x-]", "x", None),
            ("[x-]", "-", None),
            ("[x-]", "z", None),
            ("[-x]", "x", None),
            ("[-x]", "-", None),
            ("[-x]", "a", None),
            ("\\", "a", None),
            ("[a-b-c]", "a", None),
            ("[", "a", None),
            ("[^", "a", None),
            ("[^bc", "a", None),
            ("a[", "a", None),
            ("a[", "ab", None),
            ("a[", "x", None),
            ("a/b[", "x", None),
            ("*x", "xxx", Some(true)),
        ] {
            assert_eq!(glob_match(pattern, s), want, "{pattern} vs {s}");
        }
    }

    #[test]
    fn familiar_match() {
        let r = Reference::parse_normalized("redis:7").unwrap();
        assert_eq!(reference_matches("redis", &r), Ok(true));
        assert_eq!(reference_matches("redis:7", &r), Ok(true));
        assert_eq!(reference_matches("red*", &r), Ok(true));
        assert_eq!(reference_matches("*:7", &r), Ok(true));
        assert_eq!(reference_matches("redis:8", &r), Ok(false));
        assert_eq!(reference_matches("library/redis", &r), Ok(false));
        let r = Reference::parse_normalized("localhost:5000/a/b:1").unwrap();
        assert_eq!(reference_matches("localhost:5000/a/*", &r), Ok(true));
        assert_eq!(reference_matches("*/b", &r), Ok(false));
    }
}
