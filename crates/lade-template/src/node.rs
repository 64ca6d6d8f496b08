//! The parse tree, after Go's `text/template/parse/node.go`.
//!
//! Every node keeps its byte position, and prints itself as Go's `String()`
//! does, because run-time errors quote the node they failed at
//! (`executing "" at <.Config.Foo>: ...`).

use std::fmt;

/// A list of nodes: the body of a template or of a control structure.
#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template(TemplateCall),
    Break(usize),
    Continue(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug, Clone)]
pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

/// A pipeline with optional declarations: `$x := .A | printf "%s"`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

/// `$x` or `$x.Field.Field`.
#[derive(Debug, Clone)]
pub(crate) struct Variable {
    pub pos: usize,
    pub ident: Vec<String>,
}

/// One command of a pipeline: an operand followed by its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number literal with every interpretation Go's parser found for it.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub pos: usize,
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Variable(Variable),
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number(Box<Number>),
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Field { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Number(n) => n.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// The node an error happened at (Go's `state.node`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum At<'t> {
    Node(&'t Node, usize),
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
}

impl At<'_> {
    pub(crate) fn pos(&self) -> usize {
        match self {
            At::Node(_, pos) => *pos,
            At::Pipe(p) => p.pos,
            At::Command(c) => c.pos,
            At::Arg(a) => a.pos(),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Node(n, _) => n.fmt(f),
            At::Pipe(p) => p.fmt(f),
            At::Command(c) => c.fmt(f),
            At::Arg(a) => a.fmt(f),
        }
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.nodes.iter().try_for_each(|n| n.fmt(f))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template(t) => match &t.pipe {
                Some(p) => write!(f, "{{{{template {} {p}}}}}", crate::gofmt::quote(&t.name)),
                None => write!(f, "{{{{template {}}}}}", crate::gofmt::quote(&t.name)),
            },
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(e) = &b.else_list {
        write!(f, "{{{{else}}}}{e}")?;
    }
    f.write_str("{{end}}")
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                v.fmt(f)?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            c.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ident.join("."))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                _ => a.fmt(f)?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Variable(v) => v.fmt(f),
            Arg::Field { ident, .. } => ident.iter().try_for_each(|i| write!(f, ".{i}")),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number(n) => f.write_str(&n.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => p.fmt(f),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    n => n.fmt(f)?,
                }
                fields.iter().try_for_each(|i| write!(f, ".{i}"))
            }
        }
    }
}

/// The first field names the trees read from the data (`.Repository` → `Repository`),
/// or `None` when they may read anything (`.` itself, `$`, a `template` call): lets a
/// caller build only the fields a format uses.
pub(crate) fn fields_read<'a>(
    lists: impl IntoIterator<Item = &'a List>,
) -> Option<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    for list in lists {
        list_fields(list, &mut out)?;
    }
    Some(out)
}

fn list_fields(list: &List, out: &mut std::collections::BTreeSet<String>) -> Option<()> {
    for node in &list.nodes {
        match node {
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
            Node::Action(pipe) => pipe_fields(pipe, out)?,
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                pipe_fields(&b.pipe, out)?;
                // Inside `range` and `with`, `.` is something else: its fields may be
                // named like the data's, which only makes the set larger.
                list_fields(&b.list, out)?;
                if let Some(e) = &b.else_list {
                    list_fields(e, out)?;
                }
            }
            Node::Template(_) => return None,
        }
    }
    Some(())
}

fn pipe_fields(pipe: &Pipe, out: &mut std::collections::BTreeSet<String>) -> Option<()> {
    for cmd in &pipe.cmds {
        for arg in &cmd.args {
            arg_fields(arg, out)?;
        }
    }
    Some(())
}

fn arg_fields(arg: &Arg, out: &mut std::collections::BTreeSet<String>) -> Option<()> {
    match arg {
        Arg::Dot(_) | Arg::Variable(_) => None,
        Arg::Field { ident, .. } => {
            if let Some(first) = ident.first() {
                out.insert(first.clone());
            }
            Some(())
        }
        Arg::Pipe(p) => pipe_fields(p, out),
        Arg::Chain { node, .. } => arg_fields(node, out),
        Arg::Identifier { .. }
        | Arg::Nil(_)
        | Arg::Bool { .. }
        | Arg::Number(_)
        | Arg::String { .. } => Some(()),
    }
}
