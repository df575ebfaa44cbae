//! The tests generated filters call: entity matches and `when` conditions.

use crate::attribute::read::AttributeValue;
use crate::record::{Image, Record};

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

/// Whether this region's relay publishes a write of a global table (every replica's stream
/// carries every write): the region the item names in `origin_attribute` (new image, else
/// old: a removal is published where the last write was made), or `home` when the item names
/// none. A record without `awsRegion` (not from Lambda) is published.
pub fn published_here(record: &Record, home: &str, origin_attribute: Option<&str>) -> bool {
    let Some(here) = record.aws_region.as_deref() else {
        return true;
    };
    match origin_attribute.and_then(|a| value(record, a)) {
        Some(AttributeValue::S(origin)) => here == origin.as_ref(),
        _ => here == home,
    }
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

    fn record(region: Option<&str>, operation: &str, origin: Option<&str>) -> String {
        let image = match origin {
            Some(origin) => serde_json::json!({ "pk": { "S": "a" }, "writtenIn": { "S": origin } }),
            None => serde_json::json!({ "pk": { "S": "a" } }),
        };
        let images = if operation == "REMOVE" {
            serde_json::json!({ "Keys": { "pk": { "S": "a" } }, "OldImage": image })
        } else {
            serde_json::json!({ "Keys": { "pk": { "S": "a" } }, "NewImage": image })
        };
        let mut record = serde_json::json!({
            "eventID": "1", "eventName": operation, "tableName": "t", "dynamodb": images
        });
        if let Some(region) = region {
            record["awsRegion"] = region.into();
        }
        record.to_string()
    }

    #[test]
    fn a_global_tables_write_is_published_by_exactly_one_region() {
        let regions = ["eu-west-1", "us-east-1", "ap-south-1"];
        let publishers = |operation: &str, origin: Option<&str>, attribute: Option<&str>| {
            regions
                .iter()
                .filter(|here| {
                    let text = record(Some(here), operation, origin);
                    let raw: &serde_json::value::RawValue = serde_json::from_str(&text).unwrap();
                    let record = Record::decode(raw).unwrap();
                    published_here(&record, "eu-west-1", attribute)
                })
                .copied()
                .collect::<Vec<_>>()
        };
        // From the home region only.
        assert_eq!(publishers("INSERT", Some("us-east-1"), None), ["eu-west-1"]);
        // Where it was written; a removal where the last write was made.
        let origin = Some("writtenIn");
        assert_eq!(
            publishers("MODIFY", Some("us-east-1"), origin),
            ["us-east-1"]
        );
        assert_eq!(
            publishers("REMOVE", Some("ap-south-1"), origin),
            ["ap-south-1"]
        );
        // An item that does not say (an older item): the home region.
        assert_eq!(publishers("INSERT", None, origin), ["eu-west-1"]);
        // A record without `awsRegion` is not from a replica's stream: published.
        let text = record(None, "INSERT", Some("us-east-1"));
        let raw: &serde_json::value::RawValue = serde_json::from_str(&text).unwrap();
        assert!(published_here(
            &Record::decode(raw).unwrap(),
            "eu-west-1",
            origin
        ));
    }
}
