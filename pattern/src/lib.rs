//! EventBridge event patterns: validation as `PutRule` does it, and matching with EventBridge's
//! semantics (the event-ruler family: fields AND, the values of a field OR, an array in the event
//! matches when any element does, comparison operators on leaf values only).
//!
//! Matching walks the pattern and the event together rather than flattening the event into
//! paths, so the fields a pattern matches inside an array of objects must come from the same
//! element, as in EventBridge.

use std::net::IpAddr;

use serde_json::{Map, Value};

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

fn node(map: &Map<String, Value>, path: &str) -> Result<Node, PatternError> {
    let mut fields = Vec::new();
    let mut any_of = Vec::new();
    for (key, value) in map {
        let here = join(path, key);
        if key == "$or" {
            let Value::Array(branches) = value else {
                return Err(error(&here, "`$or` takes an array of patterns"));
            };
            if branches.len() < 2 {
                return Err(error(&here, "`$or` needs at least two patterns"));
            }
            for (i, branch) in branches.iter().enumerate() {
                let at = format!("{here}[{i}]");
                match branch {
                    Value::Object(m) if !m.is_empty() => any_of.push(node(m, path)?),
                    _ => {
                        return Err(error(
                            &at,
                            "each `$or` branch is a non-empty pattern object",
                        ));
                    }
                }
            }
            continue;
        }
        let field = match value {
            Value::Array(conditions) => {
                if conditions.is_empty() {
                    return Err(error(
                        &here,
                        "an empty array matches nothing: give at least one value",
                    ));
                }
                Field::Leaf(
                    conditions
                        .iter()
                        .enumerate()
                        .map(|(i, c)| condition(c, &format!("{here}[{i}]")))
                        .collect::<Result<_, _>>()?,
                )
            }
            Value::Object(m) if m.is_empty() => {
                return Err(error(
                    &here,
                    "an empty object matches nothing: name a field inside it",
                ));
            }
            Value::Object(m) => Field::Nested(node(m, &here)?),
            other => {
                return Err(error(
                    &here,
                    format!("match values must be in an array, like [{other}]"),
                ));
            }
        };
        fields.push((key.clone(), field));
    }
    Ok(Node { fields, any_of })
}

fn string_of<'a>(value: &'a Value, path: &str, operator: &str) -> Result<&'a str, PatternError> {
    value
        .as_str()
        .ok_or_else(|| error(path, format!("`{operator}` takes a string")))
}

/// A string, or `{"equals-ignore-case": string}` (for prefix and suffix).
fn affix(value: &Value, path: &str, operator: &str) -> Result<(String, bool), PatternError> {
    match value {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(m) if m.len() == 1 && m.contains_key("equals-ignore-case") => Ok((
            string_of(&m["equals-ignore-case"], path, "equals-ignore-case")?.to_owned(),
            true,
        )),
        _ => Err(error(
            path,
            format!("`{operator}` takes a string or {{\"equals-ignore-case\": string}}"),
        )),
    }
}

fn strings(value: &Value, path: &str, operator: &str) -> Result<Vec<String>, PatternError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| string_of(v, path, operator).map(str::to_owned))
            .collect(),
        _ => Err(error(
            path,
            format!("`{operator}` takes a string or a non-empty array of strings"),
        )),
    }
}

/// `anything-but` with an empty prefix or suffix would exclude every string; EventBridge refuses
/// it.
fn not_empty<'a>(text: &'a str, path: &str, operator: &str) -> Result<&'a str, PatternError> {
    if text.is_empty() {
        return Err(error(
            path,
            format!("`anything-but` cannot take an empty `{operator}`"),
        ));
    }
    Ok(text)
}

fn number(value: &Value, path: &str) -> Result<f64, PatternError> {
    value
        .as_f64()
        .ok_or_else(|| error(path, "expected a number"))
}

