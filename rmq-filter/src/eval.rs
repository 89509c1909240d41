//! Evaluates an expression tree against a message's properties with RocketMQ's three-valued
//! logic: a comparison involving a missing property is *unknown*; `NOT unknown` is unknown;
//! `AND` and `OR` treat unknown as false; a message matches only when the result is true.
//!
//! Property values are strings. Compared with a number, a value is read as a number (a value
//! that is not one makes the comparison unknown); two values compared with `<`/`>` are read as
//! numbers; `=` between strings is exact.

use std::cmp::Ordering;

use crate::parser::{CmpOp, Literal, Node};

/// A value during evaluation, borrowed from the expression or from the message.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Str(&'a str),
    Long(i64),
    Double(f64),
    Bool(bool),
}

/// `Some(true)` when `node` holds for the properties `lookup` yields; `None` when unknown.
pub(crate) fn eval<'a>(node: &'a Node, lookup: &dyn Fn(&str) -> Option<&'a str>) -> Option<bool> {
    match node {
        Node::Const(Literal::Bool(b)) => Some(*b),
        Node::Const(_) | Node::Property(_) => None,
        Node::Not(inner) => eval(inner, lookup).map(|b| !b),
        Node::And(l, r) => {
            if eval(l, lookup) != Some(true) {
                return Some(false);
            }
            Some(eval(r, lookup) == Some(true))
        }
        Node::Or(l, r) => {
            if eval(l, lookup) == Some(true) {
                return Some(true);
            }
            Some(eval(r, lookup) == Some(true))
        }
        Node::Equal(l, r) => match (value(l, lookup), value(r, lookup)) {
            (None, None) => Some(true),
            (None, Some(_)) => None,
            (Some(_), None) => Some(false),
            (Some(a), Some(b)) => Some(order(a, b, false) == Some(Ordering::Equal)),
        },
        Node::Compare(op, l, r) => {
            let ordering = order(value(l, lookup)?, value(r, lookup)?, true)?;
            Some(match op {
                CmpOp::Lt => ordering == Ordering::Less,
                CmpOp::Le => ordering != Ordering::Greater,
                CmpOp::Gt => ordering == Ordering::Greater,
                CmpOp::Ge => ordering != Ordering::Less,
            })
        }
        Node::In {
            property,
            values,
            negated,
        } => {
            let v = lookup(property)?;
            Some(values.iter().any(|x| x == v) != *negated)
        }
    }
}

fn value<'a>(node: &'a Node, lookup: &dyn Fn(&str) -> Option<&'a str>) -> Option<Value<'a>> {
    match node {
        Node::Const(Literal::Str(s)) => Some(Value::Str(s)),
        Node::Const(Literal::Long(n)) => Some(Value::Long(*n)),
        Node::Const(Literal::Double(n)) => Some(Value::Double(*n)),
        Node::Const(Literal::Bool(b)) => Some(Value::Bool(*b)),
        Node::Const(Literal::Null) => None,
        Node::Property(name) => lookup(name).map(Value::Str),
        condition => eval(condition, lookup).map(Value::Bool),
    }
}

/// Orders two values after RocketMQ's conversions; `None` when they cannot be compared.
/// `numeric_strings` reads two strings as numbers (for `<`, `>`), otherwise they compare as
/// text.
fn order(a: Value<'_>, b: Value<'_>, numeric_strings: bool) -> Option<Ordering> {
    use Value::{Bool, Double, Long, Str};
    match (a, b) {
        (Str(x), Str(y)) if numeric_strings => x
            .trim()
            .parse::<f64>()
            .ok()?
            .partial_cmp(&y.trim().parse::<f64>().ok()?),
        (Str(x), Str(y)) => Some(x.cmp(y)),
        (Long(x), Long(y)) => Some(x.cmp(&y)),
        (Double(x), Double(y)) => x.partial_cmp(&y),
        (Long(x), Double(y)) => (x as f64).partial_cmp(&y),
        (Double(x), Long(y)) => x.partial_cmp(&(y as f64)),
        (Bool(x), Bool(y)) => Some(x.cmp(&y)),
        (Str(s), n @ (Long(_) | Double(_))) => order(number(s, n)?, n, false),
        (n @ (Long(_) | Double(_)), Str(s)) => order(n, number(s, n)?, false),
        (Str(s), Bool(y)) => Some(s.eq_ignore_ascii_case("true").cmp(&y)),
        (Bool(x), Str(s)) => Some(x.cmp(&s.eq_ignore_ascii_case("true"))),
        (Bool(_), _) | (_, Bool(_)) => None,
    }
}

/// Reads a property value as a number of the kind it is compared with (an integer may be
/// compared with a decimal value, read as a double).
fn number(text: &str, like: Value<'_>) -> Option<Value<'static>> {
    let text = text.trim();
    match like {
        Value::Long(_) => text
            .parse::<i64>()
            .map(Value::Long)
            .or_else(|_| text.parse::<f64>().map(Value::Double))
            .ok(),
        _ => text.parse::<f64>().map(Value::Double).ok(),
    }
}
