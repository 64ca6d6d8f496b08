//! Garbage in, an error or output out: never a panic, never a stack overflow.

// Helpers outside #[test] functions unwrap too: a failure names the case.
#![allow(clippy::unwrap_used)]

use lade_template::Template;
use serde_json::json;

/// Deterministic pseudo-random templates built from the characters that
/// matter to the lexer and parser.
#[test]
fn random_templates_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{- ",
        " -}}",
        ".",
        ".A",
        ".B.C",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        " ",
        "\n",
        "\"",
        "`",
        "'",
        "\\",
        "a",
        "1",
        "-",
        "+",
        "0x",
        "1e",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "nil",
        "true",
        "index",
        "slice",
        "len",
        "printf",
        "\"%d %s %v %q %x %5.2f %-3s %\"",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "json",
        "split",
        "join",
        "upper",
        "pad",
        "truncate",
        "/*",
        "*/",
        "é",
        "日",
        ",",
        "\t",
        "table ",
        "\\t",
    ];
    let data = json!({"A": [1, "x", null, {"k": 2.5}], "B": {"C": "日本"}, "N": null});
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut text = String::new();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let len = (seed >> 59) as usize + 1;
        for _ in 0..len {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            text.push_str(PIECES[(seed >> 33) as usize % PIECES.len()]);
        }
        if let Ok(t) = Template::parse(&text, [("A", "AAA")]) {
            let mut out = Vec::new();
            let _ = t.render(&[data.clone(), json!(null), json!(3)], &mut out);
            let _ = t.render_header();
        }
        if let Ok(t) = Template::parse_go(&text) {
            let _ = t.render_one(&data);
        }
    }
}

#[test]
fn deep_nesting_is_refused_or_handled() {
    let depth = 300;
    let text = format!("{}1{}", "{{if 1}}".repeat(depth), "{{end}}".repeat(depth));
    let err = Template::parse_go(&text).unwrap_err();
    assert!(
        err.to_string().contains("max expression depth exceeded"),
        "{err}"
    );

    let text = format!("{{{{{}1{}}}}}", "(".repeat(depth), ")".repeat(depth));
    assert!(Template::parse_go(&text).is_err());

    let ok = 150;
    let text = format!("{}x{}", "{{if 1}}".repeat(ok), "{{end}}".repeat(ok));
    assert_eq!(
        Template::parse_go(&text)
            .unwrap()
            .render_one(&json!({}))
            .unwrap(),
        "x"
    );
    let ok = 95;
    let text = format!("{{{{{}1{}}}}}", "(len (print ".repeat(ok), "))".repeat(ok));
    assert!(
        Template::parse_go(&text)
            .unwrap()
            .render_one(&json!({}))
            .is_ok()
    );
}

#[test]
fn recursive_templates_stop() {
    let t =
        Template::parse_go(r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#).unwrap();
    let err = t.render_one(&json!({})).unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeded maximum template depth (100)"),
        "{err}"
    );
}

#[test]
fn huge_precision_is_swallowed_as_in_go() {
    let t = Template::parse_go(r#"{{printf "%.99999999999d" 1}}"#).unwrap();
    assert_eq!(
        t.render_one(&json!({})).unwrap(),
        "%!(NOVERB)%!(EXTRA int=1)"
    );
}
