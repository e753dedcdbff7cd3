//! [`PathSwitch`]: which media path the call uses, while the server switches it make
//! before break (docs/protocol.md, "Topology: mesh or relayed").
//!
//! `Prepare(path)` builds the new path next to the one in use; the tiles keep showing
//! the old path's media until `Commit(path)` (no flicker, no double audio), then take
//! the new path's and the old one is closed. We are ready (`topology_ready`) once every
//! present remote participant's camera arrives on the new path, told once per switch.

use std::collections::BTreeSet;

use super::state::Topology;
use crate::ids::ParticipantId;

#[derive(Debug, Clone)]
pub struct PathSwitch {
    /// The committed path: the tiles show its media.
    shown: Topology,
    /// The path being built, until the server commits.
    preparing: Option<Topology>,
    ready_told: bool,
    /// Whose camera media is there, on each path.
    mesh_arrived: BTreeSet<ParticipantId>,
    relayed_arrived: BTreeSet<ParticipantId>,
}

impl Default for PathSwitch {
    fn default() -> Self {
        PathSwitch {
            shown: Topology::Mesh,
            preparing: None,
            ready_told: false,
            mesh_arrived: BTreeSet::new(),
            relayed_arrived: BTreeSet::new(),
        }
    }
}

impl PathSwitch {
    /// The path the tiles show.
    pub fn shown(&self) -> Topology {
        self.shown
    }

    /// The path being built while the shown one carries, if a switch is under way.
    pub fn preparing(&self) -> Option<Topology> {
        self.preparing
    }

    /// Whether `path` carries media now or is being built: its transport must exist.
    pub fn in_use(&self, path: Topology) -> bool {
        self.shown == path || self.preparing == Some(path)
    }

    /// The server asks to build `path` (a no-op for the one already shown).
    pub fn prepare(&mut self, path: Topology) {
        if path == self.shown {
            self.preparing = None;
            return;
        }
        if self.preparing != Some(path) {
            self.preparing = Some(path);
            self.ready_told = false;
        }
    }

    /// The server commits `path`: the tiles show it from now on. True if the shown path
    /// changed (the tiles must take its media, the old path closes).
    pub fn commit(&mut self, path: Topology) -> bool {
        self.preparing = None;
        self.ready_told = false;
        let changed = self.shown != path;
        self.shown = path;
        if changed {
            // The old path's transport is closed: nothing of it counts any more.
            self.arrived_mut(other(path)).clear();
        }
        changed
    }

    /// `participant`'s camera media arrived (`true`) or ended on `path`.
    pub fn camera(&mut self, path: Topology, participant: ParticipantId, present: bool) {
        let arrived = self.arrived_mut(path);
        if present {
            arrived.insert(participant);
        } else {
            arrived.remove(&participant);
        }
    }

    /// The path to tell the server we are ready on, once per switch: when the camera of
    /// every one of `present` (the remote participants shown) arrived on it.
    pub fn ready_due(
        &mut self,
        present: impl IntoIterator<Item = ParticipantId>,
    ) -> Option<Topology> {
        let path = self.preparing?;
        if self.ready_told {
            return None;
        }
        let arrived = self.arrived(path);
        if present.into_iter().all(|p| arrived.contains(&p)) {
            self.ready_told = true;
            return Some(path);
        }
        None
    }

    fn arrived(&self, path: Topology) -> &BTreeSet<ParticipantId> {
        match path {
            Topology::Mesh => &self.mesh_arrived,
            Topology::Relayed => &self.relayed_arrived,
        }
    }

    fn arrived_mut(&mut self, path: Topology) -> &mut BTreeSet<ParticipantId> {
        match path {
            Topology::Mesh => &mut self.mesh_arrived,
            Topology::Relayed => &mut self.relayed_arrived,
        }
    }
}

fn other(path: Topology) -> Topology {
    match path {
        Topology::Mesh => Topology::Relayed,
        Topology::Relayed => Topology::Mesh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> ParticipantId {
        ParticipantId::new(n)
    }

    #[test]
    fn starts_in_mesh_with_nothing_to_prepare() {
        let mut s = PathSwitch::default();
        assert_eq!(s.shown(), Topology::Mesh);
        assert!(s.in_use(Topology::Mesh) && !s.in_use(Topology::Relayed));
        assert_eq!(s.ready_due([p(2)]), None);
    }

    #[test]
    fn ready_once_every_present_camera_arrived_on_the_new_path() {
        let mut s = PathSwitch::default();
        s.camera(Topology::Mesh, p(2), true);
        s.camera(Topology::Mesh, p(3), true);
        s.prepare(Topology::Relayed);
        assert!(s.in_use(Topology::Mesh) && s.in_use(Topology::Relayed));
        assert_eq!(
            s.shown(),
            Topology::Mesh,
            "the old path shows until the commit"
        );
        s.camera(Topology::Relayed, p(2), true);
        assert_eq!(s.ready_due([p(2), p(3)]), None, "3 is not there yet");
        s.camera(Topology::Relayed, p(3), true);
        assert_eq!(s.ready_due([p(2), p(3)]), Some(Topology::Relayed));
        assert_eq!(s.ready_due([p(2), p(3)]), None, "told once");
    }

    #[test]
    fn a_participant_who_left_is_not_waited_for() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        s.camera(Topology::Relayed, p(2), true);
        assert_eq!(s.ready_due([p(2)]), Some(Topology::Relayed));
        // Alone: ready at once.
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        assert_eq!(s.ready_due([]), Some(Topology::Relayed));
    }

    #[test]
    fn commit_shows_the_new_path_and_forgets_the_old() {
        let mut s = PathSwitch::default();
        s.camera(Topology::Mesh, p(2), true);
        s.prepare(Topology::Relayed);
        assert!(s.commit(Topology::Relayed));
        assert_eq!(s.shown(), Topology::Relayed);
        assert!(!s.in_use(Topology::Mesh));
        assert!(
            !s.commit(Topology::Relayed),
            "a second commit changes nothing"
        );
        // Back: mesh media arriving again counts afresh.
        s.prepare(Topology::Mesh);
        assert_eq!(
            s.ready_due([p(2)]),
            None,
            "the old mesh camera was forgotten"
        );
        s.camera(Topology::Mesh, p(2), true);
        assert_eq!(s.ready_due([p(2)]), Some(Topology::Mesh));
        assert!(s.commit(Topology::Mesh));
        assert!(s.in_use(Topology::Mesh) && !s.in_use(Topology::Relayed));
    }

    #[test]
    fn a_newcomer_to_a_relayed_call_commits_without_waiting() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        assert!(s.commit(Topology::Relayed));
        assert_eq!(s.ready_due([p(2)]), None, "nothing being prepared");
    }

    #[test]
    fn preparing_the_shown_path_cancels_a_switch() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        s.prepare(Topology::Mesh);
        assert_eq!(s.preparing(), None);
        assert!(!s.in_use(Topology::Relayed));
    }

    #[test]
    fn a_camera_that_ended_is_waited_for_again() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        s.camera(Topology::Relayed, p(2), true);
        s.camera(Topology::Relayed, p(2), false);
        assert_eq!(s.ready_due([p(2)]), None);
    }
}
