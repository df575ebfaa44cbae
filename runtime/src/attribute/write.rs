//! DynamoDB attribute values as event JSON, exactly: numbers keep every digit (their text is
//! written as is), binary becomes base64, sets become arrays, maps keep their keys sorted so the
//! same item always gives the same bytes. Plus the typed accessors generated mappings call.

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::attribute::read::{AttributeValue, Item};
use crate::error::MapError;

/// A DynamoDB number, serialized as its exact text.
#[derive(Debug, Clone, Copy)]
pub struct Number<'a>(&'a RawValue);

impl<'a> Number<'a> {
    /// Checks that `text` is a number EventBridge accepts: valid JSON, and integers within the
    /// 64-bit range PutEvents allows (larger ones would be rejected, not rounded).
    pub fn parse(text: &'a str) -> Result<Number<'a>, String> {
        let raw: &RawValue = serde_json::from_str(text)
            .ok()
            .filter(|_| {
                text.bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            })
            .ok_or_else(|| format!("`{text}` is not a number"))?;
        let integer = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if integer && text.parse::<i64>().is_err() {
            return Err(format!(
                "the integer has {} digits, more than EventBridge accepts in a JSON number (64-bit)",
                text.trim_start_matches('-').len()
            ));
        }
        Ok(Number(raw))
    }

    /// The number's text.
    pub fn as_str(&self) -> &'a str {
        self.0.get()
    }
}

impl Serialize for Number<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Binary data: its base64 text (checked when the image was decoded), which is how event JSON
/// carries it.
#[derive(Debug, Clone, Copy)]
pub struct Binary<'a>(pub &'a str);

impl Serialize for Binary<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// Any attribute value, serialized as event JSON.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a>(pub &'a AttributeValue<'a>);

/// What to do about a number inside a copied item or map that EventBridge cannot take.
const COPIED_NUMBER_FIX: &str = "to keep it exactly, leave the attribute out of `rest` (or the \
     whole-item field) with `except` and declare it as a field of its own with `type: string`";

/// An error inside an item or list, placed: `at `address.zip`: ...`.
fn placed<E: serde::ser::Error>(place: &dyn std::fmt::Display, error: E) -> E {
    let message = error.to_string();
    match message.strip_prefix("at `") {
        Some(inner) => E::custom(format_args!("at `{place}.{inner}")),
        None => E::custom(format_args!("at `{place}`: {message}")),
    }
}

impl Serialize for Attr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            AttributeValue::S(s) => serializer.serialize_str(s),
            AttributeValue::N(n) => Number::parse(n)
                .map_err(|e| S::Error::custom(format_args!("{e}; {COPIED_NUMBER_FIX}")))?
                .serialize(serializer),
            AttributeValue::Bool(b) => serializer.serialize_bool(*b),
            AttributeValue::Null => serializer.serialize_unit(),
            AttributeValue::B(b) => Binary(b).serialize(serializer),
            AttributeValue::M(map) => serialize_except(serializer, map, &[]),
            AttributeValue::L(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for (i, item) in items.iter().enumerate() {
                    seq.serialize_element(&Attr(item))
                        .map_err(|e| placed(&i, e))?;
                }
                seq.end()
            }
            AttributeValue::Ss(items) => serializer.collect_seq(items),
            AttributeValue::Ns(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for n in items {
                    let number = Number::parse(n)
                        .map_err(|e| S::Error::custom(format_args!("{e}; {COPIED_NUMBER_FIX}")))?;
                    seq.serialize_element(&number)?;
                }
                seq.end()
            }
            AttributeValue::Bs(items) => serializer.collect_seq(items.iter().map(|b| Binary(b))),
        }
    }
}

/// An item (or map) without some attributes, serialized as a JSON object with sorted keys.
/// With `#[serde(flatten)]` it adds "the rest" of an item to a detail.
#[derive(Debug, Clone, Copy)]
pub struct ItemExcept<'a> {
    /// The attributes.
    pub item: &'a Item<'a>,
    /// Names left out.
    pub except: &'static [&'static str],
}

