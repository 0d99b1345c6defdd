//! The real `mandate` binary in a real terminal (tmux): `mandate demo` at
//! 80×24 and 120×40 driven by keys as an on-call engineer would; NO_COLOR
//! writes no colour; every way out leaves the terminal as it was found,
//! with the right exit status.

use crate::common;
use crate::common::BIN;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether tmux is missing, so this test is skipped (see `common::skip_without`).
fn no_tmux(test: &str) -> bool {
    let here = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    common::skip_without("tmux", here, test)
}

/// A tmux server of the test's own, with one pane that outlives its program.
struct Tmux {
    socket: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, size: (u16, u16), env: &[(&str, &str)], args: &str) -> Tmux {
        Tmux::start_recorded(name, size, env, args, None)
    }

    /// `start`, with every byte the program writes appended to `record`.
    fn start_recorded(
        name: &str,
        (w, h): (u16, u16),
        env: &[(&str, &str)],
        args: &str,
        record: Option<&std::path::Path>,
    ) -> Tmux {
        let socket = format!("mandate-test-{}-{name}", std::process::id());
        let home = tempfile::tempdir().unwrap();
        let t = Tmux { socket, _home: home };
        t.run(&["new-session", "-d", "-s", "s", "-x", &w.to_string(), "-y", &h.to_string()]);
        t.run(&["set-option", "-t", "s", "remain-on-exit", "on"]);
        if let Some(record) = record {
            t.run(&["pipe-pane", "-t", "s", "-O", &format!("cat >> {}", record.display())]);
        }
        let dir = t._home.path().display().to_string();
        // It runs in its own directory: what it writes (a postmortem) lands there.
        let mut command = format!(
            "cd {dir} && env -u MANDATE_API_URL -u MANDATE_TOKEN XDG_CONFIG_HOME={dir}/config XDG_STATE_HOME={dir}/state TERM=xterm-256color"
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

    /// `keys` to reach a dialog's buttons, then `y` once the dialog has been
    /// open long enough to be read.
    fn confirm_after(&self, keys: &[&str]) {
        self.keys(keys);
        std::thread::sleep(GUARD);
        self.keys(&["y"]);
    }

    /// The directory the program runs in.
    fn home(&self) -> &std::path::Path {
        self._home.path()
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
        self.wait_until(needle, |screen| screen.contains(needle))
    }

    /// Waits up to 30 s for a screen `wanted` accepts (`what` says what, on failure).
    fn wait_until(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if wanted(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "no {what} on screen within 30 s:\n{screen}");
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
    // Each key once the one before it is on screen: on a loaded machine keys
    // sent 120 ms apart can reach the console together, as a burst, which
    // it takes as pasted text (an Enter in it acts on nothing).
    t.wait_for("/CONFIG_INVALID");
    t.keys(&["Enter"]);
    t.wait_until("the filter applied", |s| !s.contains("/CONFIG_INVALID"));
    t.keys(&["Enter"]);
    t.wait_for("detail 1/3");
    t.wait_for("Top 3 now");
    t.keys(&["Enter"]);
    t.wait_for("detail 2/3");
    t.keys(&["Enter"]);
    t.wait_for("detail 3/3");
    t.keys(&["b"]);
    t.wait_for("Blast radius");
    t.wait_for("Definitely affected");
    t.keys(&["Escape", "a"]);
    t.wait_for("✓ acknowledge incident");
    t.keys(&["c"]);
    t.wait_for("Root causes");
    t.keys(&["C"]);
    t.wait_for("Confirm:");
    // Focus starts in the reason field, which a verdict needs; Tab to the
    // buttons, then y once the dialog has been up long enough to be read.
    t.text("deploy fits the timeline");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ mark");
    t.keys(&["p"]);
    t.wait_for("Confirm: stop agent");
    t.wait_for("No ]");
    t.text("bad deploys");
    // Past how long it lasts (until resumed) to the buttons.
    t.confirm_after(&["Tab", "Tab"]);
    t.wait_for("✓ stop agent");
    // The stopped agent's next actions are refused by its SDK, and the
    // console shows them counted; resuming lets them through.
    t.keys(&[":"]);
    t.text("agents");
    t.keys(&["Enter"]);
    // "… N refused" with N above 0 on a stopped agent's row ("STOPPED · N
    // refused", or "1 ACTED WHILE STOPPED, N refused" when an action
    // already under way when the stop was made got through).
    let refused_on = |line: &str| {
        line.contains("STOPPED")
            && line
                .split(" refused")
                .next()
                .and_then(|l| l.rsplit(' ').next()?.parse::<u32>().ok())
                .is_some_and(|n| n > 0)
    };
    let shown = t.wait_until("refused attempts counted", |screen| screen.lines().any(refused_on));
    let stopped = shown.lines().find(|l| refused_on(l) && !l.starts_with('■')).unwrap().to_owned();
    let agent = stopped.trim_start_matches(['▶', ' ']).split(' ').next().unwrap().to_owned();
    // Resumed: its actions go through again (it is seen acting).
    while !t.screen().lines().any(|l| l.contains("▶") && l.contains(&agent)) {
        t.keys(&["j"]);
    }
    // Resuming lets it act: sent at once, as every reversible easing is.
    t.keys(&["u"]);
    t.wait_for("resumed");
    t.wait_until("the agent acting again", |screen| {
        screen.lines().any(|l| l.contains(&agent) && l.contains("ACTIVE") && l.contains("<1m"))
    });
    t.keys(&[":"]);
    t.text("audit");
    t.keys(&["Enter"]);
    t.wait_for("chain verified");
    let audit = t.wait_for("pause_agent");
    assert!(audit.contains("acknowledge") && audit.contains("verdict"), "{audit}");
    // q leaves the audit screen, then asks before quitting.
    t.keys(&["q", "q"]);
    t.wait_for("Quit mandate?");
    t.keys(&["y"]);
    assert_eq!(t.exit_status(), 0);
    t.assert_restored();
}

/// Longer than the dialog's guard time.
const GUARD: Duration = Duration::from_millis(700);

const RUNBOOK: &str = "1. deploy: kubectl rollout undo deploy/payments -n prod\n\
    2. verify pool_size=20; page the DBA if QPS > 5k (JIRA-4711)\n\
    3. BCFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz y Y q\n";

#[test]
fn a_pasted_runbook_acts_on_nothing_bracketed_or_not() {
    if no_tmux("a_pasted_runbook_acts_on_nothing_bracketed_or_not") {
        return;
    }
    let t = Tmux::start("paste", (80, 24), &[], "demo --speed 50 --seed 1");
    t.wait_for("CONFIG_INVALID");
    t.run(&["set-buffer", "-b", "runbook", RUNBOOK]);
    // On the list: bracketed (the terminal marks it), then as raw keys.
    for bracketed in [true, false] {
        let mut paste = vec!["paste-buffer", "-b", "runbook", "-t", "s"];
        if bracketed {
            paste.push("-p");
        }
        t.run(&["send-keys", "-t", "s", "Escape"]);
        std::thread::sleep(Duration::from_millis(150));
        t.run(&paste);
        let shown = t.wait_for("ignored pasted text");
        assert!(!shown.contains("Confirm:") && !shown.contains("Quit mandate?"), "{shown}");
        // In the escalate dialog the text goes into the reason; nothing is sent.
        t.keys(&["e"]);
        t.wait_for("Confirm: escalate");
        t.run(&paste);
        let shown = t.wait_for("kubectl rollout");
        assert!(shown.contains("Confirm: escalate"), "the dialog is still up:\n{shown}");
        t.keys(&["Escape"]);
        t.wait_for("nothing sent");
    }
    t.keys(&[":"]);
    t.text("audit");
    t.keys(&["Enter"]);
    let audit = t.wait_for("chain verified");
    for action in ["escalate", "acknowledge", "flag_for_review", "pause_agent", "trigger_rollback"] {
        assert!(!audit.contains(action), "{action} recorded by a paste:\n{audit}");
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
}

/// Keys typed ahead over a slow link arrive together: they are the
/// operator's keys, not a paste. One `send-keys` delivers them in one write.
#[test]
fn keys_typed_fast_are_kept_and_a_question_takes_only_later_keys() {
    if no_tmux("keys_typed_fast_are_kept_and_a_question_takes_only_later_keys") {
        return;
    }
    let t = Tmux::start("typed", (80, 24), &[], "demo --speed 50 --seed 1");
    t.wait_for("CONFIG_INVALID");
    t.run(&["send-keys", "-t", "s", ":", "a", "u", "d", "i", "t", "Enter"]);
    t.wait_for("chain verified");
    t.run(&["send-keys", "-t", "s", "q", "j", "j"]);
    let shown = t.wait_for("▶");
    assert!(!shown.contains("ignored pasted text"), "{shown}");
    // q then y together: the prompt opened by q does not take the y.
    t.run(&["send-keys", "-t", "s", "q", "y"]);
    let shown = t.wait_for("Quit mandate?");
    assert!(shown.contains("not taken as its answer"), "{shown}");
    t.keys(&["n"]);
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
}

/// From `:agents` at 80×24 against a real server: pause the agent, and
/// watch the stop's proof move as its SDK refuses attempts and as it acts
/// anyway (an event done after the stop).
#[test]
fn pausing_from_agents_shows_whether_the_stop_holds() {
    if no_tmux("pausing_from_agents_shows_whether_the_stop_holds") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let token = common::create_token(tokens, "alice", "responder");
    let agent = common::create_token(tokens, "fleet", "agent");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = common::serve_binary(&db, tokens, "127.0.0.1:0");
    let url = format!("http://{}", served.addr);
    let post = |id: &str, agent_id: &str, minutes: f64| {
        let http = mandate::sdk::http_client_builder().build().unwrap();
        let body = common::event_body(id, minutes, agent_id, "deploy", "svc-1", "ok");
        let r = rt.block_on(http.post(format!("{url}/api/v1/events")).bearer_auth(&agent).json(&body).send()).unwrap();
        assert_eq!(r.status(), 200);
    };
    post("seen-1", "deployer", -1.0);
    let t = Tmux::start("stop", (80, 24), &[("MANDATE_TOKEN", &token), ("MANDATE_API_URL", &url)], "");
    t.wait_for("Incidents");
    t.keys(&[":"]);
    t.text("agents");
    t.keys(&["Enter"]);
    t.wait_for("deployer");
    t.keys(&["p"]);
    t.wait_for("Confirm: stop agent");
    t.text("bad deploys");
    t.confirm_after(&["Tab", "Tab"]);
    t.wait_for("STOPPED · 0 refused");
    t.wait_for("· agent deployer");
    // The agent's SDK hears the stop and refuses three attempts.
    let client = mandate::sdk::Client::new(&url, &agent).unwrap();
    let _runtime = rt.enter();
    let control = mandate::sdk::Control::subscribe(&client, "deployer", mandate::sdk::OutOfContact::KeepActing);
    let refuse = |control: &mandate::sdk::Control, n: usize| {
        let started = std::time::Instant::now();
        let mut refused = 0;
        while refused < n {
            if control.check(Some("helm")).is_err() {
                refused += 1;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the SDK never heard the stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    refuse(&control, 3);
    t.wait_for("STOPPED · 3 refused");
    // Something acts for it anyway: the proof turns to the alarm.
    post("after-stop", "deployer", 0.1);
    t.wait_for("1 ACTED WHILE STOPPED");
    t.wait_for("1 acted, 3 refused");

    // A class of agents, from the selected one's name: deployer-eu → deployer-*.
    post("eu-seen", "deployer-eu", -0.5);
    t.wait_for("deployer-eu");
    t.keys(&["j"]);
    t.keys(&["S"]);
    t.wait_for("Confirm: stop agents deployer-*");
    t.wait_for("1 agent listed now: deployer-eu");
    t.keys(&["Tab"]);
    t.text("bad rollout");
    t.confirm_after(&["Tab", "Tab"]);
    t.wait_for("agents deployer-*");
    t.wait_for("STOPPED (agents deployer-*)");
    let eu = mandate::sdk::Control::subscribe(&client, "deployer-eu", mandate::sdk::OutOfContact::KeepActing);
    refuse(&eu, 2);
    t.wait_for("0 acted, 2 refused");
    // The fleet is an admin's stop: a responder is told so, after Ctrl-Y.
    t.keys(&[":"]);
    t.text("stop fleet");
    t.keys(&["Enter"]);
    t.wait_for("Confirm: stop the fleet");
    t.text("all hands");
    t.confirm_after(&["Tab", "Tab"]);
    t.wait_for("press Ctrl-Y");
    t.keys(&["C-y"]);
    t.wait_for("FORBIDDEN");
    // Lifting the prefix stop leaves the agent's own stop in force.
    t.keys(&["U"]);
    t.wait_for("Confirm: lift the stop on agents deployer-*");
    t.confirm_after(&["Tab"]);
    t.wait_for("stop lifted");
    t.keys(&["k"]);
    t.wait_for("1 ACTED WHILE STOPPED");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    drop((control, eu));
    served.stop();
}

/// A plain `mandate serve`, as the README starts it, has no receivers: the
/// console says nobody is woken, at 80 columns, on every screen.
/// A real `mandate serve` paging local receivers by `levels` (routing
/// TOML), with one incident open: DISK_FULL on svc-1, its first page taken
/// by the webhook receiver. The console's token, and what keeps it all up.
struct PagingServer {
    rt: tokio::runtime::Runtime,
    inbox: mandate::paging::inbox::Inbox,
    served: common::Served,
    responder: String,
    agent: String,
    _dir: tempfile::TempDir,
}

impl PagingServer {
    fn start(levels: &str, script: impl FnOnce(&mandate::paging::inbox::Inbox)) -> PagingServer {
        use mandate::paging::inbox::Inbox;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let inbox = rt.block_on(Inbox::start()).unwrap();
        script(&inbox);
        let dir = tempfile::tempdir().unwrap();
        let mut document: mandate::routing::RoutingDocument = toml::from_str(levels).unwrap();
        document.receivers = inbox.receivers();
        document.storm.flash_hold = "0s".into();
        let routing = dir.path().join("routing.toml");
        std::fs::write(&routing, toml::to_string(&document).unwrap()).unwrap();
        let tokens = dir.path().join("tokens.toml");
        let tokens = tokens.to_str().unwrap();
        let responder = common::create_token(tokens, "alice", "responder");
        let agent = common::create_token(tokens, "fleet", "agent");
        let db = format!("sqlite://{}", dir.path().join("m.db").display());
        let served = common::serve_binary_with(&db, tokens, "127.0.0.1:0", &["--routing", routing.to_str().unwrap()]);
        rt.block_on(async {
            let http = mandate::sdk::http_client_builder().build().unwrap();
            let mut failure = common::event_body("f1", -1.0, "agent-1", "deploy", "svc-1", "error");
            failure["error_code"] = "DISK_FULL".into();
            let r = http.post(format!("http://{}/api/v1/events", served.addr)).bearer_auth(&agent).json(&failure);
            assert_eq!(r.send().await.unwrap().status(), 200);
            assert_eq!(inbox.accepted("webhook", 1, Duration::from_secs(10)).await.len(), 1, "the first level paged");
        });
        PagingServer { rt, inbox, served, responder, agent, _dir: dir }
    }

    /// The console at 80×24 against it, with `args`.
    fn console(&self, name: &str, args: &str) -> Tmux {
        self.console_sized(name, (80, 24), args)
    }

    fn console_sized(&self, name: &str, size: (u16, u16), args: &str) -> Tmux {
        let url = format!("http://{}", self.served.addr);
        Tmux::start(name, size, &[("MANDATE_TOKEN", &self.responder), ("MANDATE_API_URL", &url)], args)
    }

    /// POSTs `body` to `path` as `token`; the status.
    fn post(&self, token: &str, path: &str, body: &serde_json::Value) -> u16 {
        let http = mandate::sdk::http_client_builder().build().unwrap();
        let url = format!("http://{}{path}", self.served.addr);
        self.rt.block_on(async { http.post(url).bearer_auth(token).json(body).send().await.unwrap().status().as_u16() })
    }

    /// Waits until the webhook receiver has a message of `kind`
    /// (`incident.page`, `incident.resolved`) beyond the first `after`.
    fn webhook_until(&self, kind: &str, after: usize) -> usize {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.rt.block_on(self.inbox.accepted("webhook", after + 1, Duration::from_millis(200)));
            if got.iter().skip(after).any(|r| r.json()["type"] == kind) {
                return got.len();
            }
            assert!(std::time::Instant::now() < deadline, "no {kind} after the first {after}: {got:#?}");
        }
    }
}

/// One level paging @oncall by webhook, notices grouped for a second only.
const ONE_LEVEL: &str = "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\nchannels = [\"webhook\"]\n\
     [storm]\ngroup_interval = \"1s\"\n";

/// An incident's life from the console: a note on its timeline, resolved
/// with its cause undetermined (the receiver is told), reopened (paged
/// again). Each dialog is read before it is confirmed.
fn resolve_and_reopen_at(size: (u16, u16), name: &str) {
    if no_tmux(name) {
        return;
    }
    let p = PagingServer::start(ONE_LEVEL, |_| {});
    let t = p.console_sized(name, size, "");
    t.wait_for("DISK_FULL on svc-1");
    t.keys(&["Enter"]);
    t.wait_for("detail 1/3");
    t.keys(&["n"]);
    t.wait_for("Confirm: note incident #1");
    t.text("restarted the pool, no change");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ note incident #1");
    t.wait_for("alice noted: restarted the pool");

    t.keys(&["r"]);
    let dialog = t.wait_for("Confirm: resolve incident #1");
    assert!(dialog.contains("its cause undetermined"), "the resolution offered without a confirmed cause:\n{dialog}");
    assert!(dialog.contains("paging stops"), "{dialog}");
    t.keys(&["Tab"]);
    t.text("pool restarted, errors gone");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ resolve incident #1");
    t.wait_for("RESOLVED");
    let seen = p.webhook_until("incident.resolved", 1);

    // The draft postmortem, written beside the console and copied.
    t.keys(&["P"]);
    t.wait_for("written to ./incident-1-postmortem.md");
    let draft = std::fs::read_to_string(t.home().join("incident-1-postmortem.md")).unwrap();
    assert!(draft.starts_with("# Postmortem draft: incident #1"), "{draft}");
    assert!(draft.contains("alice — note: restarted the pool, no change"), "{draft}");
    assert!(draft.contains("cause undetermined") && draft.contains("## Open questions"), "{draft}");

    t.keys(&["O"]);
    t.wait_for("Confirm: reopen incident #1");
    t.text("customers still see errors");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ reopen incident #1");
    p.webhook_until("incident.page", seen);
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    p.served.stop();
}

/// A silence made from an incident with `m`: the dialog prefills the match
/// from the incident; the incident, back after being resolved, is held and
/// says SILENCED on the list; `:silences` lists it, and lifting it there
/// pages what it held.
fn silence_and_lift_at(size: (u16, u16), name: &str) {
    if no_tmux(name) {
        return;
    }
    let p = PagingServer::start(ONE_LEVEL, |_| {});
    let t = p.console_sized(name, size, "");
    t.wait_for("DISK_FULL on svc-1");
    t.keys(&["m"]);
    let dialog = t.wait_for("Confirm: silence resource=svc-1");
    assert!(dialog.contains("hold the paging of incidents matching resource=svc-1"), "{dialog}");
    t.keys(&["Tab"]);
    t.text("disk migration");
    t.confirm_after(&["Tab", "Tab"]);
    t.wait_for("✓ silence resource=svc-1");

    // Resolved, then failing again: routed afresh while the silence holds.
    let resolve = serde_json::json!({"kind": "resolve", "resolution": "not_an_incident", "reason": "test",
        "actor_type": "HUMAN", "actor_id": "alice", "agent_id": "mandate-console", "origin_system_id": "mandate-console"});
    assert_eq!(p.post(&p.responder, "/api/v1/incidents/1/interventions", &resolve), 200);
    let seen = p.webhook_until("incident.resolved", 1);
    let mut back = common::event_body("f2", -0.1, "agent-1", "deploy", "svc-1", "error");
    back["error_code"] = "DISK_FULL".into();
    assert_eq!(p.post(&p.agent, "/api/v1/events", &back), 200);
    let list = t.wait_for("SILENCED");
    if size.0 >= 120 {
        assert!(list.contains("until") && list.contains("alice: disk migration"), "the row says why:\n{list}");
    }
    t.keys(&["Enter"]);
    t.wait_for("SILENCED until");
    t.wait_for("by alice (disk migration)");
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(1500));
    let got = p.rt.block_on(p.inbox.accepted("webhook", seen, Duration::from_millis(100)));
    assert_eq!(got.len(), seen, "nobody paged while silenced: {got:#?}");

    t.keys(&[":"]);
    t.text("silences");
    t.keys(&["Enter"]);
    let screen = t.wait_for("ACTIVE");
    assert!(screen.contains("resource=svc-1"), "{screen}");
    t.keys(&["U"]);
    t.wait_for("Confirm: lift silence #1");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ lift silence #1");
    p.webhook_until("incident.page", seen);
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    p.served.stop();
}

#[test]
fn silencing_from_an_incident_and_lifting_at_80x24() {
    silence_and_lift_at((80, 24), "silencing_from_an_incident_and_lifting_at_80x24");
}

#[test]
fn silencing_from_an_incident_and_lifting_at_200x50() {
    silence_and_lift_at((200, 50), "silencing_from_an_incident_and_lifting_at_200x50");
}

/// Gated actions from the console: an agent on the Rust SDK asks to drop
/// a table; the status bar counts the waiting request on the list, the
/// approver is paged, `:approvals` shows it, and `a` (a reason, Ctrl-Y)
/// lets the waiting call go on; the next one, denied with `d`, is refused
/// with who denied it and why.
fn approve_and_deny_at(size: (u16, u16), name: &str) {
    use mandate::sdk::{Action, Agent, Client, OutOfContact, Refusal};
    if no_tmux(name) {
        return;
    }
    let routing = format!(
        "{ONE_LEVEL}[[critical_point]]\nname = \"drops\"\nreason = \"Irreversible data operation\"\n\
         match = {{ action_type = \"drop_table\" }}\napprovers = [\"@dba-lead\"]\n"
    );
    let p = PagingServer::start(&routing, |_| {});
    let url = format!("http://{}", p.served.addr);
    let agent = p.rt.block_on(async {
        let client = Client::new(&url, &p.agent).unwrap();
        let attribution = mandate::attribution::AttributionContext::system("schema-janitor", "ops");
        let agent = std::sync::Arc::new(Agent::start(&client, attribution, OutOfContact::KeepActing).unwrap());
        while !agent.control().may_gate("drop_table") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        agent
    });
    let ask = |table: &str| {
        let (agent, table) = (agent.clone(), table.to_owned());
        p.rt.spawn(async move {
            let drop =
                Action::tool_call("psql", "orders-db").of_type("drop_table").described(&format!("DROP TABLE {table}"));
            agent.act(&drop, async { Ok::<(), String>(()) }).await
        })
    };
    let t = p.console_sized(name, size, "");
    t.wait_for("DISK_FULL on svc-1");
    let first = ask("sessions_2019");
    t.wait_for("1 APPROVAL");
    let seen = p.webhook_until("incident.page", 1);
    t.keys(&[":"]);
    t.text("approvals");
    t.keys(&["Enter"]);
    let screen = t.wait_for("WAITING");
    assert!(screen.contains("schema-janitor") && screen.contains("drop_table"), "{screen}");
    t.keys(&["a"]);
    let dialog = t.wait_for("Confirm: approve approval #1");
    assert!(dialog.contains("DROP TABLE sessions_2019"), "the dialog says what it will do:\n{dialog}");
    t.text("planned, backup verified");
    t.keys(&["Tab"]);
    std::thread::sleep(GUARD);
    t.keys(&["C-y"]);
    t.wait_for("✓ approve approval #1");
    let ran = p.rt.block_on(first).unwrap();
    assert!(matches!(ran, Ok(Ok(()))), "approved, the action ran: {ran:?}");
    t.wait_until("the count gone", |s| !s.contains("1 APPROVAL"));

    let second = ask("sessions_2020");
    t.wait_for("WAITING");
    // The new request is listed first; the selection stays where it was.
    t.keys(&["Up"]);
    t.keys(&["d"]);
    t.wait_for("Confirm: deny approval #2");
    t.text("not during the freeze");
    t.keys(&["Tab"]);
    std::thread::sleep(GUARD);
    t.keys(&["C-y"]);
    t.wait_for("✓ deny approval #2");
    match p.rt.block_on(second).unwrap() {
        Err(r @ Refusal::Denied { .. }) => {
            assert!(r.to_string().ends_with("denied by alice (approval #2): not during the freeze"), "{r}")
        }
        other => panic!("denied, the action must not run: {other:?}"),
    }
    assert!(seen > 1, "the approver was paged");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    p.served.stop();
}

#[test]
fn approving_and_denying_from_the_console_at_80x24() {
    approve_and_deny_at((80, 24), "approving_and_denying_from_the_console_at_80x24");
}

#[test]
fn approving_and_denying_from_the_console_at_200x50() {
    approve_and_deny_at((200, 50), "approving_and_denying_from_the_console_at_200x50");
}

#[test]
fn resolving_and_reopening_from_the_console_at_80x24() {
    resolve_and_reopen_at((80, 24), "resolving_and_reopening_from_the_console_at_80x24");
}

#[test]
fn resolving_and_reopening_from_the_console_at_200x50() {
    resolve_and_reopen_at((200, 50), "resolving_and_reopening_from_the_console_at_200x50");
}

/// From the list, at 80×24: acknowledge, then escalate. The dialog names
/// the next level before anything is sent (read from the incident, as the
/// server will page it), and the next level's receiver gets the page
/// although the acknowledgement cancelled its timer.
#[test]
fn escalating_after_acknowledging_pages_the_next_level_as_the_preview_said() {
    if no_tmux("escalating_after_acknowledging_pages_the_next_level_as_the_preview_said") {
        return;
    }
    let p = PagingServer::start(
        "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\ntimeout = \"30m\"\nchannels = [\"webhook\"]\n\
         [[level]]\nname = \"secondary\"\ntargets = [\"@lead\"]\ntimeout = \"30m\"\nchannels = [\"webhook\"]\n\
         [[level]]\nname = \"management\"\ntargets = [\"@vp\"]\nchannels = [\"webhook\"]\n",
        |_| {},
    );
    let (rt, inbox) = (&p.rt, &p.inbox);
    let t = p.console("escalate", "");
    t.wait_for("DISK_FULL on svc-1");
    t.keys(&["a"]);
    t.wait_for("✓ acknowledge incident #1");
    let to_lead = |got: &[mandate::paging::inbox::Received]| got.iter().any(|r| r.body.contains("@lead"));
    let before = rt.block_on(inbox.accepted("webhook", 1, Duration::from_millis(200)));
    assert!(!to_lead(&before), "nobody paged the lead before the escalation");
    t.keys(&["e"]);
    let dialog = t.wait_for("Confirm: escalate incident #1");
    assert!(dialog.contains("page the next level now: secondary: @lead"), "the preview names the level:\n{dialog}");
    t.text("need the lead");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ escalate incident #1");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = rt.block_on(inbox.accepted("webhook", 1, Duration::from_millis(200)));
        if to_lead(&got) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the lead's receiver got no page: {got:#?}");
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    p.served.stop();
}

#[test]
fn a_server_with_no_receivers_is_said_to_wake_nobody() {
    if no_tmux("a_server_with_no_receivers_is_said_to_wake_nobody") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let token = common::create_token(tokens, "alice", "responder");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = common::serve_binary(&db, tokens, "127.0.0.1:0");
    let url = format!("http://{}", served.addr);
    let t = Tmux::start("nobody", (80, 24), &[("MANDATE_TOKEN", &token), ("MANDATE_API_URL", &url)], "");
    let shown = t.wait_for("no receivers — nobody is woken");
    assert!(shown.lines().next().unwrap().contains(" PAGING "), "{shown}");
    t.keys(&[":"]);
    t.text("agents");
    t.keys(&["Enter"]);
    let shown = t.wait_for("Agents");
    assert!(shown.lines().next().unwrap().contains(" PAGING "), "still said on another screen: {shown}");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    let log = served.log.lock().unwrap().join("\n");
    assert!(log.contains("no paging receivers"), "and the server said it at start:\n{log}");
    served.stop();
}

#[test]
fn an_unreachable_api_and_a_refused_token_are_said_never_shown_as_all_clear() {
    if no_tmux("an_unreachable_api_and_a_refused_token_are_said_never_shown_as_all_clear") {
        return;
    }
    let host = "mandate-api.payments.eu-west-1.prod.internal.example.com:7400";
    let t = Tmux::start(
        "offline",
        (80, 24),
        &[("MANDATE_TOKEN", "mdt_whatever"), ("MANDATE_API_URL", &format!("http://{host}"))],
        "",
    );
    let shown = t.wait_for("OFFLINE — incidents: unknown");
    let bar = shown.lines().next().unwrap();
    assert!(bar.contains(" OFFLINE "), "the chip is whole at 80 columns: {bar:?}");
    assert!(!shown.contains("no incidents") && !shown.contains("0 open"), "{shown}");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);

    // A real server that does not know the token.
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    common::create_token(tokens, "alice", "responder");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = common::serve_binary(&db, tokens, "127.0.0.1:0");
    let t = Tmux::start(
        "unauthorized",
        (80, 24),
        &[("MANDATE_TOKEN", "mdt_not_a_token_of_this_server"), ("MANDATE_API_URL", &format!("http://{}", served.addr))],
        "",
    );
    let shown = t.wait_for("UNAUTHORIZED — ");
    assert!(shown.lines().next().unwrap().contains(" UNAUTHORIZED "), "{shown}");
    assert!(shown.contains("MANDATE_TOKEN") && !shown.contains("no incidents"), "{shown}");
    // It says so and stops asking: no retry every 1.5 s.
    let refused = || served.log.lock().unwrap().iter().filter(|l| l.contains("\"status\":401")).count();
    let before = refused();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(refused(), before, "no more requests after the 401");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    served.stop();
}

#[test]
fn the_demo_walkthrough_at_80x24() {
    if no_tmux("the_demo_walkthrough_at_80x24") {
        return;
    }
    triage_walkthrough((80, 24));
}

#[test]
fn the_demo_walkthrough_at_120x40() {
    if no_tmux("the_demo_walkthrough_at_120x40") {
        return;
    }
    triage_walkthrough((120, 40));
}

#[test]
fn the_console_fails_over_to_the_next_server() {
    if no_tmux("the_console_fails_over_to_the_next_server") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let token = common::create_token(tokens, "alice", "responder");
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let mut first = common::serve_binary(&db("a.db"), tokens, "127.0.0.1:0");
    let second = common::serve_binary(&db("b.db"), tokens, "127.0.0.1:0");
    let urls = format!("http://{},http://{}", first.addr, second.addr);
    let t = Tmux::start("failover", (120, 30), &[("MANDATE_TOKEN", &token), ("MANDATE_API_URL", &urls)], "");
    let bar = |screen: &str| screen.lines().next().unwrap_or_default().to_owned();
    let shown = t.wait_for(" LIVE ");
    assert!(bar(&shown).contains(&first.addr), "on the first server: {}", bar(&shown));

    common::signal(&first.child, "KILL");
    first.child.wait().unwrap();
    let lost = Instant::now();
    let deadline = lost + Duration::from_secs(10);
    loop {
        let status = bar(&t.screen());
        if status.contains(&second.addr) && status.contains(" LIVE ") {
            println!("on the second server {:?} after the first was killed", lost.elapsed());
            break;
        }
        assert!(Instant::now() < deadline, "no failover within 10 s: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    second.stop();
}

#[test]
fn what_a_page_says_to_run_opens_the_incident() {
    if no_tmux("what_a_page_says_to_run_opens_the_incident") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let token = common::create_token(tokens, "alice", "responder");
    let agent = common::create_token(tokens, "fleet", "agent");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = common::serve_binary(&db, tokens, "127.0.0.1:0");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = mandate::sdk::http_client_builder().build().unwrap();
        for n in 0..2 {
            let mut failure = common::event_body(
                &format!("f{n}"),
                -1.0,
                &format!("agent-{n}"),
                "deploy",
                &format!("svc-{n}"),
                "error",
            );
            failure["error_code"] = ["DISK_FULL", "OOM_KILLED"][n].into();
            let r = http.post(format!("http://{}/api/v1/events", served.addr)).bearer_auth(&agent).json(&failure);
            assert_eq!(r.send().await.unwrap().status(), 200);
        }
    });
    let url = format!("http://{}", served.addr);
    let t = Tmux::start("open", (100, 30), &[("MANDATE_TOKEN", &token), ("MANDATE_API_URL", &url)], "--incident 2");
    // The title comes from the list first; the detail follows it.
    t.wait_for("#2 OOM_KILLED on svc-1 — detail 1/3");
    let shown = t.wait_for("Impact: svc-1");
    assert!(shown.contains("#2 OOM_KILLED on svc-1"), "the incident's detail, not the list: {shown}");
    t.keys(&["Escape"]);
    t.wait_for("Incidents: 2 open");
    // A number the server does not know is said so, not "loading" forever.
    t.keys(&[":"]);
    t.text("99");
    t.keys(&["Enter"]);
    t.wait_for("There is no incident #99 on this server (404)");
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    served.stop();
}

#[test]
fn no_color_means_no_colour_escape_sequences() {
    if no_tmux("no_color_means_no_colour_escape_sequences") {
        return;
    }
    let t = Tmux::start("nocolor", (100, 30), &[("NO_COLOR", "1")], "demo --speed 50");
    t.wait_for("CONFIG_INVALID");
    t.keys(&["Enter"]);
    t.wait_for("detail 1/3");
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

/// A VT100 (or `TERM=dumb`) is sent plain ASCII: no colour, no
/// box-drawing or marks beyond ASCII, no synchronized output or bracketed
/// paste; every byte the program wrote is checked, not tmux's rendering.
#[test]
fn a_vt100_gets_ascii_without_colour_or_private_modes() {
    if no_tmux("a_vt100_gets_ascii_without_colour_or_private_modes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("bytes");
    let t = Tmux::start_recorded("vt100", (80, 24), &[("TERM", "vt100")], "demo --speed 50", Some(&record));
    t.wait_for("CONFIG_INVALID");
    for k in ["Enter", "Enter", "b", "c", "Escape", "Escape", "Escape"] {
        t.keys(&[k]);
    }
    t.keys(&["?"]);
    t.wait_for("Keys");
    t.keys(&["Escape", "C-c"]);
    assert_eq!(t.exit_status(), 0);
    let bytes = std::fs::read(&record).unwrap();
    assert!(bytes.len() > 1000, "the program drew: {} bytes", bytes.len());
    if let Some(at) = bytes.iter().position(|b| !b.is_ascii()) {
        let around = String::from_utf8_lossy(&bytes[at.saturating_sub(40)..(at + 40).min(bytes.len())]).into_owned();
        panic!("a byte beyond ASCII at {at}: {around:?}");
    }
    let text = String::from_utf8(bytes).unwrap();
    for private in ["\u{1b}[?2026", "\u{1b}[?2004"] {
        assert!(!text.contains(private), "{private:?} sent to a VT100");
    }
    for sgr in text.split("\u{1b}[").skip(1) {
        let Some(params) =
            sgr.split_once('m').map(|(p, _)| p).filter(|p| p.chars().all(|c| c.is_ascii_digit() || c == ';'))
        else {
            continue;
        };
        for p in params.split(';') {
            let n: u32 = p.parse().unwrap_or(0);
            let colour = ((30..=48).contains(&n) && n != 39) || (90..=107).contains(&n);
            assert!(!colour, "a colour sent to a VT100: ESC[{params}m");
        }
    }
}

#[test]
fn signals_restore_the_terminal_with_the_conventional_status() {
    if no_tmux("signals_restore_the_terminal_with_the_conventional_status") {
        return;
    }
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
    if no_tmux("a_panic_restores_the_terminal_and_says_why") {
        return;
    }
    let t = Tmux::start("panic", (80, 24), &[("MANDATE_DEBUG_PANIC", "1"), ("RUST_BACKTRACE", "0")], "demo --speed 50");
    assert_eq!(t.exit_status(), 101, "a panic's status");
    t.assert_restored();
    assert!(t.screen().contains("panicking after the first frame"), "the message is readable after the restore");
}

#[test]
fn the_console_leaves_when_its_terminal_goes_away() {
    if no_tmux("the_console_leaves_when_its_terminal_goes_away") {
        return;
    }
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

/// Paging in the real terminal at 80×24: the incident shows who was paged
/// and the delivery that died with the receiver's words; `:notifications`
/// lists it, and R (confirmed) sends it again to a receiver that now works.
#[test]
fn paging_shows_who_was_paged_and_a_dead_delivery_is_retried() {
    if no_tmux("paging_shows_who_was_paged_and_a_dead_delivery_is_retried") {
        return;
    }
    use mandate::paging::inbox::Answer;
    let p = PagingServer::start(
        "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\ntimeout = \"30m\"\nchannels = [\"webhook\", \"slack\"]\n\
         [[level]]\nname = \"secondary\"\ntargets = [\"@lead\"]\nchannels = [\"webhook\"]\n",
        |inbox| inbox.script("slack", [Answer::Fail(404)]),
    );
    let (rt, inbox) = (&p.rt, &p.inbox);
    let t = p.console("paging", "--incident 1");
    let shown = t.wait_for("Paged: @oncall");
    assert!(shown.contains("next: @lead at"), "who is next, and when: {shown}");
    t.keys(&["Enter"]);
    t.wait_for("Paging (routing's defaults: people told)");
    let shown = t.wait_for("slack: HTTP 404: no_service");
    assert!(shown.contains("webhook ✓") && shown.contains("slack ✗ DEAD"), "{shown}");
    // A dead page is an alarm on every screen's status line.
    let bar = t.wait_for("1 page dead in the last day");
    assert!(bar.lines().next().unwrap().contains(" PAGING "), "{bar}");
    t.keys(&[":"]);
    t.text("notifications");
    t.keys(&["Enter"]);
    t.wait_for("1 dead");
    // Select the dead one.
    for _ in 0..4 {
        if t.screen().lines().any(|l| l.starts_with('▶') && l.contains("DEAD")) {
            break;
        }
        t.keys(&["Down"]);
    }
    t.keys(&["R"]);
    t.wait_for("Confirm: retry the notification to @oncall via slack");
    t.confirm_after(&["Tab"]);
    t.wait_for("✓ retry the notification");
    let slack = rt.block_on(inbox.accepted("slack", 1, Duration::from_secs(10)));
    assert_eq!(slack.len(), 1, "the retried page reached Slack");
    t.wait_for("0 dead");
    // Retried and delivered: the alarm goes.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while t.screen().contains(" PAGING ") {
        assert!(std::time::Instant::now() < deadline, "the alarm stays after the retry:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(150));
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), 0);
    t.assert_restored();
    p.served.stop();
}
