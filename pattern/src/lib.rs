//! EventBridge event patterns: validation as `PutRule` does it, and matching with EventBridge's
//! semantics (the event-ruler family: fields AND, the values of a field OR, an array in the event
//! matches when any element does, comparison operators on leaf values only).
//!
//! Matching walks the pattern and the event together rather than flattening the event into
//! paths, so the fields a pattern matches inside an array of objects must come from the same
//! element, as in EventBridge.

use std::net::IpAddr;

use serde_json::Value;

mod matching;
mod parse;

use matching::node_matches;
pub use matching::{condition_matches, wildcard_matches};
use parse::node;

/// The longest event pattern a rule takes (`PutRule`'s `EventPattern`), in characters.
pub const MAX_PATTERN_LENGTH: usize = 4096;
/// The range EventBridge's `numeric` matching works in.
pub const NUMERIC_LIMIT: f64 = 5.0e9;

/// A pattern EventBridge would refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PatternError {
    /// Where in the pattern (`detail.status[0]`), or `pattern` for the whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The most combinations the `$or`s of a pattern may multiply out to.
pub const MAX_OR_COMBINATIONS: u64 = 1000;

/// A validated event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The top level.
    pub root: Node,
}

/// An object level of a pattern: its fields (all must match) and its `$or` branches (one must).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Field name and what it must match.
    pub fields: Vec<(String, Field)>,
    /// `$or` branches.
    pub any_of: Vec<Node>,
}

impl Node {
    /// The patterns without `$or` this one stands for: the fields' nested combinations
    /// multiplied, times the sum of the `$or` branches' (saturating, so a bomb stays large).
    pub fn combinations(&self) -> u64 {
        let fields = self
            .fields
            .iter()
            .map(|(_, field)| match field {
                Field::Nested(node) => node.combinations(),
                Field::Leaf(_) => 1,
            })
            .fold(1u64, u64::saturating_mul);
        let branches = if self.any_of.is_empty() {
            1
        } else {
            self.any_of
                .iter()
                .map(Node::combinations)
                .fold(0u64, u64::saturating_add)
        };
        fields.saturating_mul(branches)
    }
}

/// A field of a pattern: conditions on a leaf value (one must hold), or a nested object.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Conditions on a leaf value.
    Leaf(Vec<Condition>),
    /// A nested object.
    Nested(Node),
}

/// One match condition of a leaf field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// An exact string.
    String(String),
    /// An exact number (`5` matches `5.0`; see [`Num`]).
    Number(Num),
    /// `true` or `false`.
    Bool(bool),
    /// JSON `null`.
    Null,
    /// `{"prefix": ...}`, optionally ignoring case.
    Prefix(String, bool),
    /// `{"suffix": ...}`, optionally ignoring case.
    Suffix(String, bool),
    /// `{"equals-ignore-case": ...}`.
    EqualsIgnoreCase(String),
    /// `{"anything-but": ...}`.
    AnythingBut(AnythingBut),
    /// `{"numeric": [...]}`: every comparison holds.
    Numeric(Vec<(Comparison, f64)>),
    /// `{"exists": ...}`.
    Exists(bool),
    /// `{"wildcard": ...}`.
    Wildcard(String),
    /// `{"cidr": ...}`.
    Cidr(IpAddr, u8),
}

/// What an `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub enum AnythingBut {
    /// These strings.
    Strings(Vec<String>),
    /// These numbers.
    Numbers(Vec<Num>),
    /// Strings with this prefix.
    Prefix(String),
    /// Strings with this suffix.
    Suffix(String),
    /// These strings, ignoring case.
    IgnoreCase(Vec<String>),
    /// Strings matching any of these wildcards.
    Wildcard(Vec<String>),
}

/// A number as EventBridge compares it: by its text, and by value when the value is
/// *comparable*, i.e. a double holds it exactly (its shortest decimal form is the number
/// itself). `5` and `5.0` are the same value; `12345678901234567890` and
/// `12345678901234567891` have no double of their own, so they are equal only as text, and a
/// `numeric` comparison never matches them.
///
/// Numbers are read through `serde_json`, which keeps integers exact within 64 bits; beyond
/// that both sides are the nearest double already.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    /// The number's JSON text.
    pub text: String,
    /// Its value, when a double holds it exactly.
    pub comparable: Option<f64>,
}