/// A wildcard as EventBridge reads it: `*` matches any run of characters, `\*` is a literal
/// star and `\\` a literal backslash; two stars in a row and any other escape are refused.
fn wildcard(text: &str, path: &str) -> Result<String, PatternError> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                return Err(error(
                    path,
                    "consecutive wildcard characters (`**`) are not allowed",
                ));
            }
            '\\' => match chars.next() {
                Some('*' | '\\') => {}
                other => {
                    return Err(error(
                        path,
                        format!(
                            "`\\{}` is not an escape a wildcard takes (only `\\*` and `\\\\`)",
                            other.map(String::from).unwrap_or_default()
                        ),
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(text.to_owned())
}

fn condition(value: &Value, path: &str) -> Result<Condition, PatternError> {
    let map = match value {
        Value::String(s) => return Ok(Condition::String(s.clone())),
        Value::Number(n) => return Ok(Condition::Number(Num::of(n))),
        Value::Bool(b) => return Ok(Condition::Bool(*b)),
        Value::Null => return Ok(Condition::Null),
        Value::Array(_) => {
            return Err(error(
                path,
                "a match value is a string, number, boolean, null or an operator object, not an array",
            ));
        }
        Value::Object(map) => map,
    };
    if map.len() != 1 {
        return Err(error(
            path,
            "an operator object has exactly one operator, like {\"prefix\": \"a\"}",
        ));
    }
    let (operator, argument) = map.iter().next().expect("one entry");
    Ok(match operator.as_str() {
        "prefix" => {
            let (text, ignore_case) = affix(argument, path, "prefix")?;
            Condition::Prefix(text, ignore_case)
        }
        "suffix" => {
            let (text, ignore_case) = affix(argument, path, "suffix")?;
            Condition::Suffix(text, ignore_case)
        }
        "equals-ignore-case" => {
            Condition::EqualsIgnoreCase(string_of(argument, path, "equals-ignore-case")?.to_owned())
        }
        "anything-but" => Condition::AnythingBut(anything_but(argument, path)?),
        "numeric" => Condition::Numeric(numeric(argument, path)?),
        "exists" => Condition::Exists(
            argument
                .as_bool()
                .ok_or_else(|| error(path, "`exists` takes true or false"))?,
        ),
        "wildcard" => Condition::Wildcard(wildcard(string_of(argument, path, "wildcard")?, path)?),
        "cidr" => {
            let text = string_of(argument, path, "cidr")?;
            let (ip, bits) = cidr(text).ok_or_else(|| {
                error(
                    path,
                    format!("`{text}` is not a CIDR block like 10.0.0.0/24 or 2001:db8::/32"),
                )
            })?;
            Condition::Cidr(ip, bits)
        }
        other => {
            return Err(error(
                path,
                format!(
                    "unknown operator `{other}` (EventBridge has prefix, suffix, equals-ignore-case, anything-but, numeric, exists, wildcard, cidr)"
                ),
            ));
        }
    })
}

fn anything_but(argument: &Value, path: &str) -> Result<AnythingBut, PatternError> {
    match argument {
        Value::String(s) => Ok(AnythingBut::Strings(vec![s.clone()])),
        Value::Number(n) => Ok(AnythingBut::Numbers(vec![Num::of(n)])),
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_string) {
                Ok(AnythingBut::Strings(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                ))
            } else if items.iter().all(Value::is_number) {
                Ok(AnythingBut::Numbers(
                    items
                        .iter()
                        .filter_map(|v| v.as_number().map(Num::of))
                        .collect(),
                ))
            } else {
                Err(error(
                    path,
                    "`anything-but` takes a list of only strings or only numbers",
                ))
            }
        }
        Value::Object(m) if m.len() == 1 => {
            let (operator, value) = m.iter().next().expect("one entry");
            match operator.as_str() {
                "prefix" => Ok(AnythingBut::Prefix(
                    not_empty(string_of(value, path, "prefix")?, path, "prefix")?.to_owned(),
                )),
                "suffix" => Ok(AnythingBut::Suffix(
                    not_empty(string_of(value, path, "suffix")?, path, "suffix")?.to_owned(),
                )),
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(strings(
                    value,
                    path,
                    "equals-ignore-case",
                )?)),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings(value, path, "wildcard")?
                        .iter()
                        .map(|w| wildcard(w, path))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(error(
                    path,
                    format!(
                        "`anything-but` cannot take `{other}` (only prefix, suffix, equals-ignore-case, wildcard)"
                    ),
                )),
            }
        }
        _ => Err(error(
            path,
            "`anything-but` takes a string, a number, a list of either, or {\"prefix\"|\"suffix\"|\"equals-ignore-case\"|\"wildcard\": ...}",
        )),
    }
}

