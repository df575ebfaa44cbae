//! DynamoDB attribute values as a stream event writes them (`{"S": "..."}`), borrowed from the
//! event's text: a string without escapes is not copied, and an item (or map) keeps its
//! attributes sorted by name, so a lookup is a binary search and writing it as JSON needs no
//! sort.
//!
//! serde_dynamo's `AttributeValue` owns every string and keeps each map in a `HashMap`; decoding
//! the images a relay reads into it was a fifth of the relay's instructions
//! (`docs/benchmarks.md`). serde_dynamo still converts the SDK's values where the local poller
//! (`outbox-ops`) builds events.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use serde::de::{self, Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    /// `S`
    S(Cow<'a, str>),
    /// `N`: the number's text, exactly as DynamoDB wrote it.
    N(Cow<'a, str>),
    /// `BOOL`
    Bool(bool),
    /// `NULL`
    Null,
    /// `B`: base64 text (checked when decoded), as the stream writes it and as event JSON
    /// carries binary data.
    B(Cow<'a, str>),
    /// `M`
    M(Item<'a>),
    /// `L`
    L(Vec<AttributeValue<'a>>),
    /// `SS`
    Ss(Vec<Cow<'a, str>>),
    /// `NS`
    Ns(Vec<Cow<'a, str>>),
    /// `BS`: base64 texts.
    Bs(Vec<Cow<'a, str>>),
}

impl AttributeValue<'_> {
    /// The DynamoDB type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::B(_) => "B",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }
}

/// An item, a key or an `M` value: attributes sorted by name, each name once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Item<'a>(Vec<(Cow<'a, str>, AttributeValue<'a>)>);

impl<'a> Item<'a> {
    /// An item of these attributes; when a name repeats, the last one counts (as when a JSON
    /// object is read into a map).
    pub fn new(mut attributes: Vec<(Cow<'a, str>, AttributeValue<'a>)>) -> Self {
        if !attributes.is_sorted_by(|a, b| a.0 < b.0) {
            // Reversed, a stable sort puts the last of equal names first, and dedup keeps it.
            attributes.reverse();
            attributes.sort_by(|a, b| a.0.cmp(&b.0));
            attributes.dedup_by(|later, kept| later.0 == kept.0);
        }
        Item(attributes)
    }

    /// The attribute `name`.
    pub fn get(&self, name: &str) -> Option<&AttributeValue<'a>> {
        self.0
            .binary_search_by(|(key, _)| key.as_ref().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The attributes, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeValue<'a>)> {
        self.0.iter().map(|(key, value)| (key.as_ref(), value))
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A JSON string, borrowed from the text when it has no escapes.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

/// Deserializes an optional string, borrowing it from the input when it has no escapes
/// (serde's own `Option<Cow<str>>` always copies; only a bare `Cow` field borrows).
pub(crate) fn optional_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<Text>::deserialize(deserializer)?.map(|Text(text)| text))
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A JSON array of strings (`SS`, `NS`, `BS`).
struct Texts<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextsVisitor;
        impl<'de> Visitor<'de> for TextsVisitor {
            type Value = Texts<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(Text(text)) = seq.next_element()? {
                    items.push(text);
                }
                Ok(Texts(items))
            }
        }
        deserializer.deserialize_seq(TextsVisitor)
    }
}

fn checked_base64<E: de::Error>(text: Cow<'_, str>) -> Result<Cow<'_, str>, E> {
    const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    BASE64
        .decode(text.as_bytes())
        .map(|_| text)
        .map_err(|e| E::custom(format!("a B value is not base64: {e}")))
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of attribute values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut attributes = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(name), value)) = map.next_entry()? {
                    attributes.push((name, value));
                }
                Ok(Item::new(attributes))
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AttributeValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = AttributeValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute value such as {\"S\": \"text\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(Text(kind)) = map.next_key()? else {
                    return Err(A::Error::custom("an attribute value has no type"));
                };
                let value = match kind.as_ref() {
                    "S" => AttributeValue::S(map.next_value::<Text>()?.0),
                    "N" => AttributeValue::N(map.next_value::<Text>()?.0),
                    "BOOL" => AttributeValue::Bool(map.next_value()?),
                    "NULL" => {
                        map.next_value::<bool>()?;
                        AttributeValue::Null
                    }
                    "B" => AttributeValue::B(checked_base64(map.next_value::<Text>()?.0)?),
                    "M" => AttributeValue::M(map.next_value()?),
                    "L" => AttributeValue::L(map.next_value()?),
                    "SS" => AttributeValue::Ss(map.next_value::<Texts>()?.0),
                    "NS" => AttributeValue::Ns(map.next_value::<Texts>()?.0),
                    "BS" => AttributeValue::Bs(
                        map.next_value::<Texts>()?
                            .0
                            .into_iter()
                            .map(checked_base64)
                            .collect::<Result<_, _>>()?,
                    ),
                    other => {
                        return Err(A::Error::custom(format!(
                            "`{other}` is not a DynamoDB attribute type"
                        )));
                    }
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom(format!(
                        "an attribute value has one type, this one has `{kind}` and more"
                    )));
                }
                Ok(value)
            }
        }
        deserializer.deserialize_map(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Result<Item<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn every_type_decodes_and_strings_without_escapes_are_borrowed() {
        let text = r#"{"z":{"S":"plain"},"e":{"S":"a\"b"},"n":{"N":"1.50"},"b":{"BOOL":true},
            "x":{"NULL":true},"bin":{"B":"AAEqQQ=="},"m":{"M":{"k":{"L":[{"N":"1"},{"SS":["s"]}]}}},
            "ns":{"NS":["1","2"]},"bs":{"BS":["AP8="]}}"#;
        let item = item(text).unwrap();
        let names: Vec<&str> = item.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["b", "bin", "bs", "e", "m", "n", "ns", "x", "z"]);
        assert!(matches!(
            item.get("z"),
            Some(AttributeValue::S(Cow::Borrowed("plain")))
        ));
        assert!(matches!(item.get("e"), Some(AttributeValue::S(Cow::Owned(s))) if s == "a\"b"));
        assert_eq!(item.get("n"), Some(&AttributeValue::N("1.50".into())));
        assert_eq!(item.get("b"), Some(&AttributeValue::Bool(true)));
        assert_eq!(item.get("x"), Some(&AttributeValue::Null));
        assert_eq!(item.get("bin"), Some(&AttributeValue::B("AAEqQQ==".into())));
        let Some(AttributeValue::M(m)) = item.get("m") else {
            panic!("m is a map")
        };
        assert_eq!(
            m.get("k"),
            Some(&AttributeValue::L(vec![
                AttributeValue::N("1".into()),
                AttributeValue::Ss(vec!["s".into()])
            ]))
        );
        assert_eq!(item.get("missing"), None);
    }

    #[test]
    fn a_repeated_name_keeps_the_last_value_as_a_map_would() {
        let item = item(r#"{"b":{"S":"1"},"a":{"S":"2"},"b":{"S":"3"}}"#).unwrap();
        assert_eq!(item.len(), 2);
        assert_eq!(item.get("b"), Some(&AttributeValue::S("3".into())));
    }

    #[test]
    fn malformed_values_are_errors_that_say_why() {
        for (json, expected) in [
            (r#"{"a":{"S":"x","N":"1"}}"#, "has one type"),
            (r#"{"a":{"X":"x"}}"#, "`X` is not a DynamoDB attribute type"),
            (r#"{"a":{}}"#, "has no type"),
            (r#"{"a":{"B":"***"}}"#, "not base64"),
            (r#"{"a":{"BS":["AP8=","*"]}}"#, "not base64"),
            (r#"{"a":{"S":1}}"#, "expected a string"),
        ] {
            let error = item(json).unwrap_err().to_string();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }
}
