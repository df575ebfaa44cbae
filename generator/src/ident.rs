//! Names from outbox.yaml as Rust identifiers: one place for case conversion, keyword escaping
//! and collisions, so any event or field name (keywords, leading digits, hyphens, dots, spaces,
//! unicode, names equal after conversion) gives valid, distinct, lint-clean Rust.

use std::collections::BTreeSet;

/// Rust keywords (strict, reserved and weak ones that matter in identifier position).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self", "_"];

/// `snake_case` words of a name: splits on non-alphanumerics and lower/upper boundaries;
/// non-ASCII characters become separators.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        let boundary = previous.is_some_and(|p| {
            (p.is_ascii_lowercase() || p.is_ascii_digit()) && c.is_ascii_uppercase()
        });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A `snake_case` identifier for `name`, escaped if it is a keyword, never empty, never
/// starting with a digit.
pub fn snake(name: &str) -> String {
    let mut ident = words(name).join("_");
    if ident.is_empty() {
        ident = "unnamed".to_owned();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident = format!("n{ident}");
    }
    escape(ident)
}

fn escape(ident: String) -> String {
    if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// A `PascalCase` name of ASCII letters and digits (CloudFormation logical ids), never empty,
/// never starting with a digit.
pub fn pascal(name: &str) -> String {
    let mut out: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if out.is_empty() {
        out = "Unnamed".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("N{out}");
    }
    out
}

/// Hands out identifiers unique within one scope: a name that collides after conversion gets
/// `_2`, `_3`, ...
#[derive(Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    /// A scope where `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Scope {
            taken: reserved.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// A unique `PascalCase` name for `name` (suffixes `2`, `3`, ... on collision).
    pub fn pascal(&mut self, name: &str) -> String {
        let base = pascal(name);
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}{n}");
        }
        candidate
    }

    /// A unique `snake_case` identifier for `name`.
    pub fn snake(&mut self, name: &str) -> String {
        self.unique(snake(name))
    }

    fn unique(&mut self, base: String) -> String {
        // `self_2`, not `self__2`: rustc's non_snake_case lint refuses a double underscore.
        let bare = base
            .trim_start_matches("r#")
            .trim_end_matches('_')
            .to_owned();
        let mut candidate = base.clone();
        let mut n = 1;
        while !self
            .taken
            .insert(candidate.trim_start_matches("r#").to_owned())
        {
            n += 1;
            candidate = escape(format!("{bare}_{n}"));
        }
        candidate
    }
}

/// A slug of an event name for event ids: ASCII letters, digits, `.`, `_` and `-` kept, other
/// characters as `~XX` hex bytes, so distinct names give distinct slugs.
pub fn id_slug(name: &str) -> String {
    let mut slug = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-".contains(&byte) {
            slug.push(byte as char);
        } else {
            slug.push_str(&format!("~{byte:02X}"));
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_valid_distinct_identifiers() {
        let mut scope = Scope::default();
        let names = [
            "UserCreated",
            "user-created",
            "user.created",
            "user created",
            "type",
            "match",
            "self",
            "crate",
            "1st event",
            "Zoë",
            "日本",
            "",
            "___",
            "HTTPServer",
            "userId",
            "user_id",
            "self_",
            "Self",
        ];
        let idents: Vec<String> = names.iter().map(|n| scope.snake(n)).collect();
        assert_eq!(
            idents,
            [
                "user_created",
                "user_created_2",
                "user_created_3",
                "user_created_4",
                "r#type",
                "r#match",
                "self_",
                "crate_",
                "n1st_event",
                "zo",
                "unnamed",
                "unnamed_2",
                "unnamed_3",
                "httpserver",
                "user_id",
                "user_id_2",
                "self_2",
                "self_3",
            ]
        );
    }

    #[test]
    fn slugs_are_distinct_and_safe() {
        assert_eq!(id_slug("UserCreated"), "UserCreated");
        assert_eq!(id_slug("user created"), "user~20created");
        assert_ne!(id_slug("Zoë"), id_slug("Zo"));
    }
}
