//! Template functions: Go's builtins and Docker's additions.
//!
//! Go: `and or not len index slice print printf println html js urlquery
//! call eq ne lt le gt ge`. Docker (`docker/cli/templates/templates.go`):
//! `json split join title lower upper pad truncate`. For a table header
//! Docker swaps `json split join title lower upper truncate` for functions
//! that return their first argument unchanged, so the header keeps the column
//! name; `header` selects those.
//!
//! Each function declares Go's parameter types, because the evaluator checks
//! arguments against them with Go's messages (`wrong type for value; expected
//! string; got int`). Errors returned here are wrapped by the evaluator as
//! `error calling NAME: ...`.

use serde_json::Value;

use crate::gofmt::{self, Num, num};
use crate::value::Val;

/// Go's parameter types, as far as the evaluator needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `reflect.Value`: anything, a missing value stays missing.
    Value,
    /// `interface{}`: anything, a missing value becomes nil.
    Any,
    Str,
    Int,
    /// `[]string`.
    StrList,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Value => "reflect.Value",
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Int => "int",
            Param::StrList => "[]string",
        }
    }
}

/// A function's signature: fixed parameters, then an optional variadic one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub params: &'static [Param],
    pub variadic: Option<Param>,
}

const NAMES: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne", "json", "split", "join", "title",
    "lower", "upper", "pad", "truncate",
];

/// Whether `name` is a defined function (checked at parse time, as Go does).
pub(crate) fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// The signature of `name`; `header` selects Docker's header stand-ins.
pub(crate) fn spec(name: &str, header: bool) -> Option<Spec> {
    use Param::*;
    let (params, variadic): (&'static [Param], Option<Param>) = match name {
        "and" | "or" | "index" | "slice" | "eq" | "call" => (&[Value], Some(Value)),
        "not" | "len" => (&[Value], None),
        "ne" | "lt" | "le" | "gt" | "ge" => (&[Value, Value], None),
        "print" | "println" | "html" | "js" | "urlquery" => (&[], Some(Any)),
        "printf" => (&[Str], Some(Any)),
        "json" if header => (&[Str], None),
        "json" => (&[Any], None),
        "split" => (&[Str, Str], None),
        "join" if header => (&[Str, Str], None),
        "join" => (&[StrList, Str], None),
        "title" | "lower" | "upper" => (&[Str], None),
        "pad" => (&[Str, Int, Int], None),
        "truncate" => (&[Str, Int], None),
        _ => return None,
    };
    Some(Spec { params, variadic })
}

fn str_arg<'a>(args: &'a [Val<'_>], i: usize) -> &'a str {
    args.get(i)
        .and_then(Val::get)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn int_arg(args: &[Val<'_>], i: usize) -> i64 {
    args.get(i)
        .and_then(Val::get)
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn values(args: &[Val<'_>]) -> Vec<Value> {
    args.iter().map(Val::to_value).collect()
}

fn string(s: impl Into<String>) -> Val<'static> {
    Val::owned(Value::String(s.into()))
}

/// Calls `name` with arguments already checked against its `spec`.
pub(crate) fn call<'d>(name: &str, args: Vec<Val<'d>>, header: bool) -> Result<Val<'d>, String> {
    let first = || args.first().cloned().unwrap_or(Val::Missing);
    Ok(match name {
        "not" => Val::owned(Value::Bool(!first().truth())),
        "len" => length(&first())?,
        "index" => index(first(), &args[1..])?,
        "slice" => slice(&first(), &args[1..])?,
        "print" => string(gofmt::sprint(&values(&args))),
        "println" => string(gofmt::sprintln(&values(&args))),
        "printf" => string(gofmt::sprintf(str_arg(&args, 0), &values(&args[1..]))),
        "html" => string(html_escape(&eval_args(&args))),
        "js" => string(js_escape(&eval_args(&args))),
        "urlquery" => string(query_escape(&eval_args(&args))),
        "eq" => Val::owned(Value::Bool(eq(&first(), &args[1..])?)),
        "ne" => Val::owned(Value::Bool(!eq(&args[0], &args[1..])?)),
        "lt" => Val::owned(Value::Bool(lt(&args[0], &args[1])?)),
        "le" => Val::owned(Value::Bool(le(&args[0], &args[1])?)),
        "gt" => Val::owned(Value::Bool(!le(&args[0], &args[1])?)),
        "ge" => Val::owned(Value::Bool(!lt(&args[0], &args[1])?)),
        "json" if header => first(),
        "json" => match first() {
            Val::Nil(_) => string("null".to_owned()),
            v => string(crate::gojson::encode(&v.to_value(), false)),
        },
        "split" if header => first(),
        "split" => split(str_arg(&args, 0), str_arg(&args, 1)),
        "join" if header => first(),
        "join" => {
            let list: Vec<&str> = args
                .first()
                .and_then(Val::get)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            string(list.join(str_arg(&args, 1)))
        }
        "title" | "lower" | "upper" if header => first(),
        "title" => string(title(str_arg(&args, 0))),
        "lower" => string(
            str_arg(&args, 0)
                .chars()
                .map(|c| c.to_lowercase().next().unwrap_or(c))
                .collect::<String>(),
        ),
        "upper" => string(str_arg(&args, 0).chars().map(upper).collect::<String>()),
        "pad" => {
            let s = str_arg(&args, 0);
            let (l, r) = (int_arg(&args, 1), int_arg(&args, 2));
            if s.is_empty() {
                string(s)
            } else if l < 0 || r < 0 {
                return Err("strings: negative Repeat count".to_owned());
            } else {
                string(format!(
                    "{}{s}{}",
                    " ".repeat(l as usize),
                    " ".repeat(r as usize)
                ))
            }
        }
        "truncate" if header => first(),
        "truncate" => {
            let s = str_arg(&args, 0);
            let n = int_arg(&args, 1);
            if (s.len() as i64) < n {
                string(s)
            } else if n < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{n}]"));
            } else {
                string(String::from_utf8_lossy(&s.as_bytes()[..n as usize]))
            }
        }
        _ => return Err(format!("function {} not defined", gofmt::quote(name))),
    })
}

