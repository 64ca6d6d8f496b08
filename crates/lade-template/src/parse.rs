//! The parser: items to trees, a port of Go's `text/template/parse/parse.go`.
//!
//! Error messages keep Go's words and line numbers
//! (`template: :1: unexpected "}" in operand`), since users compare them with
//! what Docker prints.

use std::collections::HashMap;

use crate::funcs;
use crate::lex::{Item, ItemType, lex};
use crate::node::{Arg, Branch, Command, List, Node, Number, Pipe, TemplateCall, Variable};

/// Deepest nesting of parentheses and control structures accepted; Go allows
/// 10000 parentheses, but a recursive evaluator needs a tighter bound.
const MAX_DEPTH: usize = 200;

/// All templates of one parse: the main one under `""`, plus `define`s and `block`s.
pub(crate) type TreeSet = HashMap<String, List>;

enum Parsed {
    Node(Node),
    End,
    Else,
}

struct Parser {
    items: Vec<Item>,
    idx: usize,
    furthest: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    depth: usize,
    trees: TreeSet,
}

type PResult<T> = Result<T, String>;

/// Parses `text` (named `""`, as Docker names its templates).
pub(crate) fn parse(text: &str) -> PResult<TreeSet> {
    let mut p = Parser {
        items: lex(text),
        idx: 0,
        furthest: 0,
        vars: vec!["$".to_owned()],
        action_line: 0,
        range_depth: 0,
        depth: 0,
        trees: TreeSet::new(),
    };
    let root = p.parse_root()?;
    p.add(String::new(), root)?;
    Ok(p.trees)
}

fn is_empty_tree(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

impl Parser {
    fn item(&self, i: usize) -> Item {
        let i = i.min(self.items.len().saturating_sub(1));
        self.items.get(i).cloned().unwrap_or(Item {
            typ: ItemType::Eof,
            pos: 0,
            val: String::new(),
            line: 1,
        })
    }

    fn next(&mut self) -> Item {
        let it = self.item(self.idx);
        self.furthest = self.furthest.max(self.idx);
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        it
    }

    fn peek(&mut self) -> Item {
        self.furthest = self.furthest.max(self.idx);
        self.item(self.idx)
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf<T>(&self, msg: impl AsRef<str>) -> PResult<T> {
        let line = self.item(self.furthest).line;
        Err(format!("template: :{line}: {}", msg.as_ref()))
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at :{}", self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_owned();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != expected {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn add(&mut self, name: String, list: List) -> PResult<()> {
        match self.trees.get(&name) {
            Some(old) if !is_empty_tree(old) => {
                if !is_empty_tree(&list) {
                    return self.errorf(format!(
                        "template: multiple definition of template {}",
                        crate::gofmt::quote(&name)
                    ));
                }
            }
            _ => {
                self.trees.insert(name, list);
            }
        }
        Ok(())
    }

    fn parse_root(&mut self) -> PResult<List> {
        let mut root = List::default();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim_idx = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = delim_idx;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.nodes.push(n),
                Parsed::End => return self.errorf("unexpected {{end}}"),
                Parsed::Else => return self.errorf("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let name = self.next_non_space();
        if name.typ != ItemType::String && name.typ != ItemType::RawString {
            return self.unexpected(&name, CONTEXT);
        }
        let Some(name) = unquote(&name.val) else {
            return self.errorf("invalid syntax");
        };
        self.expect(ItemType::RightDelim, CONTEXT)?;
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let (list, end) = self.item_list()?;
        self.vars = vars;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {CONTEXT}", parsed_name(&end)));
        }
        self.add(name, list)
    }

    fn item_list(&mut self) -> PResult<(List, Parsed)> {
        let mut list = List::default();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                end => return Ok((list, end)),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(token.val))),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break | ItemType::Continue => {
                let name = if token.typ == ItemType::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let t = self.next_non_space();
                if t.typ != ItemType::RightDelim {
                    return self.unexpected(&t, name);
                }
                if self.range_depth == 0 {
                    return self.errorf(format!("{name} outside {{{{range}}}}"));
                }
                return Ok(Parsed::Node(if token.typ == ItemType::Break {
                    Node::Break(token.pos)
                } else {
                    Node::Continue(token.pos)
                }));
            }
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.if_control().map(Parsed::Node),
            ItemType::Range => {
                let b = self.parse_control("range")?;
                return Ok(Parsed::Node(Node::Range(b)));
            }
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.with_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn if_control(&mut self) -> PResult<Node> {
        Ok(Node::If(self.parse_control("if")?))
    }

    fn with_control(&mut self) -> PResult<Node> {
        Ok(Node::With(self.parse_control("with")?))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.errorf("max expression depth exceeded");
        }
        let mark = self.vars.len();
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else = next {
            if context == "if" && self.peek().typ == ItemType::If {
                self.next();
                else_list = Some(List {
                    nodes: vec![self.if_control()?],
                });
            } else if context == "with" && self.peek().typ == ItemType::With {
                self.next();
                else_list = Some(List {
                    nodes: vec![self.with_control()?],
                });
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return self.errorf(format!("expected end; found {}", parsed_name(&next)));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Some(s) => Ok(s),
                None => self.errorf("invalid syntax"),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let (list, end) = self.item_list()?;
        self.vars = vars;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {CONTEXT}", parsed_name(&end)));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val);
                    break;
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue;
                            }
                            _ => return self.errorf("range can only initialize variables"),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => {
                    self.idx = v_idx;
                    break;
                }
            }
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool { .. } | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(_) | Arg::String { .. },
            ) = c.args.first()
            {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next();
            fields.push(f.val.trim_start_matches('.').to_owned());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = pos;
                Arg::Variable(v)
            }
            Arg::Bool { .. } | Arg::String { .. } | Arg::Number(_) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    crate::gofmt::quote(&node.to_string())
                ));
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let arg = match token.typ {
            ItemType::Identifier => {
                if !funcs::exists(&token.val) {
                    return self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&token.val)
                    ));
                }
                Arg::Identifier {
                    pos: token.pos,
                    name: token.val,
                }
            }
            ItemType::Dot => Arg::Dot(token.pos),
            ItemType::Nil => Arg::Nil(token.pos),
            ItemType::Variable => {
                let v = new_variable(token.pos, &token.val);
                if !v.ident.first().is_some_and(|n| self.vars.contains(n)) {
                    return self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(v.ident.first().map_or("", String::as_str))
                    ));
                }
                Arg::Variable(v)
            }
            ItemType::Field => Arg::Field {
                pos: token.pos,
                ident: token.val[1..].split('.').map(str::to_owned).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos: token.pos,
                value: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match new_number(token.pos, &token.val, token.typ) {
                    Ok(n) => Arg::Number(Box::new(n)),
                    Err(e) => return self.errorf(e),
                }
            }
            ItemType::LeftParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.errorf("max expression depth exceeded");
                }
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(p))
            }
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Some(text) => Arg::String {
                    pos: token.pos,
                    quoted: token.val,
                    text,
                },
                None => return self.errorf("invalid syntax"),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

