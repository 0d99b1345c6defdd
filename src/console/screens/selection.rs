//! The selected row of a list, held by the row's key: it stays on its item
//! as the list refreshes, filters or sorts, and falls back to the first row
//! when the item is gone. Every list screen selects this way.

use super::{PAGE, Step};
use crate::console::keymap::KeyAction;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection<K>(Option<K>);

impl<K> Default for Selection<K> {
    fn default() -> Self {
        Selection(None)
    }
}

impl<K: PartialEq + Clone> Selection<K> {
    /// Selects the item with `key`.
    pub fn on(key: K) -> Selection<K> {
        Selection(Some(key))
    }

    /// The key last selected, whether or not it is still listed.
    pub fn key(&self) -> Option<&K> {
        self.0.as_ref()
    }

    /// The selected row among `keys`: its item's, or the first.
    pub fn row<'a>(&self, keys: impl IntoIterator<Item = &'a K>) -> Option<usize>
    where
        K: 'a,
    {
        let mut first = None;
        for (n, k) in keys.into_iter().enumerate() {
            if Some(k) == self.0.as_ref() {
                return Some(n);
            }
            first.get_or_insert(n);
        }
        first
    }

    /// Holds on to the item shown selected now that the list is `keys`: its
    /// own when still listed, else the first.
    pub fn settle<'a>(&mut self, keys: impl IntoIterator<Item = &'a K> + Clone)
    where
        K: 'a,
    {
        let row = self.row(keys.clone());
        self.0 = row.and_then(|n| keys.into_iter().nth(n)).cloned();
    }

    /// Like [`Selection::settle`], but when the item is gone the row it was on
    /// (`was`, or the last) is selected, not the first: a list read from
    /// the top keeps its reader's place.
    pub fn settle_at(&mut self, keys: &[K], was: usize) {
        if !keys.iter().any(|k| Some(k) == self.0.as_ref()) {
            self.0 = keys.get(was.min(keys.len().saturating_sub(1))).cloned();
        }
    }

    /// A movement key (up, down, page, top, bottom) over `keys`; any other
    /// key is not the selection's.
    pub fn on_key(&mut self, action: KeyAction, keys: &[K]) -> Step {
        let Some(row) = moved(self.row(keys).unwrap_or(0), keys.len(), action) else { return Step::Unhandled };
        if let Some(key) = keys.get(row) {
            self.0 = Some(key.clone());
        }
        Step::Stay
    }
}

/// The row `action` moves a selection at `at` in `len` rows to.
pub(crate) fn moved(at: usize, len: usize, action: KeyAction) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match action {
        KeyAction::Up => at.saturating_sub(1),
        KeyAction::Down => (at + 1).min(last),
        KeyAction::PageUp => at.saturating_sub(PAGE as usize),
        KeyAction::PageDown => (at + PAGE as usize).min(last),
        KeyAction::Top => 0,
        KeyAction::Bottom => last,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_on_its_item_and_falls_back_to_the_first() {
        let mut s = Selection::on("b");
        assert_eq!(s.row(&["a", "b", "c"]), Some(1));
        s.settle(&["c", "b"]);
        assert_eq!(s.key(), Some(&"b"));
        s.settle(&["x", "y"]);
        assert_eq!(s.key(), Some(&"x"), "gone: the first");
        assert!(matches!(s.on_key(KeyAction::Down, &["x", "y"]), Step::Stay));
        assert_eq!(s.key(), Some(&"y"));
        assert!(matches!(s.on_key(KeyAction::Open, &["x", "y"]), Step::Unhandled));
        let mut s = Selection::on("c");
        s.settle_at(&["a", "b"], 5);
        assert_eq!(s.key(), Some(&"b"), "gone: the row it was on, or the last");
        let mut empty: Selection<&str> = Selection::default();
        empty.settle(&[]);
        assert_eq!((empty.key(), empty.row(&[])), (None, None));
    }
}
