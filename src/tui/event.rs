//! Everything the event loop waits for: terminal input and worker answers, on one channel.

use std::sync::mpsc::Sender;
use std::thread;

use super::worker::Response;

/// One thing that happened.
#[derive(Debug)]
pub enum Event {
    /// A key, mouse or resize event from the terminal.
    Term(crossterm::event::Event),
    /// A query finished on a worker.
    Worker(Response),
    /// Reading the terminal failed; the loop ends with this error.
    InputFailed(std::io::Error),
}

/// Starts the thread that reads the terminal and forwards its events. It ends when the
/// receiving side is gone (after the next terminal event) or when reading fails.
pub fn spawn_input(tx: Sender<Event>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("onus-tui-input".to_owned())
        .spawn(move || {
            loop {
                let event = match crossterm::event::read() {
                    Ok(e) => Event::Term(e),
                    Err(e) => {
                        let _ = tx.send(Event::InputFailed(e));
                        return;
                    }
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        })
        .map(drop)
}
