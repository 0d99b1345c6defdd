//! The event loop: one `select!` over key presses, poller results, a 1 s
//! tick and signals. The UI task owns the state; a frame is drawn only when
//! something visible changed, wrapped in synchronized output; the terminal
//! is restored on every way out, panics included (ratatui's hook).

use super::app::{Action, App, Effect, update_batch};
use super::config::ConsoleConfig;
use super::paste;
use super::poller::{Poller, Request};
use super::theme::Theme;
use super::view::render;
use chrono::Utc;
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event, EventStream};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// Why the console stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// SIGTERM or SIGHUP, or the terminal went away: the conventional
    /// exit status, 128 + the signal's number.
    Signal(u8),
}

pub async fn run(config: ConsoleConfig, api_url: String, token: super::config::Secret) -> std::io::Result<Exit> {
    let host = super::poller::servers(&api_url).first().map(|b| super::poller::host_of(b)).unwrap_or_default();
    let mut app = App::new(&host, config.environment.clone(), config.readonly, Utc::now());
    let mut theme = config.theme.clone();
    let keymap = config.keymap.clone();
    let (actions_tx, mut actions) = mpsc::channel::<Action>(64);
    let client = crate::sdk::http_client_trusting(config.ca_file.as_deref())
        .and_then(|b| b.build().map_err(crate::sdk::SdkError::from))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let requests = Poller::spawn_with(&api_url, token, client, actions_tx);
    if let Some(id) = config.incident {
        super::app::jump_to_incident(&mut app, id);
        let _ = requests.send(Request::Watch(app.watch()));
    }

    let caps = config.capabilities;
    let mut terminal = init(caps.modern)?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let (mut term, mut hup) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?)
    };
    // Frames are drawn once, off screen; the terminal is written only when
    // the new frame differs from the one it shows.
    let size = terminal.size()?;
    let mut screen = Screen { canvas: off_screen(size.width, size.height), shown: None, caps };
    screen.show(&mut terminal, &app, &theme, &keymap)?;
    // For the test that proves a panic leaves the terminal as it was found.
    if std::env::var_os("MANDATE_DEBUG_PANIC").is_some_and(|v| !v.is_empty()) {
        panic!("MANDATE_DEBUG_PANIC is set: panicking after the first frame");
    }
    let mut dirty = false;
    let exit = 'running: loop {
        if dirty {
            screen.show(&mut terminal, &app, &theme, &keymap)?;
            dirty = false;
        }
        #[cfg(unix)]
        let signalled = async {
            tokio::select! {
                _ = term.recv() => 143u8,
                _ = hup.recv() => 129u8,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<u8>();
        let batch = tokio::select! {
            event = events.next() => match event {
                Some(Ok(first)) => match together(&mut events, first).await {
                    Some(events) => paste::actions(events),
                    // The terminal is gone: leave at once rather than spin.
                    None => break Exit::Signal(129),
                },
                Some(Err(_)) | None => break Exit::Signal(129),
            },
            Some(action) = actions.recv() => vec![action],
            _ = tick.tick() => vec![Action::Tick(Utc::now())],
            status = signalled => break Exit::Signal(status),
        };
        if batch.iter().any(|a| matches!(a, Action::Resize)) {
            screen.shown = None;
        }
        let (changed, effects) = update_batch(&mut app, batch, &keymap);
        dirty |= changed;
        for effect in effects {
            match effect {
                Effect::Quit => break 'running Exit::Quit,
                Effect::Watch(id) => {
                    let _ = requests.send(Request::Watch(id));
                }
                Effect::Refresh => {
                    let _ = requests.send(Request::Refresh);
                }
                Effect::FetchDetail(id) => {
                    let _ = requests.send(Request::FetchDetail(id));
                }
                Effect::FetchPostmortem(id) => {
                    let _ = requests.send(Request::FetchPostmortem(id));
                }
                Effect::SavePostmortem(id, text) => {
                    let file = format!("incident-{id}-postmortem.md");
                    let written = std::fs::write(&file, &text);
                    let mut stdout = std::io::stdout();
                    stdout.write_all(super::clipboard::osc52(&text).as_bytes())?;
                    stdout.flush()?;
                    app.message = Some(match written {
                        Ok(()) => format!("postmortem draft of #{id} written to ./{file} and copied (OSC 52)"),
                        Err(e) => format!("postmortem draft of #{id} copied (OSC 52); ./{file} not written: {e}"),
                    });
                    dirty = true;
                }
                Effect::Send(intent) => {
                    let _ = requests.send(Request::Send(intent));
                }
                Effect::Copy(text) => {
                    let mut stdout = std::io::stdout();
                    stdout.write_all(super::clipboard::osc52(&text).as_bytes())?;
                    stdout.flush()?;
                }
                Effect::SetTheme(name) => {
                    let themes_dir = config.config_path.parent().map(|d| d.join("themes"));
                    match Theme::load(&name, themes_dir.as_deref()) {
                        Ok(t) => theme = t,
                        Err(e) => app.message = Some(e.to_string()),
                    }
                    dirty = true;
                }
            }
        }
    };
    restore()?;
    Ok(exit)
}

