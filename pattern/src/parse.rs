//! Reading a pattern as `PutRule` does: every operator's argument checked, every refusal
//! located at its field path with EventBridge's reason.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::{
    AnythingBut, Comparison, Condition, Field, NUMERIC_LIMIT, Node, Num, PatternError, error, join,
};

pub(crate) fn node(map: &Map<String, Value>, path: &str) -> Result<Node, PatternError> {
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

pub(crate) fn string_of<'a>(
    value: &'a Value,
    path: &str,
    operator: &str,
) -> Result<&'a str, PatternError> {
    value
        .as_str()
        .ok_or_else(|| error(path, format!("`{operator}` takes a string")))
}

/// A string, or `{"equals-ignore-case": string}` (for prefix and suffix).
pub(crate) fn affix(
    value: &Value,
    path: &str,
    operator: &str,
) -> Result<(String, bool), PatternError> {
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

pub(crate) fn strings(
    value: &Value,
    path: &str,
    operator: &str,
) -> Result<Vec<String>, PatternError> {
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
pub(crate) fn not_empty<'a>(
    text: &'a str,
    path: &str,
    operator: &str,
) -> Result<&'a str, PatternError> {
    if text.is_empty() {
        return Err(error(
            path,
            format!("`anything-but` cannot take an empty `{operator}`"),
        ));
    }
    Ok(text)
}

pub(crate) fn number(value: &Value, path: &str) -> Result<f64, PatternError> {
    value
        .as_f64()
        .ok_or_else(|| error(path, "expected a number"))
}

/// A wildcard as EventBridge reads it: `*` matches any run of characters, `\*` is a literal
/// star and `\\` a literal backslash; two stars in a row and any other escape are refused.
pub(crate) fn wildcard(text: &str, path: &str) -> Result<String, PatternError> {
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

pub(crate) fn condition(value: &Value, path: &str) -> Result<Condition, PatternError> {
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

pub(crate) fn anything_but(argument: &Value, path: &str) -> Result<AnythingBut, PatternError> {
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

pub(crate) fn numeric(
    argument: &Value,
    path: &str,
) -> Result<Vec<(Comparison, f64)>, PatternError> {
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

pub(crate) fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}
