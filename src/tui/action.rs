//! What can happen in the TUI. Keys map to actions through the keymap; actions are the only
//! input of [`crate::tui::app::App::update`].

use serde::Deserialize;

/// One thing the investigator asked for. Unit variants are named in the keymap file by their
/// snake-case name (`next_drift`); the others are produced by the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    ViewTimeline,
    ViewDetail,
    ViewGraph,
    ViewFindings,
    ViewAccountability,
    ViewSql,
    NextView,
    PrevView,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    Back,
    NextDrift,
    PrevDrift,
    ToggleBookmark,
    NextBookmark,
    PrevBookmark,
    Search,
    NextHit,
    PrevHit,
    Filter,
    ClearFilter,
    FilterTask,
    FilterActor,
    Submit,
    Cancel,
    HistoryPrev,
    HistoryNext,
    DeleteChar,
    ClearLine,
    /// A character typed into a prompt or the SQL line.
    #[serde(skip)]
    Insert(char),
    /// The mouse wheel moved this many lines (negative is up).
    #[serde(skip)]
    Scroll(i16),
    /// The terminal now has this many columns and rows.
    #[serde(skip)]
    Resize(u16, u16),
}
