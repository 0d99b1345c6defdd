//! The event loop: one `select!` over key presses, poller results, a 1 s
//! tick and signals. The UI task owns the state; a frame is drawn only when
//! something visible changed, wrapped in synchronized output; the terminal
//! is restored on every way out, panics included (ratatui's hook).

use super::app::{Action, App, Effect, update};
use super::config::ConsoleConfig;
use super::poller::{Poller, Request};
use super::theme::Theme;
use super::view::render;
use chrono::Utc;
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
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
    let host = api_url.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/').to_owned();
    let mut app = App::new(&host, config.environment.clone(), config.readonly, Utc::now());
    let mut theme = config.theme.clone();
    let keymap = config.keymap.clone();
    let (actions_tx, mut actions) = mpsc::channel::<Action>(64);
    let requests = Poller::spawn(&api_url, token, actions_tx);

    let mut terminal = ratatui::try_init()?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let (mut term, mut hup) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?)
    };
    let mut dirty = true;
    // Frames are first drawn off screen; the terminal is written only when
    // the new frame differs from the one it shows.
    let size = terminal.size()?;
    let mut canvas = off_screen(size.width, size.height);
    let mut shown: Option<Buffer> = None;
    // For the test that proves a panic leaves the terminal as it was found.
    let forced_panic = std::env::var_os("MANDATE_DEBUG_PANIC").is_some_and(|v| !v.is_empty());
    let exit = loop {
        if dirty {
            let size = terminal.size()?;
            if canvas.backend().buffer().area.as_size() != size {
                canvas = off_screen(size.width, size.height);
                shown = None;
            }
            let Ok(_) = canvas.draw(|f| render(&app, &theme, &keymap, f));
            let frame = canvas.backend().buffer().clone();
            if shown.as_ref() != Some(&frame) {
                let mut stdout = std::io::stdout();
                execute!(stdout, BeginSynchronizedUpdate)?;
                terminal.draw(|f| render(&app, &theme, &keymap, f))?;
                execute!(stdout, EndSynchronizedUpdate)?;
                stdout.flush()?;
                shown = Some(frame);
            }
            dirty = false;
            if forced_panic {
                panic!("MANDATE_DEBUG_PANIC is set: panicking after the first frame");
            }
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
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Action::Key(key),
                Some(Ok(Event::Resize(..))) => Action::Resize,
                Some(Ok(_)) => continue,
                // The terminal is gone: leave at once rather than spin.
                Some(Err(_)) | None => break Exit::Signal(129),
            },
            Some(action) = actions.recv() => action,
            _ = tick.tick() => Action::Tick(Utc::now()),
            status = signalled => break Exit::Signal(status),
        };
        if matches!(action, Action::Resize) {
            shown = None;
        }
        let (changed, effects) = update(&mut app, action, &keymap);
        dirty |= changed;
        let mut quit = false;
        for effect in effects {
            match effect {
                Effect::Quit => quit = true,
                Effect::Watch(id) => {
                    let _ = requests.send(Request::Watch(id));
                }
                Effect::Refresh => {
                    let _ = requests.send(Request::Refresh);
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
        if quit {
            break Exit::Quit;
        }
    };
    ratatui::try_restore()?;
    Ok(exit)
}

/// The process exit code for how the console ended; on an error the
/// terminal is restored before the message is printed.
pub fn exit_code(outcome: std::io::Result<Exit>) -> Result<std::process::ExitCode, String> {
    match outcome {
        Ok(Exit::Quit) => Ok(std::process::ExitCode::SUCCESS),
        Ok(Exit::Signal(status)) => Ok(std::process::ExitCode::from(status)),
        Err(e) => {
            let _ = ratatui::try_restore();
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
