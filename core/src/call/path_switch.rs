//! [`PathSwitch`]: which media path the call uses, while the server switches it make
//! before break (docs/protocol.md, "Topology: mesh or relayed").
//!
//! `Prepare(path)` builds the new path next to the one in use; the tiles keep showing
//! the old path's media until `Commit(path)` (no flicker, no double audio). We are
//! ready (`topology_ready`) once every present remote participant's camera flows on
//! the new path, told once per switch. The server also commits after a timeout, so at
//! the commit a participant's tiles take the new path's media only once its camera
//! flows there: until then (at most [`DRAIN_MAX`]) the old path stays open for them.

use super::state::Topology;
use crate::ids::ParticipantId;
use crate::time::{Millis, Time};
use crate::vec_map::VecSet;

/// The longest the old path stays open after a commit for cameras that do not flow
/// on the new one yet.
pub const DRAIN_MAX: Millis = Millis::from_secs(10);

#[derive(Debug, Clone)]
pub struct PathSwitch {
    /// The committed path: the tiles show its media.
    shown: Topology,
    /// The path being built, until the server commits.
    preparing: Option<Topology>,
    /// The path committed away from, still showing the cameras that do not flow on
    /// the shown path yet, until when.
    draining: Option<(Topology, Time)>,
    ready_told: bool,
    /// Whose camera media is there, on each path.
    mesh_arrived: VecSet<ParticipantId>,
    relayed_arrived: VecSet<ParticipantId>,
}

impl Default for PathSwitch {
    fn default() -> Self {
        PathSwitch {
            shown: Topology::Mesh,
            preparing: None,
            draining: None,
            ready_told: false,
            mesh_arrived: VecSet::new(),
            relayed_arrived: VecSet::new(),
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
        self.shown == path
            || self.preparing == Some(path)
            || self.draining.is_some_and(|(old, _)| old == path)
    }

    /// The path whose media `participant`'s tiles show: the committed one, or while
    /// the old one drains, the old one until its camera flows on the new.
    pub fn source_path(&self, participant: ParticipantId) -> Topology {
        match self.draining {
            Some((old, _)) if !self.arrived(self.shown).contains(&participant) => old,
            _ => self.shown,
        }
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

    /// The server commits `path` at `now`: the tiles show it from now on (those whose
    /// camera does not flow there yet once it does, see [`source_path`](Self::source_path)).
    pub fn commit(&mut self, now: Time, path: Topology) {
        self.preparing = None;
        self.ready_told = false;
        if self.shown != path {
            self.draining = Some((self.shown, now + DRAIN_MAX));
            self.shown = path;
        }
    }

    /// Ends the drain of the old path when every one of `present` flows on the shown
    /// path, or at [`DRAIN_MAX`]: true when the old path is to be closed now.
    pub fn drain_done(
        &mut self,
        now: Time,
        present: impl IntoIterator<Item = ParticipantId>,
    ) -> bool {
        let Some((old, until)) = self.draining else {
            return false;
        };
        let arrived = self.arrived(self.shown);
        if now < until && !present.into_iter().all(|p| arrived.contains(&p)) {
            return false;
        }
        self.draining = None;
        // Its transport closes: nothing of it counts any more.
        self.arrived_mut(old).clear();
        true
    }

    /// `participant`'s camera media flows (`true`) or not (any more) on `path`.
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

    fn arrived(&self, path: Topology) -> &VecSet<ParticipantId> {
        match path {
            Topology::Mesh => &self.mesh_arrived,
            Topology::Relayed => &self.relayed_arrived,
        }
    }

    fn arrived_mut(&mut self, path: Topology) -> &mut VecSet<ParticipantId> {
        match path {
            Topology::Mesh => &mut self.mesh_arrived,
            Topology::Relayed => &mut self.relayed_arrived,
        }
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

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn commit_shows_the_new_path_and_forgets_the_old() {
        let mut s = PathSwitch::default();
        s.camera(Topology::Mesh, p(2), true);
        s.prepare(Topology::Relayed);
        s.camera(Topology::Relayed, p(2), true);
        s.commit(t(0), Topology::Relayed);
        assert_eq!(s.shown(), Topology::Relayed);
        assert_eq!(s.source_path(p(2)), Topology::Relayed);
        assert!(s.drain_done(t(0), [p(2)]), "everyone flows on the new path");
        assert!(!s.in_use(Topology::Mesh));
        s.commit(t(100), Topology::Relayed);
        assert!(
            !s.drain_done(t(100), [p(2)]),
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
        s.commit(t(200), Topology::Mesh);
        assert!(s.drain_done(t(200), [p(2)]));
        assert!(s.in_use(Topology::Mesh) && !s.in_use(Topology::Relayed));
    }

    #[test]
    fn a_commit_before_a_camera_flows_keeps_the_old_path_for_it() {
        let mut s = PathSwitch::default();
        s.camera(Topology::Mesh, p(2), true);
        s.camera(Topology::Mesh, p(3), true);
        s.prepare(Topology::Relayed);
        s.camera(Topology::Relayed, p(2), true);
        // The server's timeout: 3 is not on the relayed path yet.
        s.commit(t(0), Topology::Relayed);
        assert_eq!(s.source_path(p(2)), Topology::Relayed);
        assert_eq!(
            s.source_path(p(3)),
            Topology::Mesh,
            "3's tiles keep the mesh"
        );
        assert!(s.in_use(Topology::Mesh));
        assert!(!s.drain_done(t(1_000), [p(2), p(3)]));
        s.camera(Topology::Relayed, p(3), true);
        assert_eq!(s.source_path(p(3)), Topology::Relayed);
        assert!(s.drain_done(t(1_100), [p(2), p(3)]));
        assert!(!s.in_use(Topology::Mesh));
    }

    #[test]
    fn the_old_path_closes_at_the_latest_after_drain_max() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        s.commit(t(0), Topology::Relayed);
        let end = t(0) + DRAIN_MAX;
        assert!(!s.drain_done(t(end.as_millis() - 1), [p(2)]));
        assert!(s.drain_done(end, [p(2)]));
        assert_eq!(s.source_path(p(2)), Topology::Relayed);
    }

    #[test]
    fn a_newcomer_to_a_relayed_call_commits_without_waiting() {
        let mut s = PathSwitch::default();
        s.prepare(Topology::Relayed);
        s.commit(t(0), Topology::Relayed);
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
