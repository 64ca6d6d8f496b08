//! Go's `fmt` and `strconv` printing, over JSON values.
//!
//! A JSON value stands for what `encoding/json` would decode into an
//! `interface{}`, except that integers stay integers: `null` is `nil`, an
//! integer is an `int` (`uint64` above `i64::MAX`), other numbers are
//! `float64`, an array is `[]interface {}` and an object is
//! `map[string]interface {}` (printed `map[k:v]`, keys sorted).
//!
//! Supported verbs: `%v %+v %#v %T %t %d %b %o %O %x %X %c %q %U %e %E %f %F
//! %g %G %s %%` with the flags `+ - # 0 space`, width and precision. Not
//! supported: argument indexes (`%[1]d`), `*` widths and `%x` on floats.

use serde_json::{Number, Value};

/// Go's name for the dynamic type of a value, as `%T` and error messages print it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n) {
            Num::Int(_) => "int",
            Num::Uint(_) => "uint64",
            Num::Float(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A JSON number as Go sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Uint(u64),
    Float(f64),
}

pub(crate) fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i)
    } else if let Some(u) = n.as_u64() {
        Num::Uint(u)
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Go's `unicode.IsPrint`, approximated: letters, marks, numbers,
/// punctuation, symbols and the ASCII space.
pub(crate) fn is_print(r: char) -> bool {
    if r == ' ' {
        return true;
    }
    if r.is_control() || r.is_whitespace() {
        return false;
    }
    let c = u32::from(r);
    !matches!(c,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xD800..=0xDFFF | 0xE000..=0xF8FF | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xFFFE | 0xFFFF | 0xF0000..)
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

fn quote_with(s: &str, q: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for r in s.chars() {
        escape_rune(&mut out, r, q, ascii_only);
    }
    out.push(q);
    out
}

fn escape_rune(out: &mut String, r: char, q: char, ascii_only: bool) {
    if r == q || r == '\\' {
        out.push('\\');
        out.push(r);
        return;
    }
    let printable = if ascii_only {
        r.is_ascii() && is_print(r)
    } else {
        is_print(r)
    };
    if printable {
        out.push(r);
        return;
    }
    match r {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ => {
            let c = u32::from(r);
            if c < 0x20 || c == 0x7f {
                out.push_str(&format!("\\x{c:02x}"));
            } else if c < 0x10000 {
                out.push_str(&format!("\\u{c:04x}"));
            } else {
                out.push_str(&format!("\\U{c:08x}"));
            }
        }
    }
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|r| r != '`' && r != '\u{FEFF}' && (r == '\t' || !(r < ' ' || r == '\u{7f}')))
}

// ---------------------------------------------------------------------------
// Floats: strconv.FormatFloat.

/// Decimal digits of a float: `0.d1d2d3... × 10^dp`, without trailing zeros.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Parses Rust's `{:e}` output (`-1.2345e-7`) into digits.
fn digits_from_exp(s: &str) -> Digits {
    let s = s.trim_start_matches('-');
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

fn shortest(v: f64) -> Digits {
    digits_from_exp(&format!("{v:e}"))
}

/// `n` significant digits, correctly rounded (n ≥ 1).
fn rounded(v: f64, n: usize) -> Digits {
    digits_from_exp(&format!("{:.*e}", n.saturating_sub(1), v))
}

fn fmt_e(out: &mut String, dg: &Digits, prec: usize, e: char) {
    out.push(char::from(*dg.d.first().unwrap_or(&b'0')));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(*dg.d.get(i).unwrap_or(&b'0')));
        }
    }
    out.push(e);
    let exp = if dg.d.is_empty() { 0 } else { dg.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(out: &mut String, dg: &Digits, prec: usize) {
    if dg.dp > 0 {
        for i in 0..dg.dp as usize {
            out.push(char::from(*dg.d.get(i).unwrap_or(&b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i64 {
            let j = i64::from(dg.dp) + i - 1;
            let c = if j >= 0 {
                dg.d.get(j as usize).copied()
            } else {
                None
            };
            out.push(char::from(c.unwrap_or(b'0')));
        }
    }
}

/// Go's `strconv.FormatFloat(v, verb, prec, 64)` for `e E f F g G`;
/// `prec` `None` means the shortest representation.
pub(crate) fn format_float(v: f64, verb: char, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let mut out = String::new();
    let neg = v.is_sign_negative();
    if neg {
        out.push('-');
    }
    let a = v.abs();
    match (verb, prec) {
        ('e' | 'E', Some(p)) => fmt_e(&mut out, &rounded(a, p + 1), p, verb),
        ('e' | 'E', None) => {
            let dg = shortest(a);
            let p = dg.d.len().saturating_sub(1);
            fmt_e(&mut out, &dg, p, verb);
        }
        ('f' | 'F', Some(p)) => out.push_str(&format!("{a:.p$}")),
        ('f' | 'F', None) => {
            let dg = shortest(a);
            let p = (dg.d.len() as i32 - dg.dp).max(0) as usize;
            fmt_f(&mut out, &dg, p);
        }
        (_, _) => {
            // 'g' / 'G'
            let e = if verb == 'G' { 'E' } else { 'e' };
            let (dg, mut p, short) = match prec {
                None => {
                    let dg = shortest(a);
                    let p = dg.d.len();
                    (dg, p, true)
                }
                Some(p) => {
                    let p = p.max(1);
                    (rounded(a, p), p, false)
                }
            };
            let nd = dg.d.len() as i32;
            let mut eprec = p as i32;
            if eprec > nd && nd >= dg.dp {
                eprec = nd;
            }
            if short {
                eprec = 6;
            }
            let exp = dg.dp - 1;
            if !dg.d.is_empty() && (exp < -4 || exp >= eprec) {
                if p > dg.d.len() {
                    p = dg.d.len();
                }
                fmt_e(&mut out, &dg, p.saturating_sub(1), e);
            } else {
                if p as i32 > dg.dp {
                    p = dg.d.len();
                }
                fmt_f(&mut out, &dg, (p as i32 - dg.dp).max(0) as usize);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The printer: Go's pp and fmt.

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Debug, Default)]
struct Printer {
    buf: String,
    f: Flags,
}

const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let width = s.chars().count();
        match self.f.wid {
            Some(w) if w > width => {
                if self.f.minus {
                    self.buf.push_str(s);
                    self.write_padding(w - width);
                } else {
                    self.write_padding(w - width);
                    self.buf.push_str(s);
                }
            }
            _ => self.buf.push_str(s),
        }
    }

    fn pad_spaces(&mut self, s: &str) {
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = zero;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(p) => match s.char_indices().nth(p) {
                Some((i, _)) => &s[..i],
                None => s,
            },
            None => s,
        }
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) if !v.is_null() => {
                self.buf.push_str(type_name(v));
                self.buf.push('=');
                self.print_value(v, 'v', 1);
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
    }

    /// Go's `printArg`: a top-level operand.
    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_null() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, None),
            }
            return;
        }
        if verb == 'T' {
            let t = type_name(v);
            self.fmt_s(t);
            return;
        }
        self.print_value(v, verb, 0);
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Null => {
                if depth == 0 {
                    self.print_arg(v, verb);
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Number(n) => match num(n) {
                Num::Int(i) => self.fmt_integer_verb(i.unsigned_abs(), i < 0, true, verb, v),
                Num::Uint(u) => self.fmt_integer_verb(u, false, false, verb, v),
                Num::Float(x) => self.fmt_float_verb(x, verb, v),
            },
            Value::String(s) => match verb {
                'v' if self.f.sharp_v => self.fmt_q(s),
                'v' | 's' => self.fmt_s(s),
                'x' => self.fmt_sx(s, LDIGITS),
                'X' => self.fmt_sx(s, UDIGITS),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Array(items) => {
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push(']');
                }
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_value(&Value::String(k.clone()), verb, depth + 1);
                    self.buf.push(':');
                    if let Some(item) = map.get(k) {
                        self.print_value(item, verb, depth + 1);
                    }
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        let q = if self.f.sharp && can_backquote(s) {
            format!("`{s}`")
        } else {
            quote_with(s, '"', self.f.plus)
        };
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &str, digits: &[u8; 17]) {
        let b = s.as_bytes();
        let length = self.f.prec.map_or(b.len(), |p| p.min(b.len()));
        let mut width = 2 * length;
        if width == 0 {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(char::from(digits[16]));
        }
        for (i, c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(char::from(digits[16]));
                }
            }
            self.buf.push(char::from(digits[usize::from(c >> 4)]));
            self.buf.push(char::from(digits[usize::from(c & 0xF)]));
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }

    fn fmt_integer_verb(&mut self, u: u64, neg: bool, signed: bool, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v && !signed => {
                let sharp = self.f.sharp;
                self.f.sharp = true;
                self.fmt_integer(u, neg, 16, verb, LDIGITS);
                self.f.sharp = sharp;
            }
            'v' | 'd' => self.fmt_integer(u, neg, 10, verb, LDIGITS),
            'b' => self.fmt_integer(u, neg, 2, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(u, neg, 8, verb, LDIGITS),
            'x' => self.fmt_integer(u, neg, 16, verb, LDIGITS),
            'X' => self.fmt_integer(u, neg, 16, verb, UDIGITS),
            'c' => {
                let r = if neg {
                    '\u{FFFD}'
                } else {
                    u32::try_from(u)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}')
                };
                self.pad(&r.to_string());
            }
            'q' => {
                let r = if neg {
                    '\u{FFFD}'
                } else {
                    u32::try_from(u)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}')
                };
                let q = if self.f.sharp && can_backquote(&r.to_string()) {
                    format!("`{r}`")
                } else {
                    quote_with(&r.to_string(), '\'', self.f.plus)
                };
                self.pad(&q);
            }
            'U' => {
                let prec = self.f.prec.unwrap_or(4).max(4);
                let mut s = format!("U+{u:0prec$X}");
                if self.f.sharp
                    && let Some(r) = u32::try_from(u).ok().and_then(char::from_u32)
                    && is_print(r)
                {
                    s.push_str(&format!(" '{r}'"));
                }
                self.pad_spaces(&s);
            }
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_integer(
        &mut self,
        mut u: u64,
        negative: bool,
        base: u64,
        verb: char,
        digits: &[u8; 17],
    ) {
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero
            && !self.f.minus
            && let Some(w) = self.f.wid
        {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            buf.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8_lossy(&buf).into_owned();
        self.pad_spaces(&s);
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char, v: &Value) {
        match verb {
            'v' => self.fmt_float(x, 'g', None),
            'g' | 'G' => self.fmt_float(x, verb, None),
            'e' | 'E' | 'f' | 'F' => self.fmt_float(x, verb, Some(6)),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, default_prec: Option<usize>) {
        let prec = self.f.prec.or(default_prec);
        let s = format_float(x, verb, prec);
        let (mut sign, digits) = match s.strip_prefix('-') {
            Some(rest) => ('-', rest.to_owned()),
            None => match s.strip_prefix('+') {
                Some(rest) => ('+', rest.to_owned()),
                None => ('+', s.clone()),
            },
        };
        if self.f.space && sign == '+' && !self.f.plus {
            sign = ' ';
        }
        if self.f.plus || sign != '+' {
            let len = digits.chars().count() + 1;
            if self.f.zero
                && !self.f.minus
                && let Some(w) = self.f.wid
                && w > len
            {
                self.buf.push(sign);
                self.write_padding(w - len);
                self.buf.push_str(&digits);
                return;
            }
            self.pad(&format!("{sign}{digits}"));
            return;
        }
        self.pad(&digits);
    }
}

/// `%v` of a value (Go's `fmt.Sprint` of one operand).
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.buf
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: spaces between all operands, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `parsenum`: a width or precision; past a million the rest of the
/// format is swallowed, as in Go.
fn parse_num(b: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if n > 1_000_000 {
            return (None, b.len());
        }
        n = n * 10 + usize::from(b[i] - b'0');
        i += 1;
    }
    if i == start { (None, i) } else { (Some(n), i) }
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let b = format.as_bytes();
    let end = b.len();
    let mut p = Printer::default();
    let mut arg_num = 0;
    let mut i = 0;
    while i < end {
        let last = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        if i > last {
            p.buf.push_str(&format[last..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let (wid, ni) = parse_num(b, i);
        p.f.wid = wid;
        i = ni;
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            let (prec, ni) = parse_num(b, i);
            p.f.prec = Some(prec.unwrap_or(0));
            i = ni;
        }
        if i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let Some(verb) = format[i..].chars().next() else {
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
            continue;
        }
        let Some(arg) = args.get(arg_num) else {
            p.buf.push_str("%!");
            p.buf.push(verb);
            p.buf.push_str("(MISSING)");
            continue;
        };
        if verb == 'v' {
            p.f.sharp_v = p.f.sharp;
            p.f.sharp = false;
            p.f.plus = false;
        }
        p.print_arg(arg, verb);
        arg_num += 1;
    }
    if arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (i, arg) in args[arg_num..].iter().enumerate() {
            if i > 0 {
                p.buf.push_str(", ");
            }
            if arg.is_null() {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(type_name(arg));
                p.buf.push('=');
                p.print_arg(arg, 'v');
            }
        }
        p.buf.push(')');
    }
    p.buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(1.0, "1")]
    #[case(1.5, "1.5")]
    #[case(0.1, "0.1")]
    #[case(100000.0, "100000")]
    #[case(1000000.0, "1e+06")]
    #[case(1234567.0, "1.234567e+06")]
    #[case(0.0001, "0.0001")]
    #[case(0.00001, "1e-05")]
    #[case(-2.5, "-2.5")]
    #[case(0.0, "0")]
    #[case(1e21, "1e+21")]
    fn float_v_like_go(#[case] x: f64, #[case] want: &str) {
        assert_eq!(sprint_value(&json!(x)), want);
    }

    // Rows from Go's fmt_test.go.
    #[rstest]
    #[case("%d", json!(12345), "12345")]
    #[case("%v", json!(12345), "12345")]
    #[case("%+d", json!(12345), "+12345")]
    #[case("% d", json!(12345), " 12345")]
    #[case("%6d", json!(12345), " 12345")]
    #[case("%06d", json!(12345), "012345")]
    #[case("%-6d", json!(12345), "12345 ")]
    #[case("%.8d", json!(-12345), "-00012345")]
    #[case("%x", json!(255), "ff")]
    #[case("%#x", json!(255), "0xff")]
    #[case("%X", json!(-255), "-FF")]
    #[case("%o", json!(8), "10")]
    #[case("%#o", json!(8), "010")]
    #[case("%O", json!(8), "0o10")]
    #[case("%b", json!(5), "101")]
    #[case("%c", json!(65), "A")]
    #[case("%q", json!(65), "'A'")]
    #[case("%U", json!(0x1F600), "U+1F600")]
    #[case("%#U", json!(65), "U+0041 'A'")]
    #[case("%s", json!("abc"), "abc")]
    #[case("%q", json!("abc"), "\"abc\"")]
    #[case("%q", json!("\"\n\t\u{1}é"), r#""\"\n\t\x01é""#)]
    #[case("%+q", json!("é"), r#""\u00e9""#)]
    #[case("%#q", json!("abc"), "`abc`")]
    #[case("%x", json!("xyz"), "78797a")]
    #[case("% X", json!("xyz"), "78 79 7A")]
    #[case("%# x", json!("xyz"), "0x78 0x79 0x7a")]
    #[case("%5s", json!("abc"), "  abc")]
    #[case("%-5s|", json!("abc"), "abc  |")]
    #[case("%05s", json!("abc"), "00abc")]
    #[case("%.2s", json!("日本語"), "日本")]
    #[case("%-10s|", json!("alpine"), "alpine    |")]
    #[case("%f", json!(1.5), "1.500000")]
    #[case("%.2f", json!(1.23456), "1.23")]
    #[case("%8.3f", json!(-1.23456), "  -1.235")]
    #[case("%08.3f", json!(-1.23456), "-001.235")]
    #[case("%+.3e", json!(12345.678), "+1.235e+04")]
    #[case("%E", json!(1.0), "1.000000E+00")]
    #[case("%g", json!(1e-7), "1e-07")]
    #[case("%.3g", json!(1234.5), "1.23e+03")]
    #[case("%.3g", json!(12.0), "12")]
    #[case("%t", json!(true), "true")]
    #[case("%v", json!(["a", 1, null]), "[a 1 <nil>]")]
    #[case("%q", json!(["a", "b"]), "[\"a\" \"b\"]")]
    #[case("%v", json!({"b": 1, "a": "x"}), "map[a:x b:1]")]
    #[case("%#v", json!("x"), "\"x\"")]
    #[case("%T", json!("x"), "string")]
    #[case("%T", json!([1]), "[]interface {}")]
    #[case("%d", json!("x"), "%!d(string=x)")]
    #[case("%s", json!(3), "%!s(int=3)")]
    #[case("%d", json!(1.5), "%!d(float64=1.5)")]
    #[case("%d", json!(null), "%!d(<nil>)")]
    #[case("%v", json!(null), "<nil>")]
    #[case("%z", json!(1), "%!z(int=1)")]
    #[case("%d", json!(["a"]), "[%!d(string=a)]")]
    #[case("%5v", json!([1, 2]), "[    1     2]")]
    #[case("100%%", json!(1), "100%%!(EXTRA int=1)")]
    fn sprintf_like_go(#[case] format: &str, #[case] arg: Value, #[case] want: &str) {
        assert_eq!(sprintf(format, &[arg]), want);
    }

    #[test]
    fn sprintf_missing_and_noverb() {
        assert_eq!(sprintf("%d %s", &[json!(1)]), "1 %!s(MISSING)");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(
            sprintf("x", &[json!(1), json!("a")]),
            "x%!(EXTRA int=1, string=a)"
        );
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        assert_eq!(
            sprint(&[json!(1), json!(2), json!("a"), json!("b"), json!(3)]),
            "1 2ab3"
        );
        assert_eq!(sprintln(&[json!("a"), json!(1)]), "a 1\n");
    }
}
