//! `outbox init --from-table`'s proposal: from a table's description and a sample of its items
//! (DynamoDB JSON, as DescribeTable and Scan return them), an `outbox.yaml` with one entity per
//! kind of item (told apart by key prefixes, `USER#` / `ORDER#`), each attribute with the
//! DynamoDB type it had, and a `<Entity>Created` event per entity. Every inferred line carries a
//! `# REVIEW:` mark saying what it was inferred from; `load` refuses the file until the marks
//! are gone. Pure: reading the table is [`super::read`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::load::REVIEW_MARK;

/// What DescribeTable says about a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Partition key attribute and its type (`S`, `N`, `B`).
    pub partition: (String, String),
    /// Sort key attribute and its type, if the table has one.
    pub sort: Option<(String, String)>,
    /// `StreamViewType` of its stream; `None` when the stream is off.
    pub stream_view: Option<String>,
    /// `LatestStreamArn`.
    pub stream_arn: Option<String>,
}

/// An item in DynamoDB JSON (`{"email": {"S": "a@example.com"}}`).
pub type Item = Map<String, Value>;

/// Characters that end a key prefix (`USER#1` -> `USER#`).
const SEPARATORS: [char; 3] = ['#', '|', ':'];

/// A sort key seen more often than this many distinct constant values is not used to tell
/// entities apart (timestamps, ids).
const MAX_SORT_CONSTANTS: usize = 3;

/// How an entity's items are matched on one key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyMatch {
    Prefix(String),
    Equals(String),
    Any,
}

/// The proposed `outbox.yaml` for `table` from `items`.
pub fn propose(table: &TableInfo, items: &[Item]) -> String {
    let service = service_name(&table.name);
    let entities = entities(table, items);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# yaml-language-server: $schema=generated/outbox.schema.json\n#\n# Proposed by `outbox init --from-table {}` from DescribeTable and {} sampled item(s).\n# Every line with a trailing `REVIEW:` comment was inferred: check it against the table, then\n# delete the comment; `outbox` generates nothing while one is left. Attributes no sampled item\n# had are missing: add them. Reference: the outbox README, \"outbox.yaml reference\".\nversion: 1\nservice: {}  {REVIEW_MARK} the service's name (from the table's); the stack and relay are named after it\n\nbus:\n  name: {}-events  {REVIEW_MARK} a bus the stack creates; `existing: NAME` for one you have\n\ntables:\n  {}:",
        table.name,
        items.len(),
        yaml_str(&service),
        service,
        yaml_str(&table.name)
    );
    let _ = writeln!(out, "    keys:");
    let _ = writeln!(out, "      partition: {}", key(&table.partition));
    if let Some(sort) = &table.sort {
        let _ = writeln!(out, "      sort: {}", key(sort));
    }
    let _ = writeln!(
        out,
        "    stream: {}\n    # The table exists: the stack reads its stream and does not create it.\n    existing-stream: {}",
        table.stream_view.as_deref().unwrap_or("NEW_AND_OLD_IMAGES"),
        yaml_str(table.stream_arn.as_deref().unwrap_or_default())
    );
    let _ = writeln!(out, "    entities:");
    for entity in &entities {
        entity.write(&mut out, table);
    }
    if entities.is_empty() {
        let _ = writeln!(
            out,
            "      item:  {REVIEW_MARK} the table held no items to learn from: declare its entities\n        attributes: {{}}"
        );
    }
    let _ = writeln!(out, "    events:");
    for entity in &entities {
        let event = format!("{}Created", crate::ident::pascal(&entity.name));
        let id_field = format!("{}Id", entity.name);
        let _ = writeln!(
            out,
            "      {event}:  {REVIEW_MARK} an event per entity on INSERT: rename it, add MODIFY and REMOVE events\n        entity: {}\n        on: [INSERT]\n        source: {}.{}\n        detail:",
            entity.name, service, entity.name
        );
        match &entity.partition {
            KeyMatch::Prefix(prefix) => {
                let _ = writeln!(
                    out,
                    "          {id_field}: {{ from: new.{}, strip-prefix: {} }}",
                    table.partition.0,
                    yaml_str(prefix)
                );
            }
            _ => {
                let _ = writeln!(out, "          {id_field}: new.{}", table.partition.0);
            }
        }
        let except: Vec<&str> = [
            Some(table.partition.0.as_str()),
            table.sort.as_ref().map(|s| s.0.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let _ = writeln!(
            out,
            "        rest: {{ from: new, except: [{}] }}",
            except.join(", ")
        );
    }
    if entities.is_empty() {
        let _ = writeln!(
            out,
            "      ItemCreated:  {REVIEW_MARK} an event for every new item\n        entity: item\n        on: [INSERT]\n        source: {service}.items\n        rest: {{ from: new }}"
        );
    }
    out
}

fn key((name, kind): &(String, String)) -> String {
    if kind == "S" {
        yaml_str(name)
    } else {
        format!("{{ name: {}, type: {kind} }}", yaml_str(name))
    }
}

/// A service name from a table name: lower case, `-` between words.
fn service_name(table: &str) -> String {
    let mut name = String::new();
    for c in table.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_owned();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("service-{name}")
    }
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn yaml_str(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("a string serializes")
    }
}

