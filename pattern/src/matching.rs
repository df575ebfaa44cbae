//! Matching an event as EventBridge does: fields AND, a field's values OR, an array matching
//! when any element does.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::{AnythingBut, Comparison, Condition, Field, Node, Num};

pub(crate) fn node_matches(node: &Node, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().any(|item| node_matches(node, Some(item)))
        }
        Some(Value::Object(map)) => object_matches(node, Some(map)),
        _ => object_matches(node, None),
    }
}

pub(crate) fn object_matches(node: &Node, object: Option<&Map<String, Value>>) -> bool {
    let get = |key: &str| object.and_then(|o| o.get(key));
    node.fields.iter().all(|(key, field)| match field {
        Field::Leaf(conditions) => leaf_matches(conditions, get(key)),
        Field::Nested(inner) => node_matches(inner, get(key)),
    }) && (node.any_of.is_empty() || node.any_of.iter().any(|b| object_matches(b, object)))
}

/// The leaf values of a field: a scalar, the scalars of an array (nested arrays included);
/// objects are not leaves.
pub(crate) fn leaves<'a>(value: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match value {
        None | Some(Value::Object(_)) => {}
        Some(Value::Array(items)) => {
            for item in items {
                leaves(Some(item), out);
            }
        }
        Some(scalar) => out.push(scalar),
    }
}

pub(crate) fn leaf_matches(conditions: &[Condition], value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    leaves(value, &mut values);
    conditions.iter().any(|c| match c {
        Condition::Exists(wanted) => values.is_empty() != *wanted,
        c => values.iter().any(|v| condition_matches(c, v)),
    })
}

pub(crate) fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Whether `value` (a scalar) satisfies `condition`.
pub fn condition_matches(condition: &Condition, value: &Value) -> bool {
    let text = value.as_str();
    match condition {
        Condition::String(s) => text == Some(s.as_str()),
        Condition::Number(n) => n.matches(value),
        Condition::Bool(b) => value.as_bool() == Some(*b),
        Condition::Null => value.is_null(),
        Condition::Prefix(p, false) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Condition::Prefix(p, true) => text.is_some_and(|t| lower(t).starts_with(&lower(p))),
        Condition::Suffix(s, false) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Condition::Suffix(s, true) => text.is_some_and(|t| lower(t).ends_with(&lower(s))),
        Condition::EqualsIgnoreCase(s) => text.is_some_and(|t| lower(t) == lower(s)),
        Condition::AnythingBut(but) => !excluded(but, value),
        Condition::Numeric(comparisons) => comparable(value).is_some_and(|v| {
            comparisons.iter().all(|(op, n)| match op {
                Comparison::Eq => v == *n,
                Comparison::Lt => v < *n,
                Comparison::Le => v <= *n,
                Comparison::Gt => v > *n,
                Comparison::Ge => v >= *n,
            })
        }),
        Condition::Exists(wanted) => *wanted,
        Condition::Wildcard(w) => text.is_some_and(|t| wildcard_matches(w, t)),
        Condition::Cidr(net, bits) => text
            .and_then(|t| t.parse::<IpAddr>().ok())
            .is_some_and(|ip| in_cidr(ip, *net, *bits)),
    }
}

/// The value of a number a `numeric` comparison can use: one a double holds exactly.
pub(crate) fn comparable(value: &Value) -> Option<f64> {
    value.as_number().and_then(|n| Num::of(n).comparable)
}

/// Whether `anything-but` excludes `value`.
pub(crate) fn excluded(but: &AnythingBut, value: &Value) -> bool {
    let text = value.as_str();
    match but {
        AnythingBut::Strings(list) => text.is_some_and(|t| list.iter().any(|s| s == t)),
        AnythingBut::Numbers(list) => list.iter().any(|n| n.matches(value)),
        AnythingBut::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
        AnythingBut::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
        AnythingBut::IgnoreCase(list) => {
            text.is_some_and(|t| list.iter().any(|s| lower(s) == lower(t)))
        }
        AnythingBut::Wildcard(list) => {
            text.is_some_and(|t| list.iter().any(|w| wildcard_matches(w, t)))
        }
    }
}

/// `*` matches any run of characters (`\*` is a literal star).
pub fn wildcard_matches(pattern: &str, text: &str) -> bool {
    // Pieces between unescaped stars; each piece is literal text.
    let mut pieces: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    pieces.last_mut().expect("a piece").push(next);
                }
            }
            '*' => pieces.push(String::new()),
            c => pieces.last_mut().expect("a piece").push(c),
        }
    }
    if pieces.len() == 1 {
        return text == pieces[0];
    }
    let (first, rest) = pieces.split_first().expect("pieces");
    let (last, middle) = rest.split_last().expect("two pieces");
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for piece in middle {
        match remaining.find(piece.as_str()) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last.as_str())
}

pub(crate) fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}
