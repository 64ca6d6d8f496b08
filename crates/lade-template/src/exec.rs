//! The evaluator: a port of Go's `text/template/exec.go` over JSON values.
//!
//! Objects behave as Go maps: `.Key` looks the key up, and an absent key
//! gives the missing value (`<no value>`), or an error when the caller asked
//! for Go's `missingkey=error` (what `docker inspect` uses). The node being
//! evaluated is tracked as Go tracks it, so run-time errors name the same
//! place: `template: :1:2: executing "" at <.Foo>: ...`.

use serde_json::Value;

use crate::funcs::{self, Param};
use crate::gofmt;
use crate::node::{Arg, At, Branch, Command, List, Node, Number, Pipe, TemplateCall, Variable};
use crate::parse::TreeSet;
use crate::value::Val;

/// Deepest `{{template}}` nesting; Go allows 100000, a Rust stack fewer.
const MAX_EXEC_DEPTH: usize = 100;

/// How a walk ended: normally, or at `{{break}}` / `{{continue}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

type EResult<T> = Result<T, String>;

/// One execution of a tree set.
pub(crate) struct Exec<'t, 'd> {
    pub trees: &'t TreeSet,
    pub text: &'t str,
    pub missing_key_error: bool,
    pub header: bool,
    /// Fields whose `null` is a nil slice (`false`) or map (`true`).
    pub nil_fields: &'t [(String, bool)],
    pub out: String,
    name: String,
    node: Option<At<'t>>,
    vars: Vec<(String, Val<'d>)>,
    depth: usize,
}

impl<'t, 'd> Exec<'t, 'd> {
    pub(crate) fn new(trees: &'t TreeSet, text: &'t str) -> Self {
        Exec {
            trees,
            text,
            missing_key_error: false,
            header: false,
            nil_fields: &[],
            out: String::new(),
            name: String::new(),
            node: None,
            vars: Vec::new(),
            depth: 0,
        }
    }

    /// Executes the main template (`""`) with `data` as dot.
    pub(crate) fn run(&mut self, data: Val<'d>) -> EResult<()> {
        let data = if matches!(data.get(), Some(Value::Null)) {
            Val::Missing
        } else {
            data
        };
        self.vars = vec![("$".to_owned(), data.clone())];
        let trees = self.trees;
        let Some(root) = trees.get("") else {
            return self.errorf("\"\" is an incomplete or empty template");
        };
        self.walk_list(&data, root)?;
        Ok(())
    }

    fn at(&mut self, at: At<'t>) {
        self.node = Some(at);
    }

    fn errorf<T>(&self, msg: impl AsRef<str>) -> EResult<T> {
        let name = gofmt::quote(&self.name);
        match self.node {
            None => Err(format!("template: {}: {}", self.name, msg.as_ref())),
            Some(at) => {
                let pos = at.pos().min(self.text.len());
                let before = &self.text[..pos];
                let col = match before.rfind('\n') {
                    Some(i) => pos - (i + 1),
                    None => pos,
                };
                let line = 1 + before.matches('\n').count();
                Err(format!(
                    "template: :{line}:{col}: executing {name} at <{at}>: {}",
                    msg.as_ref()
                ))
            }
        }
    }