/// A kind of item and what the sample says about its attributes.
struct Entity {
    name: String,
    partition: KeyMatch,
    sort: KeyMatch,
    items: usize,
    attributes: BTreeMap<String, Seen>,
}

impl Entity {
    fn write(&self, out: &mut String, table: &TableInfo) {
        let _ = writeln!(out, "      {}:", self.name);
        let matches: Vec<(String, &KeyMatch)> = [
            Some((table.partition.0.clone(), &self.partition)),
            table.sort.as_ref().map(|s| (s.0.clone(), &self.sort)),
        ]
        .into_iter()
        .flatten()
        .filter(|(_, m)| **m != KeyMatch::Any)
        .collect();
        if !matches.is_empty() {
            let _ = writeln!(out, "        match:");
            for (attribute, m) in matches {
                let (how, value) = match m {
                    KeyMatch::Prefix(p) => ("prefix", p),
                    KeyMatch::Equals(v) => ("equals", v),
                    KeyMatch::Any => unreachable!("filtered out"),
                };
                let _ = writeln!(
                    out,
                    "          {}: {{ {how}: {} }}  {REVIEW_MARK} {} sampled item(s) have this {how}",
                    yaml_str(&attribute),
                    yaml_str(value),
                    self.items
                );
            }
        }
        let keys = [Some(&table.partition.0), table.sort.as_ref().map(|s| &s.0)];
        let attributes: Vec<_> = self
            .attributes
            .iter()
            .filter(|(name, _)| !keys.contains(&Some(*name)))
            .collect();
        if attributes.is_empty() {
            let _ = writeln!(out, "        attributes: {{}}");
            return;
        }
        let _ = writeln!(out, "        attributes:");
        for (name, seen) in attributes {
            seen.write(out, name, self.items, 10);
        }
    }
}

/// Groups the sampled items into entities by their key prefixes.
fn entities(table: &TableInfo, items: &[Item]) -> Vec<Entity> {
    let string_key = |item: &Item, name: &str| -> Option<String> {
        item.get(name)?.get("S")?.as_str().map(str::to_owned)
    };
    let by_partition = |item: &Item| match string_key(item, &table.partition.0) {
        Some(value) => prefix(&value).map_or(KeyMatch::Any, KeyMatch::Prefix),
        None => KeyMatch::Any,
    };
    let mut groups: BTreeMap<KeyMatch, Vec<&Item>> = BTreeMap::new();
    for item in items {
        groups.entry(by_partition(item)).or_default().push(item);
    }
    let mut entities = Vec::new();
    for (partition, members) in groups {
        let sort_of = |item: &Item| match table.sort.as_ref().and_then(|s| string_key(item, &s.0)) {
            Some(value) => prefix(&value).map_or(KeyMatch::Equals(value), KeyMatch::Prefix),
            None => KeyMatch::Any,
        };
        let constants: std::collections::BTreeSet<KeyMatch> = members
            .iter()
            .map(|item| sort_of(item))
            .filter(|m| matches!(m, KeyMatch::Equals(_)))
            .collect();
        let mut by_sort: BTreeMap<KeyMatch, Vec<&Item>> = BTreeMap::new();
        for item in members {
            let mut sort = sort_of(item);
            if constants.len() > MAX_SORT_CONSTANTS && matches!(sort, KeyMatch::Equals(_)) {
                sort = KeyMatch::Any;
            }
            by_sort.entry(sort).or_default().push(item);
        }
        let several = by_sort.len() > 1;
        for (sort, members) in by_sort {
            let base = match &partition {
                KeyMatch::Prefix(p) => word(p),
                _ => "item".to_owned(),
            };
            let name = match (&sort, several) {
                (KeyMatch::Prefix(s) | KeyMatch::Equals(s), true) => {
                    format!("{base}{}", crate::ident::pascal(&word(s)))
                }
                _ => base,
            };
            let mut attributes: BTreeMap<String, Seen> = BTreeMap::new();
            for item in &members {
                for (attribute, value) in *item {
                    attributes.entry(attribute.clone()).or_default().add(value);
                }
            }
            entities.push(Entity {
                name,
                partition: partition.clone(),
                sort,
                items: members.len(),
                attributes,
            });
        }
    }
    // Two groups whose names came out the same get a number.
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for entity in &mut entities {
        let n = used.entry(entity.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            entity.name = format!("{}{n}", entity.name);
        }
    }
    entities
}