/// Raw mode, the alternate screen and bracketed paste (so a paste arrives as
/// text, not keys), undone on every way out, panics included.
/// A terminal without the private modes is sent none of them.
fn init(modern: bool) -> std::io::Result<ratatui::DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    if modern {
        execute!(std::io::stdout(), EnableBracketedPaste)?;
    }
    MODERN.store(modern, std::sync::atomic::Ordering::Relaxed);
    let restoring = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if MODERN.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = execute!(std::io::stdout(), DisableBracketedPaste);
        }
        restoring(info);
    }));
    Ok(terminal)
}

/// Whether the terminal was sent the private modes, so they are undone on
/// every way out (a panic's included) and never sent to one without them.
static MODERN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn restore() -> std::io::Result<()> {
    if MODERN.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = execute!(std::io::stdout(), DisableBracketedPaste);
    }
    ratatui::try_restore()
}

/// The frame on screen and the canvas the next one is drawn on.
struct Screen {
    canvas: Terminal<TestBackend>,
    shown: Option<Buffer>,
    caps: super::capabilities::Capabilities,
}

impl Screen {
    /// Draws the frame once, off screen, and writes it to the terminal only
    /// if it differs from what the terminal shows, in synchronized output.
    fn show<B: ratatui::backend::Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &App,
        theme: &Theme,
        keymap: &super::keymap::Keymap,
    ) -> std::io::Result<()>
    where
        B::Error: Into<std::io::Error>,
    {
        let size = terminal.size().map_err(Into::into)?;
        if self.canvas.backend().buffer().area.as_size() != size {
            self.canvas = off_screen(size.width, size.height);
            self.shown = None;
        }
        let unicode = self.caps.unicode;
        let Ok(_) = self.canvas.draw(|f| {
            render(app, theme, keymap, f);
            if !unicode {
                super::capabilities::asciify(f.buffer_mut());
            }
        });
        let frame = self.canvas.backend().buffer();
        if self.shown.as_ref() == Some(frame) {
            return Ok(());
        }
        let mut stdout = std::io::stdout();
        if self.caps.modern {
            execute!(stdout, BeginSynchronizedUpdate)?;
        }
        terminal.draw(|f| *f.buffer_mut() = frame.clone()).map_err(Into::into)?;
        if self.caps.modern {
            execute!(stdout, EndSynchronizedUpdate)?;
        }
        stdout.flush()?;
        self.shown = Some(frame.clone());
        Ok(())
    }
}

/// The events that arrived together with `first`: after a key press, every
/// event that follows within [`paste::BURST_GAP`] of the one before (see
/// `paste`). None: the terminal went away.
async fn together(events: &mut EventStream, first: Event) -> Option<Vec<Event>> {
    let mut batch = vec![first];
    if !matches!(batch[0], Event::Key(_)) {
        return Some(batch);
    }
    loop {
        match tokio::time::timeout(paste::BURST_GAP, events.next()).await {
            Ok(Some(Ok(event))) => batch.push(event),
            Ok(Some(Err(_)) | None) => return None,
            Err(_) => return Some(batch),
        }
    }
}

/// The process exit code for how the console ended; on an error the
/// terminal is restored before the message is printed.
pub fn exit_code(outcome: std::io::Result<Exit>) -> Result<std::process::ExitCode, String> {
    match outcome {
        Ok(Exit::Quit) => Ok(std::process::ExitCode::SUCCESS),
        Ok(Exit::Signal(status)) => Ok(std::process::ExitCode::from(status)),
        Err(e) => {
            let _ = restore();
            Err(format!("terminal error: {e}"))
        }
    }
}

/// An in-memory terminal to draw a frame before deciding to show it.
fn off_screen(width: u16, height: u16) -> Terminal<TestBackend> {
    match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(never) => match never {},
    }
}
