//! `Digest::parse`: never a panic; what parses prints back as the same string.

#![no_main]

use lade_reference::Digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = Digest::parse(s) {
        assert_eq!(d.to_string(), s);
        assert_eq!(d.hex().len(), d.algorithm().hex_len());
        let _ = d.short_id();
        assert_eq!(Digest::parse(&d.to_string()).expect("reparses"), d);
    }
});