/// `USER#123` -> `USER#`; `None` without a separator (or with nothing before it).
fn prefix(value: &str) -> Option<String> {
    let at = value.find(SEPARATORS)?;
    (at > 0).then(|| value[..=at].to_owned())
}

/// `USER#` -> `user`, `ORDER_LINE#` -> `orderLine`.
fn word(prefix: &str) -> String {
    let text: String = prefix
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let pascal = crate::ident::pascal(text.trim());
    let mut chars = pascal.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_lowercase().to_string() + chars.as_str()
    })
}

/// What the sample held for one attribute.
#[derive(Default)]
struct Seen {
    /// Items that had it (not NULL).
    present: usize,
    /// How often each DynamoDB type came up.
    types: BTreeMap<&'static str, usize>,
    /// For M: the maps' attributes; for L: the elements (as one attribute).
    nested: BTreeMap<String, Seen>,
    elements: Option<Box<Seen>>,
    /// Whether every string value was a date-time / an e-mail address.
    all_date_time: bool,
    all_email: bool,
    strings: usize,
}

impl Seen {
    fn add(&mut self, value: &Value) {
        let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        let kind: &'static str = match kind.as_str() {
            "S" => "S",
            "N" => "N",
            "B" => "B",
            "BOOL" => "BOOL",
            "NULL" => return,
            "SS" => "SS",
            "NS" => "NS",
            "BS" => "BS",
            "L" => "L",
            "M" => "M",
            _ => return,
        };
        self.present += 1;
        *self.types.entry(kind).or_default() += 1;
        match kind {
            "S" => {
                let text = inner.as_str().unwrap_or_default();
                if self.strings == 0 {
                    self.all_date_time = true;
                    self.all_email = true;
                }
                self.strings += 1;
                self.all_date_time &= is_date_time(text);
                self.all_email &= is_ascii_email(text);
            }
            "M" => {
                for (name, value) in inner.as_object().into_iter().flatten() {
                    self.nested.entry(name.clone()).or_default().add(value);
                }
            }
            "L" => {
                let elements = self.elements.get_or_insert_with(Default::default);
                for value in inner.as_array().into_iter().flatten() {
                    elements.add(value);
                }
            }
            _ => {}
        }
    }

    /// The most frequent type, and a note when there were others.
    fn kind(&self) -> (&'static str, Option<String>) {
        let (kind, _) = self
            .types
            .iter()
            .max_by_key(|(_, n)| **n)
            .map_or(("S", &0), |(k, n)| (*k, n));
        let note = (self.types.len() > 1).then(|| {
            let all: Vec<String> = self
                .types
                .iter()
                .map(|(k, n)| format!("{k} {n}x"))
                .collect();
            format!(
                "; seen as {}: drifted items or a mixed attribute",
                all.join(", ")
            )
        });
        (kind, note)
    }

    /// Writes `name: <type>` at `indent` spaces, with nested attributes or element type.
    fn write(&self, out: &mut String, name: &str, of: usize, indent: usize) {
        let pad = " ".repeat(indent);
        let (kind, note) = self.kind();
        let required = self.present == of && of > 0;
        let mut inline = vec![format!("type: {kind}")];
        if required {
            inline.push("required: true".into());
        }
        if kind == "S"
            && self.strings > 0
            && self.strings == self.types.get("S").copied().unwrap_or(0)
        {
            if self.all_date_time {
                inline.push("format: date-time".into());
            } else if self.all_email {
                inline.push("format: email".into());
            }
        }
        let why = format!(
            "{REVIEW_MARK} in {} of {of} sampled item(s){}",
            self.present,
            note.unwrap_or_default()
        );
        let name = yaml_str(name);
        match kind {
            "M" if !self.nested.is_empty() => {
                let _ = writeln!(out, "{pad}{name}:  {why}");
                for field in &inline {
                    let _ = writeln!(out, "{pad}  {field}");
                }
                let _ = writeln!(out, "{pad}  attributes:");
                for (field, seen) in &self.nested {
                    seen.write(out, field, self.types["M"], indent + 4);
                }
            }
            "L" if self.elements.as_ref().is_some_and(|e| e.present > 0) => {
                let elements = self.elements.as_ref().expect("checked");
                let _ = writeln!(out, "{pad}{name}:  {why}");
                for field in &inline {
                    let _ = writeln!(out, "{pad}  {field}");
                }
                // Elements are never `required`: pass a count no element reaches.
                elements.write(out, "items", usize::MAX, indent + 2);
            }
            _ => {
                let _ = writeln!(out, "{pad}{name}: {{ {} }}  {why}", inline.join(", "));
            }
        }
    }
}

