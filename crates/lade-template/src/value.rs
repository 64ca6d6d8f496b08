//! Values during execution: borrowed from the caller's JSON where possible.
//!
//! `Missing` is Go's invalid `reflect.Value` (what a map lookup of an absent
//! key gives): it prints `<no value>`. `null` is a nil interface: it prints
//! `<nil>` (as a nil pointer field of a Docker struct does).

use std::borrow::Cow;

use serde_json::Value;

use crate::gofmt::{Num, num};

#[derive(Debug, Clone)]
pub(crate) enum Val<'d> {
    Missing,
    V(Cow<'d, Value>),
    /// A nil slice or map field of a Docker struct (see
    /// [`crate::Template::with_nil_fields`]): its empty value (`[]` or `{}`) to
    /// everything but `json`, which writes `null` as Go marshals a nil slice or map.
    Nil(Value),
}

impl<'d> Val<'d> {
    pub(crate) fn owned(v: Value) -> Self {
        Val::V(Cow::Owned(v))
    }

    pub(crate) fn borrowed(v: &'d Value) -> Self {
        Val::V(Cow::Borrowed(v))
    }

    /// The value, or `None` for `Missing`.
    pub(crate) fn get(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::V(v) => Some(v.as_ref()),
            Val::Nil(v) => Some(v),
        }
    }

    /// The value a Go function taking `interface{}` receives: `Missing` is nil.
    pub(crate) fn to_value(&self) -> Value {
        self.get().cloned().unwrap_or(Value::Null)
    }

    /// `Missing` or `null`: both are nil once taken out of an interface.
    pub(crate) fn is_nil(&self) -> bool {
        matches!(self.get(), None | Some(Value::Null))
    }

    /// A child of this value, borrowed when this value is.
    pub(crate) fn child(&self, f: impl Fn(&Value) -> Option<&Value>) -> Val<'d> {
        match self {
            Val::Missing | Val::Nil(_) => Val::Missing,
            Val::V(Cow::Borrowed(b)) => f(b).map_or(Val::Missing, Val::borrowed),
            Val::V(Cow::Owned(o)) => f(o).map_or(Val::Missing, |c| Val::owned(c.clone())),
        }
    }

    /// Go's `isTrue`: the value is not the zero value of its type.
    pub(crate) fn truth(&self) -> bool {
        match self.get() {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => match num(n) {
                Num::Int(i) => i != 0,
                Num::Uint(u) => u != 0,
                Num::Float(f) => f != 0.0,
            },
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
        }
    }

    /// Go's type name of the value (`interface {}` for a nil interface).
    pub(crate) fn type_name(&self) -> &'static str {
        match self.get() {
            None => "<nil>",
            Some(Value::Null) => "interface {}",
            Some(v) => crate::gofmt::type_name(v),
        }
    }
}
