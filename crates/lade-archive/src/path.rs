//! Paths inside archives and layers: normalized to relative `/`-separated names, with
//! anything that could reach outside (absolute paths, `..`) refused.

/// Normalizes an entry's path: `./a//b/` becomes `a/b`, the root becomes `""`.
/// Refuses absolute paths, `..` components and names that are not UTF-8.
pub fn normalize(raw: &[u8]) -> Result<String, &'static str> {
    let Ok(s) = std::str::from_utf8(raw) else {
        return Err("has a name that is not UTF-8");
    };
    if s.starts_with('/') {
        return Err("has an absolute path");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("climbs out of the archive with `..`"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The path a link entry at `path` points at, inside the archive. A symbolic link's
/// target is relative to the link's directory, a hard link's to the archive's root.
/// Refuses targets that are absolute or climb above the root.
pub fn link_target(path: &str, target: &[u8], symbolic: bool) -> Result<String, &'static str> {
    let Ok(target) = std::str::from_utf8(target) else {
        return Err("is a link whose target is not UTF-8");
    };
    if target.starts_with('/') {
        return Err("is a link to an absolute path, outside the archive");
    }
    let mut parts: Vec<&str> = if symbolic {
        let mut p: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        p.pop();
        p
    } else {
        Vec::new()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("is a link that points outside the archive");
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("is a link to the archive's root");
    }
    Ok(parts.join("/"))
}

/// The parent directory of a normalized path (`""` for a top-level name).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The last component of a normalized path.
pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses_escapes() {
        assert_eq!(normalize(b"./a//b/").unwrap(), "a/b");
        assert_eq!(normalize(b"./").unwrap(), "");
        assert_eq!(normalize(b"blobs/sha256/x").unwrap(), "blobs/sha256/x");
        assert!(normalize(b"/etc/passwd").is_err());
        assert!(normalize(b"a/../../b").is_err());
        assert!(normalize(b"..").is_err());
        assert!(normalize(&[0xff, b'a']).is_err());
    }

    #[test]
    fn resolves_link_targets_inside_the_archive_only() {
        assert_eq!(
            link_target("abc/layer.tar", b"../def/layer.tar", true).unwrap(),
            "def/layer.tar"
        );
        assert_eq!(link_target("a/b", b"c", true).unwrap(), "a/c");
        assert_eq!(link_target("a/b", b"x/y", false).unwrap(), "x/y");
        assert!(link_target("a/b", b"../../etc/passwd", true).is_err());
        assert!(link_target("a", b"/etc/passwd", true).is_err());
        assert!(link_target("a/b", b"..", true).is_err());
    }

    #[test]
    fn splits_names() {
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
        assert_eq!(file_name("a/b/c"), "c");
        assert_eq!(file_name("c"), "c");
    }
}