fn parsed_name(p: &Parsed) -> String {
    match p {
        Parsed::Node(n) => n.to_string(),
        Parsed::End => "{{end}}".to_owned(),
        Parsed::Else => "{{else}}".to_owned(),
    }
}

fn new_variable(pos: usize, name: &str) -> Variable {
    Variable {
        pos,
        ident: name.split('.').map(str::to_owned).collect(),
    }
}

/// Go's `newNumber`: every reading of a number literal that succeeds.
fn new_number(pos: usize, text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        pos,
        text: text.to_owned(),
        int: None,
        uint: None,
        float: None,
    };
    if typ == ItemType::CharConstant {
        let inner = &text[1..];
        let (r, tail) = unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_owned())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = u32::from(r);
        n.int = Some(i64::from(r));
        n.uint = Some(u64::from(r));
        n.float = Some(f64::from(r));
        return Ok(n);
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    n.uint = parse_int(text).and_then(|(neg, u)| (!neg && !text.starts_with('+')).then_some(u));
    n.int = parse_int(text).and_then(|(neg, u)| {
        if neg {
            if u <= 1u64 << 63 {
                Some((u as i64).wrapping_neg())
            } else {
                None
            }
        } else {
            i64::try_from(u).ok()
        }
    });
    if n.int == Some(0) {
        n.uint = Some(0);
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::gofmt::quote(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    Ok(n)
}

fn strip_underscores(digits: &str) -> Option<String> {
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    Some(digits.replace('_', ""))
}

/// Go's `strconv.ParseUint(s, 0, 64)` with an optional sign, as
/// (negative, magnitude).
fn parse_int(text: &str) -> Option<(bool, u64)> {
    let (neg, s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.trim_start_matches('_'))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.trim_start_matches('_'))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.trim_start_matches('_'))
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits = strip_underscores(digits)?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok().map(|u| (neg, u))
}

fn parse_float(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    let s = strip_underscores(&lower)?;
    let f = match s.strip_prefix(['+', '-']).unwrap_or(&s).strip_prefix("0x") {
        Some(hex) => {
            let v = parse_hex_float(hex)?;
            if s.starts_with('-') { -v } else { v }
        }
        None => s.parse().ok()?,
    };
    f.is_finite().then_some(f)
}

/// A hexadecimal float without its `0x`: `1.ep+2` is 1.875 × 2² = 7.5.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp - 4 * i32::try_from(frac.len()).ok()?;
    Some(v * 2f64.powi(shift))
}