/// Go's `strings.ToUpper` maps rune by rune and leaves a rune whose upper
/// case is several runes (ß) alone.
fn upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    fn is_separator(r: char) -> bool {
        if r.is_ascii() {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphabetic() || r.is_numeric() {
            return false;
        }
        r.is_whitespace()
    }
    let mut prev = ' ';
    s.chars()
        .map(|r| {
            let out = if is_separator(prev) { upper(r) } else { r };
            prev = r;
            out
        })
        .collect()
}

fn split(s: &str, sep: &str) -> Val<'static> {
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| Value::String(p.to_owned())).collect()
    };
    Val::owned(Value::Array(parts))
}

/// Go's `evalArgs` for the escapers: one string as is, else `fmt.Sprint`,
/// with nil printed as `<no value>`.
fn eval_args(args: &[Val<'_>]) -> String {
    if let [one] = args
        && let Some(Value::String(s)) = one.get()
    {
        return s.clone();
    }
    let vals: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::String("<no value>".to_owned())
            } else {
                a.to_value()
            }
        })
        .collect();
    gofmt::sprint(&vals)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c if !c.is_ascii() && !gofmt::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn length(item: &Val<'_>) -> Result<Val<'static>, String> {
    let n = match item.get() {
        None => return Err("reflect: call of reflect.Value.Type on zero Value".to_owned()),
        Some(Value::Null) => return Err("len of nil pointer".to_owned()),
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(o)) => o.len(),
        Some(v) => return Err(format!("len of type {}", gofmt::type_name(v))),
    };
    Ok(Val::owned(Value::from(n)))
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Val<'_>, cap: usize) -> Result<usize, String> {
    let x: i64 = match index.get() {
        None | Some(Value::Null) => return Err("cannot index slice/array with nil".to_owned()),
        Some(Value::Number(n)) => match num(n) {
            Num::Int(i) => i,
            Num::Uint(u) => u as i64,
            Num::Float(_) => {
                return Err("cannot index slice/array with type float64".to_owned());
            }
        },
        Some(v) => {
            return Err(format!(
                "cannot index slice/array with type {}",
                gofmt::type_name(v)
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'d>(item: Val<'d>, indexes: &[Val<'d>]) -> Result<Val<'d>, String> {
    if item.is_nil() {
        return Err("index of untyped nil".to_owned());
    }
    let mut item = item;
    for idx in indexes {
        let Some(v) = item.get() else {
            return Err("index of nil pointer".to_owned());
        };
        item = match v {
            Value::Null => return Err("index of nil pointer".to_owned()),
            Value::Array(a) => {
                let x = index_arg(idx, a.len())?;
                if x == a.len() {
                    return Err("reflect: slice index out of range".to_owned());
                }
                item.child(|v| v.get(x))
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Val::owned(Value::from(*b)),
                    None => return Err("reflect: string index out of range".to_owned()),
                }
            }
            Value::Object(_) => match idx.get() {
                Some(Value::String(k)) => item.child(|v| v.get(k.as_str())),
                None | Some(Value::Null) => {
                    return Err("value is nil; should be of type string".to_owned());
                }
                Some(k) => {
                    return Err(format!(
                        "value has type {}; should be string",
                        gofmt::type_name(k)
                    ));
                }
            },
            v => return Err(format!("can't index item of type {}", gofmt::type_name(v))),
        };
    }
    Ok(item)
}

fn slice<'d>(item: &Val<'d>, indexes: &[Val<'d>]) -> Result<Val<'d>, String> {
    let v = match item.get() {
        None | Some(Value::Null) => return Err("slice of untyped nil".to_owned()),
        Some(v) => v,
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match v {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_owned());
            }
            s.len()
        }
        Value::Array(a) => a.len(),
        v => return Err(format!("can't slice item of type {}", gofmt::type_name(v))),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match v {
        Value::String(s) => string(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])),
        Value::Array(a) => Val::owned(Value::Array(a[idx[0]..idx[1]].to_vec())),
        _ => Val::Missing,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Uint,
}

fn basic_kind(v: &Val<'_>) -> Kind {
    match v.get() {
        Some(Value::Bool(_)) => Kind::Bool,
        Some(Value::Number(n)) => match num(n) {
            Num::Int(_) => Kind::Int,
            Num::Uint(_) => Kind::Uint,
            Num::Float(_) => Kind::Float,
        },
        Some(Value::String(_)) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn as_i64(v: &Val<'_>) -> i64 {
    v.get().and_then(Value::as_i64).unwrap_or(0)
}

fn as_u64(v: &Val<'_>) -> u64 {
    v.get().and_then(Value::as_u64).unwrap_or(0)
}

fn as_f64(v: &Val<'_>) -> f64 {
    v.get().and_then(Value::as_f64).unwrap_or(0.0)
}

fn as_str<'a>(v: &'a Val<'_>) -> &'a str {
    v.get().and_then(Value::as_str).unwrap_or("")
}

/// Go's `eq`: `arg1 == arg2 || arg1 == arg3 ...`.
fn eq(arg1: &Val<'_>, rest: &[Val<'_>]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".to_owned());
    }
    let k1 = basic_kind(arg1);
    for arg in rest {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => as_i64(arg1) >= 0 && as_i64(arg1) as u64 == as_u64(arg),
                (Kind::Uint, Kind::Int) => as_i64(arg) >= 0 && as_u64(arg1) == as_i64(arg) as u64,
                _ => {
                    if !arg1.is_nil() && !arg.is_nil() {
                        return Err(format!(
                            "incompatible types for comparison: {} and {}",
                            arg1.type_name(),
                            arg.type_name()
                        ));
                    }
                    false
                }
            }
        } else {
            match k1 {
                Kind::Bool => arg1.get() == arg.get(),
                Kind::Float => as_f64(arg1) == as_f64(arg),
                Kind::Int => as_i64(arg1) == as_i64(arg),
                Kind::Uint => as_u64(arg1) == as_u64(arg),
                Kind::String => as_str(arg1) == as_str(arg),
                Kind::Invalid => {
                    let same_kind = match (arg1.get(), arg.get()) {
                        (Some(Value::Array(_)), Some(Value::Array(_)))
                        | (Some(Value::Object(_)), Some(Value::Object(_))) => true,
                        (a, b) => a.is_none_or(Value::is_null) || b.is_none_or(Value::is_null),
                    };
                    if !same_kind {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            gofmt::sprintf("%s", &[arg1.to_value()]),
                            arg1.type_name(),
                            arg.type_name(),
                            gofmt::sprint_value(&arg.to_value()),
                        ));
                    }
                    if arg1.is_nil() || arg.is_nil() {
                        arg1.is_nil() == arg.is_nil()
                    } else {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            gofmt::sprintf("%s", &[arg.to_value()]),
                            arg.type_name()
                        ));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
fn lt(arg1: &Val<'_>, arg2: &Val<'_>) -> Result<bool, String> {
    let k1 = basic_kind(arg1);
    let k2 = basic_kind(arg2);
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".to_owned());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(as_i64(arg1) < 0 || (as_i64(arg1) as u64) < as_u64(arg2)),
            (Kind::Uint, Kind::Int) => Ok(as_i64(arg2) >= 0 && as_u64(arg1) < as_i64(arg2) as u64),
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                arg1.type_name(),
                arg2.type_name()
            )),
        };
    }
    match k1 {
        Kind::Float => Ok(as_f64(arg1) < as_f64(arg2)),
        Kind::Int => Ok(as_i64(arg1) < as_i64(arg2)),
        Kind::Uint => Ok(as_u64(arg1) < as_u64(arg2)),
        Kind::String => Ok(as_str(arg1) < as_str(arg2)),
        Kind::Bool | Kind::Invalid => Err("invalid type for comparison".to_owned()),
    }
}

fn le(arg1: &Val<'_>, arg2: &Val<'_>) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}
