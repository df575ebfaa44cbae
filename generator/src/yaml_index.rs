//! Where each field of a YAML document is: a map from field paths to source positions, built
//! from the parser's events, so validation can point at `outbox.yaml:LINE:COL` for any field
//! of the typed config without carrying spans through the model.

use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Position {
    fn of(span: &Span) -> Self {
        Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A sequence index, from 0.
    Index(usize),
}

/// A field path: `tables.app-table.events.UserCreated.on[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Segment>);

impl Path {
    /// The document root.
    pub fn root() -> Self {
        Path::default()
    }

    /// This path extended by a map key.
    pub fn key(&self, key: &str) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Path(segments)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// Whether this is the root.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn parent(&self) -> Option<Path> {
        let mut segments = self.0.clone();
        segments.pop().map(|_| Path(segments))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Builds a path from `"a", "b"` style segments: `path!["tables", name, "events"]`.
#[macro_export]
macro_rules! path {
    ($($segment:expr),* $(,)?) => {
        $crate::yaml_index::Path::root()$(.key(&$segment))*
    };
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Position>,
    value: Position,
    scalar: bool,
}

/// Positions of every key and value of a document.
#[derive(Debug, Default)]
pub struct YamlIndex {
    entries: BTreeMap<Path, Entry>,
}

enum Frame {
    Mapping {
        path: Path,
        key: Option<(String, Position)>,
    },
    Sequence {
        path: Path,
        next: usize,
    },
}

impl YamlIndex {
    /// Indexes `text`. Text that does not parse gives an empty index (the deserializer
    /// reports the syntax error itself).
    pub fn build(text: &str) -> Self {
        let mut index = YamlIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for result in Parser::new_from_str(text) {
            let Ok((event, span)) = result else {
                return YamlIndex::default();
            };
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Mapping {
                        key: key @ None, ..
                    }) = stack.last_mut()
                    {
                        *key = Some((value.into_owned(), Position::of(&span)));
                    } else {
                        index.value_path(&mut stack, &span, true);
                    }
                }
                Event::Alias(_) => {
                    index.value_path(&mut stack, &span, true);
                }
                Event::MappingStart(..) => {
                    let path = index
                        .value_path(&mut stack, &span, false)
                        .unwrap_or_default();
                    stack.push(Frame::Mapping { path, key: None });
                }
                Event::SequenceStart(..) => {
                    let path = index
                        .value_path(&mut stack, &span, false)
                        .unwrap_or_default();
                    stack.push(Frame::Sequence { path, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        index
    }

    /// Records a value at the current position of the innermost container; returns its path.
    fn value_path(&mut self, stack: &mut [Frame], span: &Span, scalar: bool) -> Option<Path> {
        let value = Position::of(span);
        let (path, key) = match stack.last_mut() {
            None => (Path::root(), None),
            Some(Frame::Mapping { path, key }) => {
                let (name, at) = key.take()?;
                (path.key(&name), Some(at))
            }
            Some(Frame::Sequence { path, next }) => {
                *next += 1;
                (path.index(*next - 1), None)
            }
        };
        self.entries
            .insert(path.clone(), Entry { key, value, scalar });
        Some(path)
    }

    /// Where to point for a problem with `path`: a scalar's value, a container's key; for a
    /// field that is not in the file, the closest enclosing one that is.
    pub fn locate(&self, path: &Path) -> Option<Position> {
        let mut current = Some(path.clone());
        while let Some(path) = current {
            if let Some(entry) = self.entries.get(&path) {
                return Some(match (entry.scalar, entry.key) {
                    (false, Some(key)) => key,
                    _ => entry.value,
                });
            }
            current = path.parent();
        }
        None
    }

    /// The outermost field whose key or value is on `line` (1-based), if any.
    pub fn path_on_line(&self, line: usize) -> Option<&Path> {
        self.entries
            .iter()
            .filter(|(_, e)| e.key.is_some_and(|k| k.line == line) || e.value.line == line)
            .map(|(path, _)| path)
            .min_by_key(|path| path.0.len())
    }

    /// The deepest path whose key or value starts exactly at `position`, if any (a block
    /// mapping starts where its first key does).
    pub fn path_at(&self, position: Position) -> Option<&Path> {
        self.entries
            .iter()
            .filter(|(_, e)| e.key == Some(position) || e.value == position)
            .map(|(path, _)| path)
            .max_by_key(|path| path.0.len())
    }
}
