//! `Template::parse` (Docker's `--format`: `table`, `json`, Go templates) and
//! `parse_inspect`, then rendering over a JSON item: an error or output, never a panic.
//! The input is the format, a NUL, then the item as JSON (an image-like item otherwise).
//! Found so far: nothing but a format with a 7-digit width (210 MB of legitimate
//! output, 14 s under the sanitizer), now skipped.

#![no_main]

use lade_template::Template;
use libfuzzer_sys::fuzz_target;

fn item() -> serde_json::Value {
    serde_json::json!({
        "ID": "a24bb4013296",
        "Repository": "alpine",
        "Tag": "3.19",
        "Size": 7_340_032,
        "Labels": {"a": "b", "c": ""},
        "RepoTags": ["alpine:3.19", "alpine:latest"],
        "Config": {"Env": ["PATH=/bin"], "Cmd": null, "ExposedPorts": {}},
        "Float": 1.5,
        "Neg": -3,
        "True": true,
    })
}

fuzz_target!(|data: &[u8]| {
    let (format, json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(format) = std::str::from_utf8(format) else {
        return;
    };
    // `printf "%9999999d"` asks for megabytes of padding (per element of a map or
    // list, as Go's fmt does): legitimate output, only slow. Widths and precisions of
    // five digits or more are left out.
    if format
        .as_bytes()
        .windows(5)
        .any(|w| w.iter().all(u8::is_ascii_digit))
    {
        return;
    }
    let value = json
        .and_then(|j| serde_json::from_slice(j).ok())
        .unwrap_or_else(item);
    let headers = [
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
    ];
    if let Ok(t) = Template::parse(format, headers) {
        let mut out = Vec::new();
        let _ = t.render(&[value.clone(), item()], &mut out);
        let _ = t.render_header();
    }
    if let Ok(t) = Template::parse_inspect(format) {
        let _ = t.render_one(&value);
    }
});
