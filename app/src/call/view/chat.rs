//! The chat as the UI shows it: messages since we joined, whether the panel is open,
//! and how many arrived while it was closed.

use leptos::prelude::*;
use nonstop_core::ParticipantId;

/// One chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    /// Order of arrival, unique within the call: the key of the list.
    pub seq: u64,
    pub from: ParticipantId,
    pub name: String,
    pub local: bool,
    pub text: String,
    /// The sender's clock, Unix milliseconds.
    pub sent_at: u64,
}

/// Most messages kept; older ones scroll away for good.
const KEEP: usize = 500;

#[derive(Clone, Copy)]
pub struct ChatView {
    pub lines: RwSignal<Vec<ChatLine>>,
    pub open: RwSignal<bool>,
    /// Messages from others that arrived while the panel was closed.
    pub unread: RwSignal<usize>,
    next_seq: StoredValue<u64>,
}

impl ChatView {
    pub fn new() -> Self {
        Self {
            lines: RwSignal::new(Vec::new()),
            open: RwSignal::new(false),
            unread: RwSignal::new(0),
            next_seq: StoredValue::new(0),
        }
    }

    pub fn push(&self, from: ParticipantId, name: String, local: bool, text: String, sent_at: u64) {
        let seq = self.next_seq.get_value();
        self.next_seq.set_value(seq + 1);
        self.lines.update(|l| {
            l.push(ChatLine {
                seq,
                from,
                name,
                local,
                text,
                sent_at,
            });
            if l.len() > KEEP {
                l.remove(0);
            }
        });
        if !local && !self.open.get_untracked() {
            self.unread.update(|u| *u += 1);
        }
    }

    pub fn set_open(&self, open: bool) {
        self.open.set(open);
        if open {
            self.unread.set(0);
        }
    }

    pub fn clear(&self) {
        self.lines.set(Vec::new());
        self.unread.set(0);
    }
}
