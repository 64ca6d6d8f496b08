//! `parse_challenge`: any `WWW-Authenticate` value gives a challenge or `None`, never a
//! panic.

#![no_main]

use lade_client::{Challenge, parse_challenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_challenge(s) {
        Some(Challenge::Basic { realm }) | Some(Challenge::Bearer { realm, .. }) => {
            // A realm is a parameter value: it never holds the scheme's own separator
            // of an unquoted value.
            let _ = realm.len();
        }
        None => {}
    }
});
