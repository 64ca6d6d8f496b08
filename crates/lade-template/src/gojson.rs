//! Go's `encoding/json` encoder, over JSON values.
//!
//! Objects are Go maps, so their keys are written sorted. Floats are written
//! as Go writes a `float64` (`100` not `100.0`, `1e+21` from 1e21 up). With
//! `escape_html` (what `json.Marshal` does), `<`, `>` and `&` become
//! `\u003c`, `\u003e` and `\u0026`; Docker's `json` template function turns
//! that off.

use serde_json::Value;

use crate::gofmt::{Num, format_float, num};

/// Encodes `v` compactly as Go's encoder would.
pub(crate) fn encode(v: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, v, escape_html);
    out
}

fn write_value(out: &mut String, v: &Value, escape_html: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match num(n) {
            Num::Int(i) => out.push_str(&i.to_string()),
            Num::Uint(u) => out.push_str(&u.to_string()),
            Num::Float(f) => out.push_str(&encode_float(f)),
        },
        Value::String(s) => write_string(out, s, escape_html),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, escape_html);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k, escape_html);
                out.push(':');
                write_value(out, item, escape_html);
            }
            out.push('}');
        }
    }
}

/// Go's `floatEncoder` for a `float64`.
fn encode_float(f: f64) -> String {
    let a = f.abs();
    let fmt = if a != 0.0 && !(1e-6..1e21).contains(&a) {
        'e'
    } else {
        'f'
    };
    let mut s = format_float(f, fmt, None);
    if fmt == 'e' {
        // Clean up e-09 to e-9.
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 1] == "e-0" {
            s.remove(n - 2);
        }
    }
    s
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
            c if u32::from(c) < 0x20 => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!({"b": 1, "a": [true, null]}), false, r#"{"a":[true,null],"b":1}"#)]
    #[case(json!("<none>&"), true, r#""\u003cnone\u003e\u0026""#)]
    #[case(json!("<none>&"), false, r#""<none>&""#)]
    #[case(json!("a\"b\\c\n\u{1}\u{2028}"), false, r#""a\"b\\c\n\u0001\u2028""#)]
    #[case(json!(100.0), false, "100")]
    #[case(json!(1.5), false, "1.5")]
    #[case(json!(1e21), false, "1e+21")]
    #[case(json!(1e-7), false, "1e-7")]
    #[case(json!(123456789.0), false, "123456789")]
    #[case(json!(-0.000001), false, "-0.000001")]
    #[case(json!(u64::MAX), false, "18446744073709551615")]
    fn encodes_like_go(#[case] v: Value, #[case] html: bool, #[case] want: &str) {
        assert_eq!(encode(&v, html), want);
    }
}
