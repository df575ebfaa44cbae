//! `outbox dev`, and the relay build `outbox simulate` shares: the generated flow on this
//! machine. Builds the generated relay with its `local` feature and runs `relay dev` against a
//! local AWS endpoint (moto by default), starting `moto_server` first when nothing answers there
//! and it is installed. The relay talks to that endpoint; this module only starts things.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server this command started, stopped when the command ends.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the local flow for the relay in `out` against `endpoint`; the relay's exit code.
pub fn run(out: &Path, endpoint: &str, provision_only: bool) -> Result<i32, String> {
    let address = socket_address(endpoint)?;
    let _server = if answers(&address) {
        None
    } else {
        Some(start_moto(endpoint, &address)?)
    };
    let relay = build_relay(out)?;
    let mut command = Command::new(&relay);
    command.args(["dev", "--endpoint", endpoint]);
    if provision_only {
        command.arg("--provision-only");
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", relay.display()))?;
    Ok(status.code().unwrap_or(1))
}

/// `host:port` of an `http://` endpoint.
fn socket_address(endpoint: &str) -> Result<String, String> {
    let rest = endpoint.strip_prefix("http://").ok_or_else(|| {
        format!(
            "--endpoint {endpoint}: a local endpoint is an http:// URL, e.g. http://127.0.0.1:5000"
        )
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("--endpoint {endpoint}: no host"));
    }
    Ok(if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    })
}

fn answers(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// `moto_server` on `PATH` or in `./.venv/bin`.
fn find_moto() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from(".venv/bin")])
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

fn start_moto(endpoint: &str, address: &str) -> Result<Started, String> {
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "80"));
    if !matches!(host, "127.0.0.1" | "localhost") {
        return Err(format!(
            "nothing answers at {endpoint}: start your local AWS server there, or omit --endpoint \
             to use moto on 127.0.0.1:5000"
        ));
    }
    let moto = find_moto().ok_or_else(|| {
        format!(
            "nothing answers at {endpoint} and moto_server is not installed\nhint: pip install \
             'moto[server]' (or start another local AWS server and pass --endpoint URL)"
        )
    })?;
    eprintln!("starting {} on {host}:{port}", moto.display());
    let child = Command::new(&moto)
        .args(["-H", host, "-p", port])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", moto.display()))?;
    let server = Started(child);
    let started = Instant::now();
    while !answers(address) {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "{} did not answer on {address} within 30 s",
                moto.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// Builds `out/relay` with the `local` feature and returns the binary's path (`dev` and
/// `simulate`). Cargo runs in the relay's directory, so its `.cargo/config.toml` (profiles)
/// applies as it does to `sam build`, in a workspace of its own or as a member of the user's.
pub(crate) fn build_relay(out: &Path) -> Result<PathBuf, String> {
    let manifest = out.join("relay/Cargo.toml");
    let Ok(manifest) = manifest.canonicalize() else {
        return Err(format!(
            "{} does not exist: run `outbox` to generate it",
            manifest.display()
        ));
    };
    let dir = manifest.parent().expect("a file has a directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building {} (feature local)", manifest.display());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--features", "local", "--manifest-path"])
        .arg(&manifest)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building {} failed", manifest.display()));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "relay"
                && m["executable"].is_string()
        })
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo built no relay binary from {}", manifest.display()))
}

#[cfg(test)]
mod tests {
    use super::socket_address;

    #[test]
    fn endpoints_are_http_urls_with_a_host() {
        assert_eq!(
            socket_address("http://127.0.0.1:5000").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(socket_address("http://localhost/").unwrap(), "localhost:80");
        assert!(socket_address("https://dynamodb.us-east-1.amazonaws.com").is_err());
        assert!(socket_address("http://").is_err());
    }
}
