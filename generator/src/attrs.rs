//! What an event can read from a stream record: the image paths of mappings and conditions
//! (`new.address.city`), and the attributes they resolve to in an entity's declaration.

use std::collections::BTreeMap;

use crate::config::{AttributeType, AttributeTypeSpec, Entity, KeyType, Table};
use crate::vocabulary::{DynamoType, Image};

/// A parsed `new.<attribute>.<key>...` path. No segments: the whole item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImagePath {
    /// Which image it reads.
    pub image: Image,
    /// Attribute name, then nested map keys.
    pub segments: Vec<String>,
}

impl ImagePath {
    /// Parses `new`, `old`, `new.a`, `old.a.b`.
    pub fn parse(text: &str) -> Result<ImagePath, String> {
        let mut parts = text.split('.');
        let image = match parts.next() {
            Some("new") => Image::New,
            Some("old") => Image::Old,
            _ => {
                return Err(format!(
                    "`{text}` does not say which image it reads: start it with `new.` (NewImage) or `old.` (OldImage)"
                ));
            }
        };
        let segments: Vec<String> = parts.map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("`{text}` has an empty segment"));
        }
        Ok(ImagePath { image, segments })
    }

    /// A path validation accepted (anything else reads as the whole new image).
    pub fn validated(text: &str) -> ImagePath {
        ImagePath::parse(text).unwrap_or(ImagePath {
            image: Image::New,
            segments: Vec::new(),
        })
    }

    /// The top-level attribute it reads, if not the whole item.
    pub fn attribute(&self) -> Option<&str> {
        self.segments.first().map(String::as_str)
    }
}

impl std::fmt::Display for ImagePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.image.as_str())?;
        for segment in &self.segments {
            write!(f, ".{segment}")?;
        }
        Ok(())
    }
}

/// The declared type of something a path reaches.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// A key attribute.
    Key(KeyType),
    /// A declared attribute (or nested map key).
    Attribute(&'a AttributeTypeSpec),
    /// The whole item.
    Item,
}

impl Shape<'_> {
    /// The DynamoDB type, `M` for the whole item.
    pub fn dynamo_type(&self) -> DynamoType {
        match self {
            Shape::Key(KeyType::S) => DynamoType::S,
            Shape::Key(KeyType::N) => DynamoType::N,
            Shape::Key(KeyType::B) => DynamoType::B,
            Shape::Attribute(spec) => spec.dynamo_type,
            Shape::Item => DynamoType::M,
        }
    }
}

/// Why a path does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// `name` is not declared where the path looks for it; `known` is what is.
    Unknown {
        /// The missing name.
        name: String,
        /// The names declared at that level.
        known: Vec<String>,
    },
    /// The path goes into `name`, which is not a map.
    NotAMap {
        /// The attribute that is not a map.
        name: String,
        /// Its type.
        dynamo_type: DynamoType,
    },
}

/// The attributes of one entity: its table's keys plus its declared attributes.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    table: &'a Table,
    entity: &'a Entity,
}

impl<'a> Attributes<'a> {
    /// The attributes of `entity` in `table`.
    pub fn new(table: &'a Table, entity: &'a Entity) -> Self {
        Attributes { table, entity }
    }

    /// The key attributes, partition first.
    pub fn keys(&self) -> impl Iterator<Item = (&'a str, KeyType)> {
        let keys = &self.table.keys;
        std::iter::once(&keys.partition)
            .chain(keys.sort.as_ref())
            .map(|k| (k.name.as_str(), k.key_type))
    }

    /// Whether `name` is a key attribute.
    pub fn is_key(&self, name: &str) -> bool {
        self.keys().any(|(k, _)| k == name)
    }

    /// Every top-level attribute name, keys first.
    pub fn names(&self) -> Vec<&'a str> {
        self.keys()
            .map(|(k, _)| k)
            .chain(self.entity.attributes.keys().map(String::as_str))
            .collect()
    }

    /// The declared (non-key) attributes.
    pub fn declared(&self) -> &'a BTreeMap<String, AttributeType> {
        &self.entity.attributes
    }

    /// Resolves the attribute and map keys a path names.
    pub fn lookup(&self, segments: &[String]) -> Result<Shape<'a>, LookupError> {
        let Some((first, rest)) = segments.split_first() else {
            return Ok(Shape::Item);
        };
        if let Some((_, key_type)) = self.keys().find(|(k, _)| k == first) {
            return match rest.first() {
                None => Ok(Shape::Key(key_type)),
                Some(_) => Err(LookupError::NotAMap {
                    name: first.clone(),
                    dynamo_type: Shape::Key(key_type).dynamo_type(),
                }),
            };
        }
        let mut level = &self.entity.attributes;
        let mut known: Vec<String> = self.names().into_iter().map(str::to_owned).collect();
        let mut segments = std::iter::once(first).chain(rest).peekable();
        while let Some(name) = segments.next() {
            let Some(AttributeType(spec)) = level.get(name) else {
                return Err(LookupError::Unknown {
                    name: name.clone(),
                    known,
                });
            };
            if segments.peek().is_none() {
                return Ok(Shape::Attribute(spec));
            }
            match (&spec.dynamo_type, &spec.attributes) {
                (DynamoType::M, Some(nested)) => {
                    level = nested;
                    known = nested.keys().cloned().collect();
                }
                (DynamoType::M, None) => {
                    return Err(LookupError::Unknown {
                        name: segments.next().cloned().unwrap_or_default(),
                        known: Vec::new(),
                    });
                }
                (other, _) => {
                    return Err(LookupError::NotAMap {
                        name: name.clone(),
                        dynamo_type: *other,
                    });
                }
            }
        }
        Ok(Shape::Item)
    }
}