impl Num {
    /// The number `n` as EventBridge compares it.
    pub fn of(n: &serde_json::Number) -> Num {
        let comparable = match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => exact_integer(u128::from(u), false),
            (None, Some(i), _) => exact_integer(u128::from(i.unsigned_abs()), true),
            (None, None, Some(f)) => f.is_finite().then_some(f),
            _ => None,
        };
        Num {
            text: n.to_string(),
            comparable,
        }
    }

    /// Whether `value` is this number (same text, or the same comparable value).
    pub fn matches(&self, value: &Value) -> bool {
        let Value::Number(n) = value else {
            return false;
        };
        let other = Num::of(n);
        other.text == self.text
            || matches!((self.comparable, other.comparable), (Some(a), Some(b)) if a == b)
    }
}

/// The double of an integer (`magnitude`, negated when `negative`), if its shortest decimal
/// form is the integer itself.
fn exact_integer(magnitude: u128, negative: bool) -> Option<f64> {
    let double = magnitude as f64;
    // `{:e}` is the shortest form that reads back as the same double: `d.ddde<exponent>`.
    let shortest = format!("{double:e}");
    let (mantissa, exponent) = shortest.split_once('e')?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let scale = exponent.parse::<i64>().ok()? - (digits.len() as i64 - 1);
    let value = u128::try_from(scale)
        .ok()
        .and_then(|scale| 10u128.checked_pow(u32::try_from(scale).ok()?))
        .and_then(|power| digits.parse::<u128>().ok()?.checked_mul(power))?;
    (value == magnitude).then_some(if negative { -double } else { double })
}

/// A `numeric` comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

fn error(path: &str, message: impl Into<String>) -> PatternError {
    PatternError {
        path: if path.is_empty() {
            "pattern".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Pattern {
    /// Parses and validates pattern JSON text.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        if text.chars().count() > MAX_PATTERN_LENGTH {
            return Err(error(
                "",
                format!(
                    "longer than the {MAX_PATTERN_LENGTH} characters a rule's pattern may have"
                ),
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| error("", format!("not valid JSON: {e}")))?;
        Pattern::from_value(&value)
    }

    /// Validates a parsed pattern.
    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        let Value::Object(map) = value else {
            return Err(error("", "an event pattern is a JSON object"));
        };
        if map.is_empty() {
            return Err(error(
                "",
                "an empty pattern matches nothing EventBridge accepts: name at least one field",
            ));
        }
        let root = node(map, "")?;
        let combinations = root.combinations();
        if combinations > MAX_OR_COMBINATIONS {
            return Err(error(
                "",
                format!(
                    "its `$or`s multiply out to {combinations} combinations; EventBridge takes at most {MAX_OR_COMBINATIONS}"
                ),
            ));
        }
        Ok(Pattern { root })
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        node_matches(&self.root, Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Num {
        Num::of(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn a_number_is_comparable_when_a_double_holds_it_exactly() {
        for (text, comparable) in [
            ("5", Some(5.0)),
            ("-5", Some(-5.0)),
            ("5.0", Some(5.0)),
            ("0.1", Some(0.1)),
            ("9007199254740992", Some(9_007_199_254_740_992.0)),
            ("9007199254740993", None),
            ("1152921504606846976", None),
            ("12345678901234567890", None),
            ("-9223372036854775808", None),
            ("5000000000", Some(5.0e9)),
            ("100000000000000000000", Some(1.0e20)),
        ] {
            assert_eq!(num(text).comparable, comparable, "{text}");
        }
    }

    #[test]
    fn numbers_are_the_same_by_text_or_by_comparable_value() {
        let twenty = num("12345678901234567890");
        assert!(twenty.matches(&serde_json::json!(12_345_678_901_234_567_890_u64)));
        assert!(!twenty.matches(&serde_json::json!(12_345_678_901_234_567_891_u64)));
        assert!(num("5").matches(&serde_json::json!(5.0)));
        assert!(!num("5").matches(&serde_json::json!("5")));
    }

    #[test]
    fn or_combinations_multiply_across_levels_and_add_across_branches() {
        let pattern = Pattern::parse(
            r#"{"a": {"$or": [{"x": [1]}, {"y": [2]}, {"z": {"$or": [{"p": [1]}, {"q": [2]}]}}]},
                "b": {"$or": [{"x": [1]}, {"y": [2]}]}}"#,
        )
        .unwrap();
        assert_eq!(pattern.root.combinations(), (1 + 1 + 2) * 2);
    }
}
