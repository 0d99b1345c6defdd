//! Agents on the Python and TypeScript SDKs beside the simulated fleet (which
//! uses the Rust SDK), so `:agents` shows all three: `report-builder-py` and
//! `ticket-triager-js`, from `sdks/*/examples`. Each runs only where its
//! runtime and the SDK are on this machine (Python 3; Node with the SDK
//! built by `npm install` in sdks/typescript); otherwise the demo says so in
//! its log and goes on. They end when the demo does: their standard input is
//! this process's pipe, and closes with it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The agents started; stopped on drop.
pub struct OtherSdks {
    children: Vec<Child>,
}

impl Drop for OtherSdks {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn sdks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sdks")
}

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

impl OtherSdks {
    /// Starts what this machine can run, against `url` with the fleet's token.
    pub fn start(url: &str, token: &str) -> OtherSdks {
        let root = sdks();
        let mut wanted: Vec<(&str, Command)> = Vec::new();
        if on_path("python3") && root.join("python/src/mandate").is_dir() {
            let mut c = Command::new("python3");
            c.arg(root.join("python/examples/fleet_agent.py")).env("PYTHONPATH", root.join("python/src"));
            wanted.push(("python", c));
        } else {
            tracing::info!("no Python agent in this demo: python3 or sdks/python is not here");
        }
        if on_path("node") && root.join("typescript/dist/index.js").is_file() {
            let mut c = Command::new("node");
            c.arg(root.join("typescript/examples/fleet-agent.mjs"));
            wanted.push(("typescript", c));
        } else {
            tracing::info!(
                "no TypeScript agent in this demo: node, or the SDK built (npm install in sdks/typescript), is not here"
            );
        }
        let mut children = Vec::new();
        for (sdk, mut command) in wanted {
            let started = command
                .env("MANDATE_URL", url)
                .env("MANDATE_TOKEN", token)
                .env_remove("MANDATE_CA_FILE")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match started {
                Ok(child) => children.push(child),
                Err(e) => tracing::warn!(sdk, error = %e, "the demo's agent on this SDK did not start"),
            }
        }
        OtherSdks { children }
    }
}