/// RFC 3339 date-time, as JSON Schema's `date-time` format checks it (roughly).
fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't')
        && bytes[13] == b':'
        && (text.ends_with('Z') || text.ends_with('z') || text[19..].contains(['+', '-']))
        && text[..4].bytes().all(|b| b.is_ascii_digit())
}

/// An ASCII address (JSON Schema's `email`; an internationalized one is `idn-email`).
fn is_ascii_email(text: &str) -> bool {
    text.is_ascii()
        && text
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        serde_json::from_str(json).unwrap()
    }

    fn table() -> TableInfo {
        TableInfo {
            name: "app-table".into(),
            partition: ("pk".into(), "S".into()),
            sort: Some(("sk".into(), "S".into())),
            stream_view: Some("NEW_AND_OLD_IMAGES".into()),
            stream_arn: Some(
                "arn:aws:dynamodb:us-east-1:123456789012:table/app-table/stream/x".into(),
            ),
        }
    }

    #[test]
    fn entities_by_key_prefix_with_types_required_and_formats() {
        let items = [
            item(
                r#"{"pk":{"S":"USER#1"},"sk":{"S":"PROFILE"},"email":{"S":"a@example.com"},"age":{"N":"3"},"createdAt":{"S":"2026-01-01T00:00:00Z"}}"#,
            ),
            item(
                r#"{"pk":{"S":"USER#2"},"sk":{"S":"PROFILE"},"email":{"S":"b@example.com"},"createdAt":{"S":"2026-01-02T00:00:00Z"},"address":{"M":{"city":{"S":"Oslo"}}}}"#,
            ),
            item(
                r#"{"pk":{"S":"ORDER#1"},"sk":{"S":"ORDER#1"},"total":{"N":"12345678901234567890123"},"lines":{"L":[{"M":{"sku":{"S":"A"}}}]},"tags":{"SS":["x"]}}"#,
            ),
        ];
        let text = propose(&table(), &items);
        for expected in [
            "      user:\n",
            "pk: { prefix: \"USER#\" }  # REVIEW: 2 sampled item(s)",
            "sk: { equals: PROFILE }",
            "email: { type: S, required: true, format: email }  # REVIEW: in 2 of 2",
            "age: { type: N }  # REVIEW: in 1 of 2",
            "createdAt: { type: S, required: true, format: date-time }",
            "address:  # REVIEW: in 1 of 2",
            "city: { type: S, required: true }",
            "      order:\n",
            "total: { type: N, required: true }",
            "lines:  # REVIEW: in 1 of 1",
            "tags: { type: SS, required: true }",
            "UserCreated:",
            "userId: { from: new.pk, strip-prefix: \"USER#\" }",
            "existing-stream: \"arn:aws:dynamodb:us-east-1:123456789012:table/app-table/stream/x\"",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
    }

    #[test]
    fn a_mixed_attribute_is_noted_and_the_proposal_loads_once_reviewed() {
        let items = [
            item(r#"{"pk":{"S":"USER#1"},"sk":{"S":"PROFILE"},"age":{"N":"3"}}"#),
            item(r#"{"pk":{"S":"USER#2"},"sk":{"S":"PROFILE"},"age":{"S":"three"}}"#),
        ];
        let text = propose(&table(), &items);
        assert!(text.contains("seen as N 1x, S 1x"), "{text}");
        let marked = crate::load::load("outbox.yaml", text.as_bytes()).unwrap_err();
        assert!(marked.error_count() >= 5, "{marked}");
        let reviewed: String = text
            .lines()
            .map(|l| l.split(REVIEW_MARK).next().unwrap().trim_end())
            .collect::<Vec<_>>()
            .join("\n");
        crate::generate_text("outbox.yaml", reviewed.as_bytes()).unwrap();
    }
}
