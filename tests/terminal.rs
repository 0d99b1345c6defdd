//! The real `mandate` binary in a real terminal (tmux): `mandate demo` at
//! 80×24 and 120×40 driven by keys as an on-call engineer would; NO_COLOR
//! writes no colour; every way out leaves the terminal as it was found,
//! with the right exit status.

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mandate");

/// A tmux server of the test's own, with one pane that outlives its program.
struct Tmux {
    socket: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, (w, h): (u16, u16), env: &[(&str, &str)], args: &str) -> Tmux {
        let socket = format!("mandate-test-{}-{name}", std::process::id());
        let home = tempfile::tempdir().unwrap();
        let t = Tmux { socket, _home: home };
        t.run(&["new-session", "-d", "-s", "s", "-x", &w.to_string(), "-y", &h.to_string()]);
        t.run(&["set-option", "-t", "s", "remain-on-exit", "on"]);
        let dir = t._home.path().display().to_string();
        let mut command = format!(
            "env -u MANDATE_API_URL -u MANDATE_TOKEN XDG_CONFIG_HOME={dir}/config XDG_STATE_HOME={dir}/state TERM=xterm-256color"
        );
        for (k, v) in env {
            command.push_str(&format!(" {k}={v}"));
        }
        // A shell stays behind the program: its status is printed, and the
        // terminal state it left can be read while the pane is alive.
        command.push_str(&format!(
            " {BIN} {args}; echo EXIT=$?; stty -a | grep -q -w -e -icanon && echo RAW=on || echo RAW=off; sleep 60"
        ));
        t.run(&["respawn-pane", "-k", "-t", "s", &format!("sh -c '{command}'")]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "s", k]);
            std::thread::sleep(Duration::from_millis(120));
        }
    }

    fn text(&self, line: &str) {
        self.run(&["send-keys", "-t", "s", "-l", line]);
        std::thread::sleep(Duration::from_millis(120));
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "s"])
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(Instant::now() < deadline, "no {needle:?} on screen within 30 s:\n{screen}");
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn format(&self, what: &str) -> String {
        self.run(&["display-message", "-p", "-t", "s", what]).trim().to_owned()
    }

    /// Waits for the program to end; its exit status.
    fn exit_status(&self) -> i32 {
        let screen = self.wait_for("EXIT=");
        let status = screen.split("EXIT=").nth(1).unwrap_or_default();
        status.split_whitespace().next().unwrap_or_default().parse().unwrap()
    }

    /// The console's process id (the shell's child).
    fn program_pid(&self) -> String {
        let shell = self.format("#{pane_pid}");
        let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().next().expect("the program runs").trim().to_owned()
    }

    /// Alternate screen left, cursor shown, raw mode off.
    fn assert_restored(&self) {
        assert!(self.wait_for("RAW=").contains("RAW=off"), "raw mode was turned off");
        assert_eq!(self.format("#{alternate_on}"), "0", "the alternate screen was left");
        assert_eq!(self.format("#{cursor_flag}"), "1", "the cursor is shown");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

fn triage_walkthrough(size: (u16, u16)) {
    let t = Tmux::start(&format!("walk{}", size.0), size, &[], "demo --speed 50 --seed 1");
    t.wait_for("DEMO");
    t.wait_for("CONFIG_INVALID");
    // Filter to the bad deploy and open it.
    t.keys(&["/"]);
    t.text("CONFIG_INVALID");
    t.keys(&["Enter", "Enter"]);
    t.wait_for("level 1 of 3");
    t.wait_for("Top 3 now");
    t.keys(&["Enter"]);
    t.wait_for("level 2 of 3");
    t.keys(&["Enter"]);
    t.wait_for("level 3 of 3");
    t.keys(&["b"]);
    t.wait_for("Blast radius");
    t.wait_for("Definitely affected");
    t.keys(&["Escape", "a"]);
    t.wait_for("✓ acknowledge incident");
    t.keys(&["c"]);
    t.wait_for("Root causes");
    t.keys(&["C"]);
    t.wait_for("Confirm:");
    t.keys(&["y"]);
    t.wait_for("✓ mark");
    t.keys(&["p"]);
    t.wait_for("Confirm: pause agent");
    t.wait_for("No ]");
    t.keys(&["y"]);
    t.wait_for("✓ pause agent");
    t.keys(&[":"]);
    t.text("audit");
    t.keys(&["Enter"]);
    t.wait_for("chain verified");
    let audit = t.wait_for("pause_agent");
    assert!(audit.contains("acknowledge") && audit.contains("verdict"), "{audit}");
    t.keys(&["q", "q"]);
    assert_eq!(t.exit_status(), 0);
    t.assert_restored();
}

#[test]
fn the_demo_walkthrough_at_80x24() {
    triage_walkthrough((80, 24));
}

#[test]
fn the_demo_walkthrough_at_120x40() {
    triage_walkthrough((120, 40));
}

#[test]
fn no_color_means_no_colour_escape_sequences() {
    let t = Tmux::start("nocolor", (100, 30), &[("NO_COLOR", "1")], "demo --speed 50");
    t.wait_for("CONFIG_INVALID");
    t.keys(&["Enter"]);
    t.wait_for("level 1 of 3");
    let styled = t.run(&["capture-pane", "-p", "-e", "-t", "s"]);
    for sgr in styled.split("\u{1b}[").skip(1) {
        let params = sgr.split('m').next().unwrap_or_default();
        for p in params.split(';') {
            let n: u32 = p.parse().unwrap_or(0);
            let colour = ((30..=48).contains(&n) && n != 39) || (90..=107).contains(&n);
            assert!(!colour, "a colour: ESC[{params}m");
        }
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    t.assert_restored();
}

#[test]
fn signals_restore_the_terminal_with_the_conventional_status() {
    for (signal, status) in [("TERM", 143), ("HUP", 129)] {
        let t = Tmux::start(&format!("sig{signal}"), (80, 24), &[], "demo --speed 50");
        t.wait_for("CONFIG_INVALID");
        let pid = t.program_pid();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
        assert_eq!(t.exit_status(), status, "SIG{signal}");
        t.assert_restored();
    }
}

#[test]
fn a_panic_restores_the_terminal_and_says_why() {
    let t = Tmux::start("panic", (80, 24), &[("MANDATE_DEBUG_PANIC", "1"), ("RUST_BACKTRACE", "0")], "demo --speed 50");
    assert_eq!(t.exit_status(), 101, "a panic's status");
    t.assert_restored();
    assert!(t.screen().contains("panicking after the first frame"), "the message is readable after the restore");
}

#[test]
fn the_console_leaves_when_its_terminal_goes_away() {
    let t = Tmux::start("gone", (80, 24), &[], "demo --speed 50");
    t.wait_for("CONFIG_INVALID");
    let pid = t.program_pid();
    let gone = Instant::now();
    t.run(&["kill-server"]);
    let stat = format!("/proc/{pid}/stat");
    // Exited (or a zombie awaiting its reaper), not spinning on a dead terminal.
    let exited =
        || std::fs::read_to_string(&stat).map_or(true, |s| s.rsplit(')').next().unwrap().trim_start().starts_with('Z'));
    while !exited() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "still running {:?} after its terminal went away",
            gone.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("left {:?} after the terminal went away", gone.elapsed());
}