/// Go's `strconv.UnquoteChar`: one (possibly escaped) character of a quoted
/// literal, and the rest of the input.
fn unquote_char(s: &str, quote: char) -> Option<(char, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((c, chars.as_str()));
    }
    let e = chars.next()?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, rest));
    }
    let hex = |n: usize| -> Option<(u32, &str)> {
        let digits = rest.get(..n)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        Some((v, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, rest) = hex(2)?;
            Some((char::from_u32(v)?, rest))
        }
        'u' => {
            let (v, rest) = hex(4)?;
            Some((char::from_u32(v)?, rest))
        }
        'U' => {
            let (v, rest) = hex(8)?;
            Some((char::from_u32(v)?, rest))
        }
        '0'..='7' => {
            let digits = s.get(1..4)?;
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((char::from_u32(v)?, &s[4..]))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` for "double-quoted" and `raw` strings.
pub(crate) fn unquote(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', ""));
    }
    let mut rest = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(rest.len());
    while !rest.is_empty() {
        let (c, tail) = unquote_char(rest, '"')?;
        out.push(c);
        rest = tail;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Rows from Go's parse_test.go (parseTests and errorTests).
    #[rstest]
    #[case("{{.X}", r#"template: :1: bad character U+007D '}'"#)]
    #[case("{{ .X }", r#"template: :1: unexpected "}" in operand"#)]
    #[case("{{end}}", "template: :1: unexpected {{end}}")]
    #[case("{{else}}", "template: :1: unexpected {{else}}")]
    #[case("{{if .X}}a", "template: :1: unexpected EOF")]
    #[case(
        "{{range .X}}a{{else}}b{{else}}c{{end}}",
        "template: :1: expected end; found {{else}}"
    )]
    #[case("{{if}}{{end}}", "template: :1: missing value for if")]
    #[case("{{nonesuch}}", r#"template: :1: function "nonesuch" not defined"#)]
    #[case("{{$x}}", r#"template: :1: undefined variable "$x""#)]
    #[case(
        "{{.X 3 | 3}}",
        "template: :1: non executable command in pipeline stage 2"
    )]
    #[case("{{(1)}}", "")]
    #[case("{{\"x\".Y}}", r#"template: :1: unexpected . after term "\"x\"""#)]
    #[case("{{break}}", "template: :1: {{break}} outside {{range}}")]
    #[case(
        "{{range .X}}{{break 1}}{{end}}",
        "template: :1: unexpected \"1\" in {{break}}"
    )]
    #[case(
        "{{range $a, $b, $c := .}}{{end}}",
        "template: :1: too many declarations in range"
    )]
    #[case(
        "{{range $a, 3}}{{end}}",
        "template: :1: range can only initialize variables"
    )]
    #[case(
        "{{with $x := 4}}{{end}}{{$x}}",
        r#"template: :1: undefined variable "$x""#
    )]
    #[case("{{.X", "template: :1: unclosed action")]
    #[case("{{.X\n\n", "template: :3: unclosed action started at :1")]
    #[case("{{(.X}}", "template: :1: unclosed left paren")]
    #[case("{{.X)}}", "template: :1: unexpected right paren")]
    #[case(
        "{{/* x */ .X}}",
        "template: :1: comment ends before closing delimiter"
    )]
    #[case("{{/* x", "template: :1: unclosed comment")]
    #[case("{{\"x}}", "template: :1: unterminated quoted string")]
    #[case(
        "{{99999999999999999999}}",
        r#"template: :1: integer overflow: "99999999999999999999""#
    )]
    #[case("{{3k}}", r#"template: :1: bad number syntax: "3k""#)]
    #[case("{{'ab'}}", "template: :1: malformed character constant: 'ab'")]
    #[case(
        "{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
        r#"template: :1: template: multiple definition of template "a""#
    )]
    #[case("\n\n{{}}", "template: :3: missing value for command")]
    fn parse_errors_match_go(#[case] text: &str, #[case] want: &str) {
        match parse(text) {
            Ok(_) => assert_eq!("", want, "{text} parsed"),
            Err(e) => assert_eq!(e, want, "{text}"),
        }
    }

    #[rstest]
    #[case("{{.X}}", "{{.X}}")]
    #[case("{{$x := .X | printf \"%d\"}}", "{{$x := .X | printf \"%d\"}}")]
    #[case(
        "{{if .X}}a{{else if .Y}}b{{end}}",
        "{{if .X}}a{{else}}{{if .Y}}b{{end}}{{end}}"
    )]
    #[case(
        "{{range $i, $e := .}}{{$e.Name}}{{end}}",
        "{{range $i, $e := .}}{{$e.Name}}{{end}}"
    )]
    #[case("{{(index . 0).X.Y}}", "{{(index . 0).X.Y}}")]
    #[case(
        "{{with .X}}{{.}}{{else with .Y}}{{.}}{{end}}",
        "{{with .X}}{{.}}{{else}}{{with .Y}}{{.}}{{end}}{{end}}"
    )]
    fn trees_print_like_go(#[case] text: &str, #[case] want: &str) {
        let trees = parse(text).unwrap();
        assert_eq!(trees[""].to_string(), want);
    }

    #[rstest]
    #[case(r#""a\tb""#, "a\tb")]
    #[case(r#""\u00e9\x41\101""#, "éAA")]
    #[case("`a\\n`", "a\\n")]
    fn unquotes_go_strings(#[case] q: &str, #[case] want: &str) {
        assert_eq!(unquote(q).as_deref(), Some(want));
    }
}
