//! The tests generated filters call: entity matches and `when` conditions.

use crate::record::{Image, Record};
use crate::value::AttributeValue;

/// The value of a top-level attribute wherever the record has it: its keys, then NewImage,
/// then OldImage (so REMOVE records match on what the item was).
pub fn value<'a>(record: &'a Record, name: &str) -> Option<&'a AttributeValue<'a>> {
    record
        .keys
        .get(name)
        .or_else(|| record.image(Image::New).get(name))
        .or_else(|| record.image(Image::Old).get(name))
}

/// Follows nested map keys in an image; `None` when any step is absent or not a map.
pub fn path<'a>(record: &'a Record, image: Image, path: &[&str]) -> Option<&'a AttributeValue<'a>> {
    let (first, rest) = path.split_first()?;
    let mut current = record.image(image).get(first)?;
    for key in rest {
        match current {
            AttributeValue::M(map) => current = map.get(key)?,
            _ => return None,
        }
    }
    Some(current)
}

/// An `S` value starting with `prefix`.
pub fn has_prefix(value: Option<&AttributeValue>, prefix: &str) -> bool {
    matches!(value, Some(AttributeValue::S(s)) if s.starts_with(prefix))
}

/// An `S` value equal to `text`.
pub fn is_string(value: Option<&AttributeValue>, text: &str) -> bool {
    matches!(value, Some(AttributeValue::S(s)) if s == text)
}

/// An `N` value equal to `number` (DynamoDB stores numbers canonically, so equal numbers have
/// equal text once both are canonical: `1.50` is stored as `1.5`).
pub fn is_number(value: Option<&AttributeValue>, number: &str) -> bool {
    match value {
        Some(AttributeValue::N(n)) => canonical(n) == canonical(number),
        _ => false,
    }
}

/// A decimal's text without sign noise, leading zeros or trailing fractional zeros, so that
/// equal numbers compare equal exactly (no rounding through f64).
fn canonical(number: &str) -> String {
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let body = match (whole.is_empty(), fraction.is_empty()) {
        (true, true) => return "0".to_owned(),
        (_, true) => whole.to_owned(),
        (true, false) => format!("0.{fraction}"),
        (false, false) => format!("{whole}.{fraction}"),
    };
    if negative { format!("-{body}") } else { body }
}

/// A `BOOL` value equal to `expected`.
pub fn is_bool(value: Option<&AttributeValue>, expected: bool) -> bool {
    matches!(value, Some(AttributeValue::Bool(b)) if *b == expected)
}

/// A `NULL` value.
pub fn is_null(value: Option<&AttributeValue>) -> bool {
    matches!(value, Some(AttributeValue::Null))
}

/// Whether the attribute differs between OldImage and NewImage (sets compare as sets).
pub fn changed(record: &Record, name: &str) -> bool {
    !same(record.get(Image::Old, name), record.get(Image::New, name))
}

fn same(a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
        let mut items = items.to_vec();
        items.sort();
        items
    }
    match (a, b) {
        (Some(AttributeValue::Ss(x)), Some(AttributeValue::Ss(y))) => sorted(x) == sorted(y),
        (Some(AttributeValue::Ns(x)), Some(AttributeValue::Ns(y))) => sorted(x) == sorted(y),
        (Some(AttributeValue::Bs(x)), Some(AttributeValue::Bs(y))) => sorted(x) == sorted(y),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_as_sets_and_numbers_by_value() {
        let a = AttributeValue::Ss(vec!["x".into(), "y".into()]);
        let b = AttributeValue::Ss(vec!["y".into(), "x".into()]);
        assert!(same(Some(&a), Some(&b)));
        assert!(!same(Some(&a), None));
        assert!(is_number(Some(&AttributeValue::N("1.5".into())), "1.50"));
        assert!(is_number(Some(&AttributeValue::N("-0".into())), "0.0"));
        assert!(!is_number(
            Some(&AttributeValue::N(
                "12345678901234567890123456789012345678".into()
            )),
            "12345678901234567890123456789012345679"
        ));
        assert!(!is_number(Some(&AttributeValue::S("1.5".into())), "1.5"));
        assert!(has_prefix(
            Some(&AttributeValue::S("USER#1".into())),
            "USER#"
        ));
        assert!(!has_prefix(Some(&AttributeValue::N("1".into())), "1"));
    }
}
