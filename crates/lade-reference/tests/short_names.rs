//! `names_registry`: which names the user typed fully qualified (Docker's
//! `splitDockerDomain` rule, podman's `IsShortName` examples).

use lade_reference::names_registry;
use rstest::rstest;

#[rstest]
#[case("redis", false)]
#[case("redis:7", false)]
#[case(
    "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
    false
)]
#[case("library/fedora", false)]
#[case("team/app:1", false)]
#[case("team/sub/app", false)]
#[case("quay.io/image", true)]
#[case("docker.io/redis", true)]
#[case("index.docker.io/library/redis", true)]
#[case("localhost/image:tag", true)]
#[case("localhost:5000/app", true)]
#[case("server.org:5000/lib/image", true)]
#[case("127.0.0.1:5000/app", true)]
#[case("[::1]:5000/app", true)]
#[case("Registry/app", true)]
fn short_or_qualified(#[case] name: &str, #[case] qualified: bool) {
    assert_eq!(names_registry(name), qualified, "{name}");
}