fn numeric(argument: &Value, path: &str) -> Result<Vec<(Comparison, f64)>, PatternError> {
    let Value::Array(items) = argument else {
        return Err(error(
            path,
            "`numeric` takes an array like [\">\", 0, \"<=\", 5]",
        ));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(error(
            path,
            "`numeric` takes one or two comparisons, each an operator and a number",
        ));
    }
    let mut comparisons = Vec::new();
    for pair in items.chunks(2) {
        let op = match pair[0].as_str() {
            Some("=") => Comparison::Eq,
            Some("<") => Comparison::Lt,
            Some("<=") => Comparison::Le,
            Some(">") => Comparison::Gt,
            Some(">=") => Comparison::Ge,
            _ => {
                return Err(error(
                    path,
                    format!("`{}` is not a numeric operator (=, <, <=, >, >=)", pair[0]),
                ));
            }
        };
        let n = number(&pair[1], path).map_err(|_| {
            error(
                path,
                format!("`numeric` compares with numbers, not {}", pair[1]),
            )
        })?;
        if pair[1]
            .as_number()
            .and_then(|n| Num::of(n).comparable)
            .is_none()
        {
            return Err(error(
                path,
                format!("{} cannot be compared: no double holds it exactly", pair[1]),
            ));
        }
        if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&n) {
            return Err(error(
                path,
                format!("{n} is outside the range numeric matching works in (-5.0e9 to 5.0e9)"),
            ));
        }
        comparisons.push((op, n));
    }
    // As EventBridge reads it: `=` alone, `<`/`<=` alone, or `>`/`>=` optionally followed by
    // `<`/`<=`.
    let ordered = matches!(
        comparisons.as_slice(),
        [(_, _)]
            | [
                (Comparison::Gt | Comparison::Ge, _),
                (Comparison::Lt | Comparison::Le, _)
            ]
    );
    if !ordered {
        return Err(error(
            path,
            "`numeric` takes `=` alone, an upper bound (`<`, `<=`) alone, or a lower bound (`>`, `>=`) optionally followed by an upper bound",
        ));
    }
    if let (Some(lo), Some(hi)) = (
        comparisons
            .iter()
            .find(|(op, _)| matches!(op, Comparison::Gt | Comparison::Ge)),
        comparisons
            .iter()
            .find(|(op, _)| matches!(op, Comparison::Lt | Comparison::Le)),
    ) && lo.1 > hi.1
    {
        return Err(error(
            path,
            format!("the lower bound {} is above the upper bound {}", lo.1, hi.1),
        ));
    }
    Ok(comparisons)
}

fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn node_matches(node: &Node, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().any(|item| node_matches(node, Some(item)))
        }
        Some(Value::Object(map)) => object_matches(node, Some(map)),
        _ => object_matches(node, None),
    }
}

fn object_matches(node: &Node, object: Option<&Map<String, Value>>) -> bool {
    let get = |key: &str| object.and_then(|o| o.get(key));
    node.fields.iter().all(|(key, field)| match field {
        Field::Leaf(conditions) => leaf_matches(conditions, get(key)),
        Field::Nested(inner) => node_matches(inner, get(key)),
    }) && (node.any_of.is_empty() || node.any_of.iter().any(|b| object_matches(b, object)))
}

/// The leaf values of a field: a scalar, the scalars of an array (nested arrays included);
/// objects are not leaves.
fn leaves<'a>(value: Option<&'a Value>, out: &mut Vec<&'a Value>) {
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

fn leaf_matches(conditions: &[Condition], value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    leaves(value, &mut values);
    conditions.iter().any(|c| match c {
        Condition::Exists(wanted) => values.is_empty() != *wanted,
        c => values.iter().any(|v| condition_matches(c, v)),
    })
}

fn lower(s: &str) -> String {
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
fn comparable(value: &Value) -> Option<f64> {
    value.as_number().and_then(|n| Num::of(n).comparable)
}

/// Whether `anything-but` excludes `value`.
fn excluded(but: &AnythingBut, value: &Value) -> bool {
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

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
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