impl Serialize for ItemExcept<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_except(serializer, self.item, self.except)
    }
}

/// An item's attributes (sorted by name) but `except`, as a JSON object.
fn serialize_except<S: Serializer>(
    serializer: S,
    item: &Item,
    except: &[&str],
) -> Result<S::Ok, S::Error> {
    let kept = || item.iter().filter(|(key, _)| !except.contains(key));
    // The length must be exact: serde_json closes a map announced as empty at once.
    let mut map = serializer.serialize_map(Some(kept().count()))?;
    for (key, value) in kept() {
        map.serialize_entry(key, &Attr(value))
            .map_err(|e| placed(&key, e))?;
    }
    map.end()
}

/// Reads image attributes for one event's mapping; every error names the event and field.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The event being mapped.
    pub event: &'static str,
}

impl Fields {
    fn error(&self, field: &'static str, message: impl Into<String>) -> MapError {
        MapError::new(self.event, field, message)
    }

    /// A declared field's number EventBridge cannot take, with the fix.
    fn number_error(&self, field: &'static str, message: String) -> MapError {
        self.error(
            field,
            format!("{message}; declare the field `type: string` to keep it exactly"),
        )
    }

    fn mismatch(&self, field: &'static str, expected: &str, value: &AttributeValue) -> MapError {
        self.error(
            field,
            format!("expected type {expected}, found {}", value.type_name()),
        )
    }

