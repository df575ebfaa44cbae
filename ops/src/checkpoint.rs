//! Where the poller is in each shard, kept in a local file so a restart resumes without loss:
//! the last sequence number handled per shard of each stream, written atomically after every
//! batch (a crash between publishing and writing means the batch is published again, with the
//! same event ids, never lost).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The checkpoint file's contents.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// Per stream ARN (a re-created table has a new stream, and starts afresh).
    pub streams: BTreeMap<String, BTreeMap<String, ShardPosition>>,
}

/// How far a shard has been handled.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardPosition {
    /// The last sequence number handled (published, skipped or sent to the failure
    /// destination).
    pub sequence_number: Option<String>,
    /// The shard is closed and read to its end (its children may start).
    #[serde(default)]
    pub finished: bool,
}

/// A checkpoint kept in a file (or in memory only, without one).
#[derive(Debug)]
pub struct CheckpointFile {
    path: Option<PathBuf>,
    state: Checkpoint,
}

/// The checkpoint file cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {path}: {message}")]
pub struct CheckpointError {
    path: String,
    message: String,
}

impl CheckpointFile {
    /// Loads `path` (a missing file is an empty checkpoint); `None` keeps it in memory.
    pub fn open(path: Option<&Path>) -> Result<Self, CheckpointError> {
        let state = match path {
            None => Checkpoint::default(),
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => serde_json::from_str(&text).map_err(|e| CheckpointError {
                    path: path.display().to_string(),
                    message: format!(
                        "{e}; delete the file to start from the stream's trim horizon"
                    ),
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Checkpoint::default(),
                Err(e) => {
                    return Err(CheckpointError {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    });
                }
            },
        };
        Ok(CheckpointFile {
            path: path.map(Path::to_path_buf),
            state,
        })
    }

    /// Where `shard` of `stream` stands.
    pub fn position(&self, stream: &str, shard: &str) -> Option<&ShardPosition> {
        self.state.streams.get(stream)?.get(shard)
    }

    /// Records that `shard` is handled up to and including `sequence_number`, and saves.
    pub fn advance(
        &mut self,
        stream: &str,
        shard: &str,
        sequence_number: &str,
    ) -> Result<(), CheckpointError> {
        self.entry(stream, shard).sequence_number = Some(sequence_number.to_owned());
        self.save()
    }

    /// Records that `shard` is read to its end, and saves.
    pub fn finish(&mut self, stream: &str, shard: &str) -> Result<(), CheckpointError> {
        self.entry(stream, shard).finished = true;
        self.save()
    }

    fn entry(&mut self, stream: &str, shard: &str) -> &mut ShardPosition {
        self.state
            .streams
            .entry(stream.to_owned())
            .or_default()
            .entry(shard.to_owned())
            .or_default()
    }

    /// Writes the file atomically: a temporary file, synced, renamed over the old one.
    fn save(&self) -> Result<(), CheckpointError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(&self.state).unwrap_or_default();
        write_atomically(path, &text).map_err(|e| CheckpointError {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

/// Writes `text` to `path` atomically: a temporary file, synced, renamed over the old one (a
/// crash leaves the old file or the new one, never half of one).
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_position_is_read_back_and_a_new_stream_starts_afresh() {
        let dir = std::env::temp_dir().join(format!("outbox-checkpoint-{}", std::process::id()));
        let path = dir.join("nested/app-table.json");
        let mut file = CheckpointFile::open(Some(&path)).unwrap();
        assert_eq!(file.position("arn:a", "shard-1"), None);
        file.advance("arn:a", "shard-1", "100").unwrap();
        file.advance("arn:a", "shard-1", "105").unwrap();
        file.finish("arn:a", "shard-0").unwrap();
        let again = CheckpointFile::open(Some(&path)).unwrap();
        let position = again.position("arn:a", "shard-1").unwrap();
        assert_eq!(position.sequence_number.as_deref(), Some("105"));
        assert!(!position.finished);
        assert!(again.position("arn:a", "shard-0").unwrap().finished);
        assert_eq!(again.position("arn:b", "shard-1"), None);
        std::fs::write(&path, "{not json").unwrap();
        let error = CheckpointFile::open(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("delete the file"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
