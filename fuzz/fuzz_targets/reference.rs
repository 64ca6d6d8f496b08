//! `Reference::parse_normalized` and the other name checks: never a panic, and the full
//! normalized form of anything accepted reads back as the same reference.

#![no_main]

use lade_reference::{Reference, Tag, is_id_prefix, is_repository_path, is_tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_repository_path(s);
    let _ = is_id_prefix(s);
    if is_tag(s) {
        assert_eq!(
            Tag::parse(s)
                .expect("is_tag agrees with Tag::parse")
                .as_str(),
            s
        );
    }
    if let Ok(r) = Reference::parse_normalized(s) {
        let full = r.to_string();
        let again = Reference::parse_normalized(&full).expect("the normalized form parses");
        assert_eq!(again, r, "{s:?} → {full:?}");
        assert_eq!(again.to_string(), full);
        // The familiar form may read back differently in two corners Docker shares
        // (see `Reference::familiar`); it must still be printable.
        let _ = (
            r.familiar(),
            r.familiar_name(),
            r.domain(),
            r.path(),
            r.name(),
        );
        let _ = (
            r.tag(),
            r.digest(),
            r.without_digest(),
            r.clone().with_default_tag(),
        );
    }
});
