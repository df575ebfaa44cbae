//! "A string or a full declaration" values: `email: new.email` is short for
//! `email: { from: new.email }`, `age: N` for `age: { type: N }`.
//!
//! The full form keeps serde's strict struct errors (unknown fields with their location); the
//! short form is parsed by the spec type itself, and the JSON Schema says `anyOf` both.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// A declaration that can also be written as a single string.
pub trait FromShorthand: Sized {
    /// Builds the declaration from its short form, or says why the text is not one.
    fn from_shorthand(text: &str) -> Result<Self, String>;
    /// The JSON Schema of the short form.
    fn shorthand_schema() -> serde_json::Value;
}

/// Deserializes `T` from a string (its short form) or a map (its full form).
pub fn string_or_struct<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + FromShorthand,
    D: Deserializer<'de>,
{
    struct StringOrStruct<T>(PhantomData<T>);

    impl<'de, T> Visitor<'de> for StringOrStruct<T>
    where
        T: Deserialize<'de> + FromShorthand,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a map")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            T::from_shorthand(text).map_err(E::custom)
        }

        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }

    deserializer.deserialize_any(StringOrStruct(PhantomData))
}

/// [`string_or_struct`] for optional fields (used with `#[serde(default)]`).
pub fn option_string_or_struct<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de> + FromShorthand,
    D: Deserializer<'de>,
{
    string_or_struct(deserializer).map(Some)
}

/// Schema-only stand-in for a value accepted by [`string_or_struct`].
pub struct Shorthand<T>(PhantomData<T>);

impl<T: JsonSchema + FromShorthand> JsonSchema for Shorthand<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}OrShorthand", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let full = generator.subschema_for::<T>();
        let short = T::shorthand_schema();
        schemars::json_schema!({ "anyOf": [short, full] })
    }
}

/// Implements `Deserialize` and `JsonSchema` for a newtype over a [`FromShorthand`] spec.
macro_rules! shorthand {
    ($wrapper:ident, $spec:ty) => {
        impl<'de> ::serde::Deserialize<'de> for $wrapper {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                $crate::shorthand::string_or_struct::<$spec, D>(deserializer).map($wrapper)
            }
        }

        impl ::schemars::JsonSchema for $wrapper {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($wrapper).into()
            }

            fn json_schema(generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                <$crate::shorthand::Shorthand<$spec> as ::schemars::JsonSchema>::json_schema(
                    generator,
                )
            }
        }
    };
}
pub(crate) use shorthand;