    /// Follows nested map keys (`address.city`) from a top-level attribute; `None` when any
    /// step is absent.
    pub fn path<'a>(
        &self,
        field: &'static str,
        item: &'a Item<'a>,
        path: &[&str],
    ) -> Result<Option<&'a AttributeValue<'a>>, MapError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(None);
        };
        let mut current = match item.get(first) {
            Some(v) => v,
            None => return Ok(None),
        };
        for key in rest {
            match current {
                AttributeValue::M(map) => match map.get(key) {
                    Some(v) => current = v,
                    None => return Ok(None),
                },
                other => return Err(self.mismatch(field, "M", other)),
            }
        }
        Ok(Some(current))
    }

    /// A required value: absent is an error.
    pub fn required<T>(&self, field: &'static str, value: Option<T>) -> Result<T, MapError> {
        value.ok_or_else(|| self.error(field, "the attribute is missing"))
    }

    /// An `S` value.
    pub fn string<'a>(
        &self,
        field: &'static str,
        value: Option<&'a AttributeValue<'a>>,
    ) -> Result<Option<&'a str>, MapError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(other) => Err(self.mismatch(field, "S", other)),
        }
    }

    /// An `N` value.
    pub fn number<'a>(
        &self,
        field: &'static str,
        value: Option<&'a AttributeValue<'a>>,
    ) -> Result<Option<Number<'a>>, MapError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::N(n)) => Number::parse(n)
                .map(Some)
                .map_err(|e| self.number_error(field, e)),
            Some(other) => Err(self.mismatch(field, "N", other)),
        }
    }

    /// A `BOOL` value.
    pub fn boolean(
        &self,
        field: &'static str,
        value: Option<&AttributeValue>,
    ) -> Result<Option<bool>, MapError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.mismatch(field, "BOOL", other)),
        }
    }

    /// A `B` value.
    pub fn binary<'a>(
        &self,
        field: &'static str,
        value: Option<&'a AttributeValue<'a>>,
    ) -> Result<Option<Binary<'a>>, MapError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::B(b)) => Ok(Some(Binary(b))),
            Some(other) => Err(self.mismatch(field, "B", other)),
        }
    }

    /// A value of the declared container (or NULL) type, serialized as event JSON.
    pub fn typed<'a>(
        &self,
        field: &'static str,
        expected: &'static str,
        value: Option<&'a AttributeValue<'a>>,
    ) -> Result<Option<Attr<'a>>, MapError> {
        match value {
            None => Ok(None),
            Some(v) if v.type_name() == expected => Ok(Some(Attr(v))),
            Some(other) => Err(self.mismatch(field, expected, other)),
        }
    }

    /// A map or whole item without some attributes.
    pub fn map_except<'a>(
        &self,
        field: &'static str,
        value: Option<&'a AttributeValue<'a>>,
        except: &'static [&'static str],
    ) -> Result<Option<ItemExcept<'a>>, MapError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::M(map)) => Ok(Some(ItemExcept { item: map, except })),
            Some(other) => Err(self.mismatch(field, "M", other)),
        }
    }

    /// A constant's JSON text (checked by the generator).
    pub fn constant(
        &self,
        field: &'static str,
        json: &'static str,
    ) -> Result<&'static RawValue, MapError> {
        serde_json::from_str(json).map_err(|e| self.error(field, e.to_string()))
    }

    /// A string holding a JSON object (an outbox payload stored as `json-string`).
    pub fn json_object<'a>(
        &self,
        field: &'static str,
        text: &'a str,
    ) -> Result<&'a RawValue, MapError> {
        let raw: &RawValue = serde_json::from_str(text)
            .map_err(|e| self.error(field, format!("the value is not JSON: {e}")))?;
        if !raw.get().trim_start().starts_with('{') {
            return Err(self.error(field, "the value is JSON but not an object"));
        }
        Ok(raw)
    }

    /// A whole image without some attributes (also "the rest" of an image).
    pub fn item_except<'a>(
        &self,
        item: &'a Item<'a>,
        except: &'static [&'static str],
    ) -> ItemExcept<'a> {
        ItemExcept { item, except }
    }

    /// Removes a prefix the value must have.
    pub fn strip_prefix<'a>(
        &self,
        field: &'static str,
        value: &'a str,
        prefix: &str,
    ) -> Result<&'a str, MapError> {
        value
            .strip_prefix(prefix)
            .ok_or_else(|| self.error(field, format!("the value does not start with `{prefix}`")))
    }

    /// `S` -> number.
    pub fn string_to_number<'a>(
        &self,
        field: &'static str,
        value: &'a str,
    ) -> Result<Number<'a>, MapError> {
        Number::parse(value).map_err(|e| self.number_error(field, e))
    }

    /// `S` or `N` -> integer (no fraction).
    pub fn to_integer<'a>(
        &self,
        field: &'static str,
        value: &'a str,
    ) -> Result<Number<'a>, MapError> {
        let number = Number::parse(value).map_err(|e| self.number_error(field, e))?;
        if value.parse::<i64>().is_err() {
            return Err(self.error(field, "the number is not an integer"));
        }
        Ok(number)
    }

    /// `S` -> boolean (`true` / `false`).
    pub fn string_to_boolean(&self, field: &'static str, value: &str) -> Result<bool, MapError> {
        match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(field, "the value is neither `true` nor `false`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_except_leaves_out_names_however_they_are_listed() {
        let item: Item =
            serde_json::from_str(r#"{"b":{"S":"2"},"a":{"N":"1"},"c":{"BOOL":false}}"#).unwrap();
        let cases: [(&'static [&'static str], &str); 5] = [
            (&["a"], r#"{"b":"2","c":false}"#),
            (&["a", "a", "missing"], r#"{"b":"2","c":false}"#),
            // Counting the names instead of the attributes would announce an empty map here.
            (&["a", "a", "a"], r#"{"b":"2","c":false}"#),
            (&["a", "b", "c"], "{}"),
            (&[], r#"{"a":1,"b":"2","c":false}"#),
        ];
        for (except, expected) in cases {
            let text = serde_json::to_string(&ItemExcept {
                item: &item,
                except,
            })
            .unwrap();
            assert_eq!(text, expected, "except {except:?}");
        }
    }
}
