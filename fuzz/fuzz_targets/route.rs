//! The registry's request routing (`lade_server::route::parse`): any path gives a route
//! or a typed error, never a panic; a route's names and tags are valid and an upload id
//! can never climb out of the uploads folder.

#![no_main]

use lade_server::route::{Ref, Route, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    match parse(path) {
        Ok(Route::Manifest { name, reference }) => {
            assert!(lade_reference::is_repository_path(&name), "{name:?}");
            if let Ref::Tag(t) = reference {
                assert!(lade_reference::is_tag(&t), "{t:?}");
            }
        }
        Ok(Route::Upload { name, id }) => {
            assert!(lade_reference::is_repository_path(&name), "{name:?}");
            assert!(
                !id.is_empty() && !id.contains('/') && !id.contains(".."),
                "{id:?}"
            );
        }
        Ok(
            Route::Blob { name, .. }
            | Route::UploadStart { name }
            | Route::Tags { name }
            | Route::Referrers { name, .. },
        ) => assert!(lade_reference::is_repository_path(&name), "{name:?}"),
        Ok(_) => {}
        Err(e) => {
            let _ = format!("{e:?}");
        }
    }
});
