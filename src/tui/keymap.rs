//! Key bindings as data: `assets/keymap-default.toml`, embedded at compile time, maps keys to
//! [`Action`]s per layer. The same table drives input and the help overlay.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::action::Action;

const DEFAULT: &str = include_str!("assets/keymap-default.toml");

/// A keymap file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeymapError {
    #[error("the keymap is not valid TOML or names an unknown action: {0}")]
    Parse(String),
    #[error("unknown key `{key}` in layer {layer}")]
    UnknownKey { layer: &'static str, key: String },
    #[error("key `{key}` is bound twice in layer {layer}")]
    Duplicate { layer: &'static str, key: String },
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Every view, when nothing is being typed.
    Global,
    /// The timeline view only (checked before `Global`).
    Timeline,
    /// While a prompt or the SQL line is being edited.
    Input,
}

impl Layer {
    pub const ALL: [Self; 3] = [Self::Global, Self::Timeline, Self::Input];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Timeline => "timeline",
            Self::Input => "input",
        }
    }
}

/// A key as bindings name it: a code and whether Ctrl was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
}

impl Key {
    /// The key of a terminal key event. Shift is part of the character (`G`), so it is dropped.
    pub fn from_event(event: &KeyEvent) -> Self {
        Self {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }
}

/// One entry of the keymap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    keys: Vec<Key>,
    /// The keys as written in the file, for the help overlay.
    pub labels: Vec<String>,
    pub action: Action,
    pub desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    on: Vec<String>,
    run: Action,
    desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    global: Vec<Entry>,
    #[serde(default)]
    timeline: Vec<Entry>,
    #[serde(default)]
    input: Vec<Entry>,
}

/// All bindings, by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    global: Vec<Binding>,
    timeline: Vec<Binding>,
    input: Vec<Binding>,
}

/// What the investigator is doing, which decides the layers keys are looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Typing into a prompt or the SQL line.
    Editing,
    /// Moving around; `timeline` when the timeline view is shown.
    Browsing { timeline: bool },
}

impl Keymap {
    /// The built-in keymap.
    pub fn builtin() -> Result<Self, KeymapError> {
        Self::parse(DEFAULT)
    }

    /// Reads a keymap file.
    pub fn parse(text: &str) -> Result<Self, KeymapError> {
        let file: File = toml::from_str(text).map_err(|e| KeymapError::Parse(e.to_string()))?;
        Ok(Self {
            global: layer(Layer::Global, file.global)?,
            timeline: layer(Layer::Timeline, file.timeline)?,
            input: layer(Layer::Input, file.input)?,
        })
    }

    /// The bindings of one layer, in file order.
    pub fn bindings(&self, layer: Layer) -> &[Binding] {
        match layer {
            Layer::Global => &self.global,
            Layer::Timeline => &self.timeline,
            Layer::Input => &self.input,
        }
    }

    fn find(&self, layer: Layer, key: Key) -> Option<&Action> {
        self.bindings(layer)
            .iter()
            .find(|b| b.keys.contains(&key))
            .map(|b| &b.action)
    }

    /// The action for a key press in `mode`. While editing, an unbound printable character is
    /// typed.
    pub fn action(&self, mode: Mode, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        match mode {
            Mode::Editing => {
                let alt = event.modifiers.contains(KeyModifiers::ALT);
                self.find(Layer::Input, key).copied().or(match key {
                    Key {
                        code: KeyCode::Char(c),
                        ctrl: false,
                    } if !alt => Some(Action::Insert(c)),
                    _ => None,
                })
            }
            Mode::Browsing { timeline } => timeline
                .then(|| self.find(Layer::Timeline, key))
                .flatten()
                .or_else(|| self.find(Layer::Global, key))
                .copied(),
        }
    }
}

fn layer(which: Layer, entries: Vec<Entry>) -> Result<Vec<Binding>, KeymapError> {
    let mut out: Vec<Binding> = Vec::new();
    for entry in entries {
        let mut keys = Vec::new();
        for label in &entry.on {
            let key = parse_key(label).ok_or_else(|| KeymapError::UnknownKey {
                layer: which.name(),
                key: label.clone(),
            })?;
            if keys.contains(&key) || out.iter().any(|b| b.keys.contains(&key)) {
                return Err(KeymapError::Duplicate {
                    layer: which.name(),
                    key: label.clone(),
                });
            }
            keys.push(key);
        }
        out.push(Binding {
            keys,
            labels: entry.on,
            action: entry.run,
            desc: entry.desc,
        });
    }
    Ok(out)
}

/// Parses a key name of the keymap file.
fn parse_key(label: &str) -> Option<Key> {
    let (ctrl, name) = match label.strip_prefix("ctrl-") {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, label),
    };
    let code = match name {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "backspace" => KeyCode::Backspace,
        "space" => KeyCode::Char(' '),
        other => {
            let mut chars = other.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => KeyCode::Char(c),
                _ => return None,
            }
        }
    };
    Some(Key { code, ctrl })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_builtin_keymap_parses_without_duplicates() {
        let map = Keymap::builtin().expect("builtin keymap");
        for layer in Layer::ALL {
            assert!(!map.bindings(layer).is_empty(), "{}", layer.name());
        }
    }

    #[test]
    fn keys_resolve_by_layer_and_mode() {
        let map = Keymap::builtin().expect("builtin keymap");
        let browse = Mode::Browsing { timeline: true };
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.action(browse, &g), Some(Action::Bottom));
        let f = press(KeyCode::Char('f'), KeyModifiers::NONE);
        assert_eq!(map.action(browse, &f), Some(Action::Filter));
        assert_eq!(map.action(Mode::Browsing { timeline: false }, &f), None);
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.action(browse, &q), Some(Action::Quit));
        assert_eq!(map.action(Mode::Editing, &q), Some(Action::Insert('q')));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.action(Mode::Editing, &ctrl_c), Some(Action::Quit));
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(map.action(Mode::Editing, &enter), Some(Action::Submit));
    }

    #[test]
    fn bad_keymaps_are_refused_with_the_reason() {
        let dup = "[[global]]\non = [\"q\"]\nrun = \"quit\"\ndesc = \"x\"\n\
                   [[global]]\non = [\"q\"]\nrun = \"help\"\ndesc = \"y\"\n";
        assert!(matches!(
            Keymap::parse(dup),
            Err(KeymapError::Duplicate { .. })
        ));
        let unknown_key = "[[global]]\non = [\"hyper-q\"]\nrun = \"quit\"\ndesc = \"x\"\n";
        assert!(matches!(
            Keymap::parse(unknown_key),
            Err(KeymapError::UnknownKey { .. })
        ));
        let unknown_action = "[[global]]\non = [\"q\"]\nrun = \"explode\"\ndesc = \"x\"\n";
        assert!(matches!(
            Keymap::parse(unknown_action),
            Err(KeymapError::Parse(_))
        ));
    }
}
