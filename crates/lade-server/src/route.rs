//! The registry's URL space, parsed by hand from one catch-all route: names may hold
//! any number of `/`, so the last path segments decide what is asked.

use lade_reference::Digest;

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/NAME/manifests/REFERENCE`
    Manifest { name: String, reference: Ref },
    /// `/v2/NAME/blobs/DIGEST`
    Blob { name: String, digest: Digest },
    /// `/v2/NAME/blobs/uploads/`
    UploadStart { name: String },
    /// `/v2/NAME/blobs/uploads/ID`
    Upload { name: String, id: String },
    /// `/v2/NAME/tags/list`
    Tags { name: String },
    /// `/v2/NAME/referrers/DIGEST`
    Referrers { name: String, digest: Digest },
    /// `/v1/search`
    Search,
    /// `/metrics`
    Metrics,
    /// `/healthz`
    Health,
    /// `/token`: the built-in token endpoint.
    Token,
}

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Tag(String),
    Digest(Digest),
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Tag(t) => f.write_str(t),
            Ref::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// Why a path is not one the registry serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// Not a registry path at all (404).
    NotFound,
    /// A repository name that breaks the grammar.
    NameInvalid(String),
    /// A digest that does not parse.
    DigestInvalid(String),
    /// A tag that breaks the grammar.
    TagInvalid(String),
    /// An upload id no session can have (404 `BLOB_UPLOAD_UNKNOWN`).
    UploadUnknown,
}

/// Parses a request path (percent-encoded slashes are refused: names never hold them).
pub fn parse(path: &str) -> Result<Route, RouteError> {
    match path {
        "/v2" | "/v2/" => return Ok(Route::Base),
        "/v2/_catalog" => return Ok(Route::Catalog),
        "/v1/search" => return Ok(Route::Search),
        "/metrics" => return Ok(Route::Metrics),
        "/healthz" => return Ok(Route::Health),
        "/token" => return Ok(Route::Token),
        _ => {}
    }
    let rest = path.strip_prefix("/v2/").ok_or(RouteError::NotFound)?;
    if rest.contains('%') || rest.contains("//") {
        return Err(RouteError::NameInvalid(rest.to_owned()));
    }
    let name_ok = |name: &str| -> Result<String, RouteError> {
        if lade_reference::is_repository_path(name) {
            Ok(name.to_owned())
        } else {
            Err(RouteError::NameInvalid(name.to_owned()))
        }
    };
    let digest = |s: &str| Digest::parse(s).map_err(|_| RouteError::DigestInvalid(s.to_owned()));
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Ok(Route::UploadStart {
            name: name_ok(name)?,
        });
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags {
            name: name_ok(name)?,
        });
    }
    // `a/blobs/uploads/b/manifests/v1` is a manifest of repository `a/blobs/uploads/b`.
    if let Some((head, id)) = rest.rsplit_once("/blobs/uploads/")
        && !id.contains('/')
    {
        let name = name_ok(head)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(RouteError::UploadUnknown);
        }
        return Ok(Route::Upload {
            name,
            id: id.to_owned(),
        });
    }
    let (head, last) = rest.rsplit_once('/').ok_or(RouteError::NotFound)?;
    let (name, kind) = head.rsplit_once('/').ok_or(RouteError::NotFound)?;
    match kind {
        "manifests" => {
            let name = name_ok(name)?;
            let reference = if last.contains(':') {
                Ref::Digest(digest(last)?)
            } else if lade_reference::is_tag(last) {
                Ref::Tag(last.to_owned())
            } else {
                return Err(RouteError::TagInvalid(last.to_owned()));
            };
            Ok(Route::Manifest { name, reference })
        }
        "blobs" => Ok(Route::Blob {
            name: name_ok(name)?,
            digest: digest(last)?,
        }),
        "referrers" => Ok(Route::Referrers {
            name: name_ok(name)?,
            digest: digest(last)?,
        }),
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f";

    #[test]
    fn routes() {
        assert_eq!(parse("/v2/").unwrap(), Route::Base);
        assert_eq!(
            parse("/v2/a/b/c/manifests/latest").unwrap(),
            Route::Manifest {
                name: "a/b/c".into(),
                reference: Ref::Tag("latest".into())
            }
        );
        assert!(matches!(
            parse(&format!("/v2/x/manifests/{D}")).unwrap(),
            Route::Manifest {
                reference: Ref::Digest(_),
                ..
            }
        ));
        assert!(matches!(
            parse(&format!("/v2/x/blobs/{D}")).unwrap(),
            Route::Blob { .. }
        ));
        assert_eq!(
            parse("/v2/team/app/blobs/uploads/").unwrap(),
            Route::UploadStart {
                name: "team/app".into()
            }
        );
        assert_eq!(
            parse("/v2/team/app/blobs/uploads/abc-123").unwrap(),
            Route::Upload {
                name: "team/app".into(),
                id: "abc-123".into()
            }
        );
        assert_eq!(
            parse("/v2/a/tags/list").unwrap(),
            Route::Tags { name: "a".into() }
        );
        // A repository may itself be called "manifests" or "blobs", or hold
        // "blobs/uploads".
        assert_eq!(
            parse("/v2/a/blobs/uploads/b/manifests/v1").unwrap(),
            Route::Manifest {
                name: "a/blobs/uploads/b".into(),
                reference: Ref::Tag("v1".into())
            }
        );
        assert_eq!(
            parse("/v2/a/blobs/uploads/b/blobs/uploads/").unwrap(),
            Route::UploadStart {
                name: "a/blobs/uploads/b".into()
            }
        );
        assert_eq!(
            parse("/v2/blobs/manifests/manifests/v1").unwrap(),
            Route::Manifest {
                name: "blobs/manifests".into(),
                reference: Ref::Tag("v1".into())
            }
        );
    }

    #[test]
    fn tricks_are_refused() {
        for (path, want) in [
            ("/v2/../etc/manifests/x", "name"),
            ("/v2/a/..%2fb/manifests/x", "name"),
            ("/v2/A/manifests/x", "name"),
            ("/v2/a//b/manifests/x", "name"),
            (&format!("/v2/{}/manifests/x", "a".repeat(256)), "name"),
            ("/v2/a/manifests/sha256:zz", "digest"),
            ("/v2/a/blobs/sha256:abc", "digest"),
            ("/v2/a/manifests/-bad", "tag"),
            ("/v2/a/blobs/uploads/../x", "notfound"),
            ("/v2/a/blobs/uploads/..", "upload"),
            ("/v2/a/blobs/uploads/a.b", "upload"),
            ("/v2/A/blobs/uploads/..", "name"),
            ("/v3/a/manifests/x", "notfound"),
            ("/v2/a/other/x", "notfound"),
        ] {
            let got = match parse(path) {
                Err(RouteError::NameInvalid(_)) => "name",
                Err(RouteError::DigestInvalid(_)) => "digest",
                Err(RouteError::TagInvalid(_)) => "tag",
                Err(RouteError::NotFound) => "notfound",
                Err(RouteError::UploadUnknown) => "upload",
                Ok(r) => panic!("{path} parsed as {r:?}"),
            };
            assert_eq!(got, want, "{path}");
        }
    }
}