    fn var_value(&self, name: &str) -> EResult<Val<'d>> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Val<'d>) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Val<'d>) {
        let len = self.vars.len();
        if let Some(slot) = self.vars.get_mut(len.wrapping_sub(n)) {
            slot.1 = value;
        }
    }

    fn walk_list(&mut self, dot: &Val<'d>, list: &'t List) -> EResult<Flow> {
        for node in &list.nodes {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Val<'d>, node: &'t Node) -> EResult<Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                self.at(At::Node(node, pipe.pos));
                let val = self.eval_pipeline(dot, Some(pipe))?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node, pipe.pos));
                    self.print_value(&val);
                }
            }
            Node::Break(pos) => {
                self.at(At::Node(node, *pos));
                return Ok(Flow::Break);
            }
            Node::Continue(pos) => {
                self.at(At::Node(node, *pos));
                return Ok(Flow::Continue);
            }
            Node::If(b) => return self.walk_if_or_with(dot, node, b, false),
            Node::With(b) => return self.walk_if_or_with(dot, node, b, true),
            Node::Range(b) => return self.walk_range(dot, node, b),
            Node::Template(t) => self.walk_template(dot, node, t)?,
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(
        &mut self,
        dot: &Val<'d>,
        node: &'t Node,
        b: &'t Branch,
        with: bool,
    ) -> EResult<Flow> {
        self.at(At::Node(node, b.pipe.pos));
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, Some(&b.pipe))?;
        let flow = if val.truth() {
            if with {
                self.walk_list(&val, &b.list)?
            } else {
                self.walk_list(dot, &b.list)?
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn one_iteration(&mut self, b: &'t Branch, index: Val<'d>, elem: Val<'d>) -> EResult<Flow> {
        let mark = self.vars.len();
        let decl = &b.pipe.decl;
        if let Some(first) = decl.first() {
            if b.pipe.is_assign {
                let name = ident0(first);
                if decl.len() > 1 {
                    self.set_var(name, index.clone())?;
                } else {
                    self.set_var(name, elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if let Some(second) = decl.get(1) {
            if b.pipe.is_assign {
                self.set_var(ident0(second), elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &b.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Val<'d>, node: &'t Node, b: &'t Branch) -> EResult<Flow> {
        self.at(At::Node(node, b.pipe.pos));
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, Some(&b.pipe))?;
        let mut ran = false;
        match val.get() {
            Some(Value::Array(a)) if !a.is_empty() => {
                ran = true;
                for i in 0..a.len() {
                    let elem = val.child(|v| v.get(i));
                    if self.one_iteration(b, Val::owned(Value::from(i)), elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(Value::Object(o)) if !o.is_empty() => {
                ran = true;
                let mut keys: Vec<String> = o.keys().cloned().collect();
                keys.sort();
                for k in keys {
                    let elem = val.child(|v| v.get(k.as_str()));
                    if self.one_iteration(b, Val::owned(Value::String(k)), elem)? == Flow::Break {
                        break;
                    }
                }
            }
            None | Some(Value::Null | Value::Array(_) | Value::Object(_)) => {}
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                if b.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::sprint_value(&Value::Number(n.clone()))
                    ));
                }
                let count = n.as_i64().unwrap_or(i64::MAX);
                for i in 0..count {
                    ran = true;
                    let v = Val::owned(Value::from(i));
                    if self.one_iteration(b, v.clone(), v)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(v) => {
                return self.errorf(format!(
                    "range can't iterate over {}",
                    gofmt::sprint_value(v)
                ));
            }
        }
        if !ran && let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Val<'d>, node: &'t Node, t: &'t TemplateCall) -> EResult<()> {
        self.at(At::Node(node, t.pos));
        let trees = self.trees;
        let Some(tmpl) = trees.get(&t.name) else {
            return self.errorf(format!("template {} not defined", gofmt::quote(&t.name)));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            ));
        }
        let new_dot = self.eval_pipeline(dot, t.pipe.as_ref())?;
        let vars = std::mem::replace(&mut self.vars, vec![("$".to_owned(), new_dot.clone())]);
        let name = std::mem::replace(&mut self.name, t.name.clone());
        self.depth += 1;
        let r = self.walk_list(&new_dot, tmpl);
        self.depth -= 1;
        self.vars = vars;
        self.name = name;
        r.map(|_| ())
    }

    fn print_value(&mut self, v: &Val<'d>) {
        match v.get() {
            None => self.out.push_str("<no value>"),
            Some(v) => self.out.push_str(&gofmt::sprint_value(v)),
        }
    }

    fn eval_pipeline(&mut self, dot: &Val<'d>, pipe: Option<&'t Pipe>) -> EResult<Val<'d>> {
        let Some(pipe) = pipe else {
            return Ok(Val::Missing);
        };
        self.at(At::Pipe(pipe));
        let mut value: Option<Val<'d>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Val::Missing);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(ident0(v), value.clone())?;
            } else {
                self.vars.push((ident0(v).to_owned(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Val<'d>>) -> EResult<()> {
        if args.len() > 1 || final_.is_some() {
            let first = args.first().map(ToString::to_string).unwrap_or_default();
            return self.errorf(format!("can't give argument to non-function {first}"));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Val<'d>,
        cmd: &'t Command,
        final_: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let Some(first) = cmd.args.first() else {
            return self.errorf("empty command");
        };
        match first {
            Arg::Field { ident, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot.clone(), ident, &cmd.args, final_);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain(dot, first, node, fields, &cmd.args, final_);
            }
            Arg::Identifier { name, .. } => {
                self.at(At::Arg(first));
                return self.eval_call(dot, name, At::Command(cmd), &cmd.args[1..], final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, Some(p));
            }
            Arg::Variable(v) => return self.eval_variable(first, v, &cmd.args, final_),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { value, .. } => Ok(Val::owned(Value::Bool(*value))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => self.errorf("nil is not a command"),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Val::owned(Value::String(text.clone()))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            )),
        }
    }

    fn ideal_constant(&mut self, arg: &'t Arg, n: &Number) -> EResult<Val<'d>> {
        self.at(At::Arg(arg));
        let t = &n.text;
        let is_hex = t.len() > 2
            && t.starts_with('0')
            && t[1..].starts_with(['x', 'X'])
            && !t.contains(['p', 'P']);
        if let Some(f) = n.float
            && !is_hex
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(serde_json::Number::from_f64(f)
                .map_or(Val::Missing, |n| Val::owned(Value::Number(n))));
        }
        if let Some(i) = n.int {
            return Ok(Val::owned(Value::from(i)));
        }
        if n.uint.is_some() {
            return self.errorf(format!("{t} overflows int"));
        }
        Ok(Val::Missing)
    }

    fn eval_chain(
        &mut self,
        dot: &Val<'d>,
        chain: &'t Arg,
        node: &'t Arg,
        fields: &'t [String],
        args: &'t [Arg],
        final_: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        self.at(At::Arg(chain));
        if let Arg::Nil(_) = node {
            return self.errorf(format!("indirection through explicit nil in {chain}"));
        }
        let pipe = self.eval_arg(dot, Param::Value, node)?;
        self.eval_field_chain(pipe, fields, args, final_)
    }

    fn eval_variable(
        &mut self,
        arg: &'t Arg,
        v: &'t Variable,
        args: &'t [Arg],
        final_: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        self.at(At::Arg(arg));
        let value = self.var_value(ident0(v))?;
        if v.ident.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(value, &v.ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        mut receiver: Val<'d>,
        ident: &[String],
        args: &[Arg],
        final_: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let Some((last, init)) = ident.split_last() else {
            return Ok(receiver);
        };
        for name in init {
            receiver = self.eval_field(name, false, receiver)?;
        }
        let has_args = args.len() > 1 || final_.is_some();
        self.eval_field(last, has_args, receiver)
    }

    fn eval_field(&mut self, name: &str, has_args: bool, receiver: Val<'d>) -> EResult<Val<'d>> {
        match receiver.get() {
            None => {
                if self.missing_key_error {
                    return self
                        .errorf(format!("nil data; no entry for key {}", gofmt::quote(name)));
                }
                Ok(Val::Missing)
            }
            Some(Value::Null) => {
                self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))
            }
            Some(Value::Object(_)) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                // One lookup: the child is `Missing` exactly when the key is absent. A
                // named slice or map field is there even when JSON left it out (a Go
                // struct always has the field): null or absent, it is the nil value.
                let child = receiver.child(|v| v.get(name));
                if !child.is_nil() {
                    return Ok(child);
                }
                let nil_field = self.nil_fields.iter().find(|(f, _)| f == name);
                if matches!(child, Val::Missing) && self.missing_key_error && nil_field.is_none() {
                    return self.errorf(format!("map has no entry for key {}", gofmt::quote(name)));
                }
                if let Some((_, map)) = nil_field {
                    return Ok(Val::Nil(if *map {
                        Value::Object(Default::default())
                    } else {
                        Value::Array(Vec::new())
                    }));
                }
                Ok(child)
            }
            Some(v) => self.errorf(format!(
                "can't evaluate field {name} in type {}",
                gofmt::type_name(v)
            )),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Val<'d>,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        final_: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let Some(spec) = funcs::spec(name, self.header) else {
            return self.errorf(format!("{} is not a defined function", gofmt::quote(name)));
        };
        let num_in = args.len() + usize::from(final_.is_some());
        let num_fixed = spec.params.len();
        if spec.variadic.is_some() {
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {num_fixed} got {}",
                    args.len()
                ));
            }
        } else if num_in != num_fixed {
            return self.errorf(format!(
                "wrong number of args for {name}: want {num_fixed} got {num_in}"
            ));
        }

        if name == "and" || name == "or" {
            let mut v = Val::Missing;
            for arg in args {
                v = self.eval_arg(dot, Param::Value, arg)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }

        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            let param = spec
                .params
                .get(i)
                .copied()
                .or(spec.variadic)
                .unwrap_or(Param::Value);
            argv.push(self.eval_arg(dot, param, arg)?);
        }
        if let Some(f) = final_ {
            let param = match spec.variadic {
                Some(var) if num_in > num_fixed => var,
                _ => spec.params.get(num_in - 1).copied().unwrap_or(Param::Value),
            };
            argv.push(self.validate_type(f, param)?);
        }

        if name == "call" {
            self.at(node);
            let what = match argv.first() {
                Some(v) if !v.is_nil() => format!(
                    "non-function {} of type {}",
                    args.first().map(ToString::to_string).unwrap_or_default(),
                    v.type_name()
                ),
                _ => "call of nil".to_owned(),
            };
            return self.errorf(format!("error calling call: {what}"));
        }

        match funcs::call(name, argv, self.header) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(node);
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    fn validate_type(&self, value: Val<'d>, param: Param) -> EResult<Val<'d>> {
        let want = param.go_name();
        match (param, value.get()) {
            (Param::Value, _) => Ok(value),
            (Param::Any, None) => Ok(Val::owned(Value::Null)),
            (Param::Any, Some(_)) => Ok(value),
            (Param::StrList, None) => Ok(Val::owned(Value::Array(Vec::new()))),
            (_, None) => self.errorf(format!("invalid value; expected {want}")),
            (Param::Str, Some(Value::String(_))) => Ok(value),
            (Param::Int, Some(Value::Number(n))) if n.is_i64() => Ok(value),
            (Param::StrList, Some(Value::Array(a))) if a.iter().all(Value::is_string) => Ok(value),
            (_, Some(_)) => self.errorf(format!(
                "wrong type for value; expected {want}; got {}",
                value.type_name()
            )),
        }
    }

    fn eval_arg(&mut self, dot: &Val<'d>, param: Param, n: &'t Arg) -> EResult<Val<'d>> {
        self.at(At::Arg(n));
        let v = match n {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match param {
                    Param::Value | Param::Any => Ok(Val::owned(Value::Null)),
                    Param::StrList => Ok(Val::owned(Value::Array(Vec::new()))),
                    _ => self.errorf(format!("cannot assign nil to {}", param.go_name())),
                };
            }
            Arg::Field { ident, .. } => {
                self.eval_field_chain(dot.clone(), ident, std::slice::from_ref(n), None)?
            }
            Arg::Variable(v) => self.eval_variable(n, v, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, Some(p))?,
            Arg::Identifier { name, .. } => self.eval_call(dot, name, At::Arg(n), &[], None)?,
            Arg::Chain { node, fields, .. } => self.eval_chain(dot, n, node, fields, &[], None)?,
            Arg::Bool { value, .. } => {
                return match param {
                    Param::Value | Param::Any => Ok(Val::owned(Value::Bool(*value))),
                    Param::Str => self.errorf(format!("expected string; found {n}")),
                    Param::Int => self.errorf(format!("expected integer; found {n}")),
                    Param::StrList => self.cant_handle(n, param),
                };
            }
            Arg::Number(num) => {
                return match param {
                    Param::Value | Param::Any => self.ideal_constant(n, num),
                    Param::Int => match num.int {
                        Some(i) => Ok(Val::owned(Value::from(i))),
                        None => self.errorf(format!("expected integer; found {n}")),
                    },
                    Param::Str => self.errorf(format!("expected string; found {n}")),
                    Param::StrList => self.cant_handle(n, param),
                };
            }
            Arg::String { text, .. } => {
                return match param {
                    Param::Value | Param::Any | Param::Str => {
                        Ok(Val::owned(Value::String(text.clone())))
                    }
                    Param::Int => self.errorf(format!("expected integer; found {n}")),
                    Param::StrList => self.cant_handle(n, param),
                };
            }
        };
        self.validate_type(v, param)
    }

    fn cant_handle<T>(&self, n: &Arg, param: Param) -> EResult<T> {
        self.errorf(format!(
            "can't handle {n} for arg of type {}",
            param.go_name()
        ))
    }
}

fn ident0(v: &Variable) -> &str {
    v.ident.first().map_or("$", String::as_str)
}
