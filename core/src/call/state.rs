//! [`CallState`]: one call as the local participant sees it. The roster and each
//! remote participant's sources, the topology, every link's recovery and tile state,
//! the reconcile after a resume, and whether an interrupted participant is gone.

use super::link_state::{decide_link_state, LinkFacts, LinkState};
use super::path_switch::PathSwitch;
use super::relayed_retry::RelayedRetry;
use super::silent_link::SilentLink;
use super::vanish::{Inbound, VanishWatch, Verdict};
use crate::ids::ParticipantId;
use crate::negotiation::Role;
use crate::protocol::{MediaState, Participant, TopologyMode};
use crate::recovery::{InboundWatch, LinkCondition, LinkRecovery, RecoveryAction, RecoveryConfig};
use crate::time::{Millis, Time};
use crate::vec_map::VecMap;

/// How long, after our resume into a restarted server, a participant it did not list
/// stays while our link to it is still being made (it is told `joined` once it is
/// back). Clients told `going_away` come back within 15 s; a crash takes them a few
/// seconds more to notice.
pub const UNCONFIRMED_PATIENCE: Millis = Millis::from_secs(30);

/// How media travels between the participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topology {
    /// One peer connection per remote participant.
    Mesh,
    /// Through the call's SFU room: one upload, one connection receiving everyone.
    Relayed,
}

impl From<TopologyMode> for Topology {
    fn from(mode: TopologyMode) -> Self {
        match mode {
            TopologyMode::Mesh => Topology::Mesh,
            TopologyMode::Relayed => Topology::Relayed,
        }
    }
}

impl From<Topology> for TopologyMode {
    fn from(path: Topology) -> Self {
        match path {
            Topology::Mesh => TopologyMode::Mesh,
            Topology::Relayed => TopologyMode::Relayed,
        }
    }
}

/// One video source in the call: whose camera or screen. The layout's tile id, since
/// every source has its tile.
pub use crate::layout::TileId as SourceKey;
/// What a participant sends a video of.
pub use crate::layout::TileKind as SourceKind;

/// Whether a remote participant is there, as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    Present,
    /// The server said its signaling socket ended; its link still shows it alive (or
    /// that is not known yet). Still shown.
    SignalingLost,
    /// Its signaling ended and its link went quiet: most likely its browser is gone.
    /// Not shown; the link is kept (parked) in case it comes `back`, until it has
    /// `left`. Anything arriving on the link again makes it
    /// [`SignalingLost`](Presence::SignalingLost) (shown): only a live browser sends.
    Vanished,
}

/// A remote participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: ParticipantId,
    pub name: String,
    pub media: MediaState,
    /// Sharing a screen.
    pub screen: bool,
    pub presence: Presence,
    /// Its link's state, as its tiles show it.
    pub link: LinkState,
}

/// One tile of the stage, in display order from [`CallState::tiles`].
#[derive(Debug, Clone, PartialEq)]
pub struct TileModel {
    pub key: SourceKey,
    pub name: String,
    /// Ours.
    pub local: bool,
    pub media: MediaState,
    /// Always [`LinkState::Connected`] for our own tiles.
    pub link: LinkState,
}

/// One reading of a link, from its peer connection's state and `getStats()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkObservation {
    /// `connectionState`; `None` once closed.
    pub condition: Option<LinkCondition>,
    /// Inbound RTP packets received, all kinds together (a counter).
    pub packets_received: Option<u64>,
    /// Bytes received on the link's transport, RTCP included (a counter).
    pub bytes_received: Option<u64>,
}

/// What the app should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEffect {
    /// Restart ICE on the link to `peer`; first switch it to the relay only if
    /// `relay_only` (once switched, it stays so).
    RestartIce {
        peer: ParticipantId,
        relay_only: bool,
    },
    /// Read this participant's link now and pass it to [`CallState::observe_link`]: an
    /// interruption is being judged.
    SampleNow(ParticipantId),
    /// Build our path to the SFU again (it broke while the call uses it), then tell
    /// [`CallState::relayed_path_built`] or, if it cannot be made,
    /// [`CallState::relayed_path_lost`].
    RebuildRelayed,
    /// Make the mesh link to `peer` anew, offering: it connected but nothing ever
    /// arrived on it (see `silent_link.rs`).
    Renew(ParticipantId),
    /// Make the mesh link to `peer` anew, offering, unless its offer was answered:
    /// the offer went out while `peer` was not in the room yet (on its way back to a
    /// restarted server), so the server could not pass it on.
    Reoffer(ParticipantId),
    /// Something worth a line in the console.
    Log(String),
}

#[derive(Debug, Clone)]
struct Remote {
    member: Member,
    recovery: LinkRecovery,
    stall: InboundWatch,
    stalled: bool,
    /// The last connection state read; a new link is connecting.
    condition: Option<LinkCondition>,
    ever_connected: bool,
    inbound: Inbound,
    /// While [`Presence::SignalingLost`] or [`Presence::Vanished`].
    watch: Option<VanishWatch>,
    /// Kept after a resume into a restarted server that did not list it: dropped once
    /// its link stops working, unless it comes back first.
    unconfirmed: bool,
    /// Confirmed after being unconfirmed, while we offer on its link: the offer is
    /// to be made again then ([`CallEffect::Reoffer`]).
    reoffer_at: Option<Time>,
    silent: SilentLink,
}

impl Remote {
    fn facts(&self) -> LinkFacts {
        LinkFacts {
            condition: self.condition,
            recovering: self.recovery.recovering(),
            gave_up: self.recovery.gave_up(),
            stalled: self.stalled,
            ever_connected: self.ever_connected,
        }
    }

    fn refresh_link(&mut self) {
        self.member.link = decide_link_state(&self.facts());
    }

    /// Unconfirmed, and its link broke; or still not connected once `patience_over`.
    /// A link still connecting is new (built for the path the restarted server told
    /// us), not broken: the participant's media may flow on the old path meanwhile.
    fn unconfirmed_and_broken(&self, patience_over: bool) -> bool {
        self.unconfirmed
            && match self.condition {
                Some(LinkCondition::Connected) => false,
                Some(LinkCondition::Connecting) => patience_over,
                _ => true,
            }
    }

    /// A closed or failed link while its signaling is gone: nobody will restart it.
    fn link_dead(&self) -> bool {
        matches!(self.condition, None | Some(LinkCondition::Failed))
    }

    fn set_present(&mut self, p: Participant) {
        self.member.name = p.name;
        self.member.media = p.media;
        self.member.presence = Presence::Present;
        self.watch = None;
        self.unconfirmed = false;
    }

    fn vanish(&mut self, why: &str, effects: &mut Vec<CallEffect>) {
        if self.member.presence != Presence::Vanished {
            self.member.presence = Presence::Vanished;
            effects.push(CallEffect::Log(format!(
                "peer {}: gone ({why}); hidden, link parked",
                self.member.id
            )));
        }
    }
}

/// The call's state machine. Feed it the server's roster messages and each link's
/// readings; read the members, tiles and wanted links after any input; perform the
/// returned [`CallEffect`]s; call [`poll`](Self::poll) at
/// [`next_deadline`](Self::next_deadline).
///
/// Deterministic: time is passed in, randomness comes from the seed.
#[derive(Debug, Clone)]
pub struct CallState {
    me: ParticipantId,
    my_name: String,
    my_media: MediaState,
    my_screen: bool,
    relay_available: bool,
    seed: u64,
    path: PathSwitch,
    remotes: VecMap<ParticipantId, Remote>,
    /// After a resume into a restarted server: when to drop the unconfirmed members
    /// whose link does not work (at the next poll, so that it is logged).
    reconcile_due: Option<Time>,
    /// After a resume into a restarted server: when to drop the unconfirmed members
    /// whose link is still not connected.
    patience_ends: Option<Time>,
    relayed_retry: RelayedRetry,
}

impl CallState {
    /// `relay_available`: TURN servers are configured (recovery may go relay-only).
    /// `seed`: for the recovery backoffs' jitter.
    pub fn new(
        me: ParticipantId,
        my_name: String,
        my_media: MediaState,
        relay_available: bool,
        seed: u64,
    ) -> Self {
        CallState {
            me,
            my_name,
            my_media,
            my_screen: false,
            relay_available,
            seed,
            path: PathSwitch::default(),
            remotes: VecMap::new(),
            reconcile_due: None,
            patience_ends: None,
            relayed_retry: RelayedRetry::new(seed),
        }
    }

    pub fn me(&self) -> ParticipantId {
        self.me
    }

    /// The path the tiles show (see [`PathSwitch`]).
    pub fn topology(&self) -> Topology {
        self.path.shown()
    }

    /// Whether `path`'s transport must exist: it carries media or is being built.
    pub fn uses(&self, path: Topology) -> bool {
        self.path.in_use(path)
    }

    /// The server's `topology` `Prepare`: build `path` next to the one shown.
    pub fn prepare_topology(&mut self, path: Topology) {
        self.path.prepare(path);
    }

    /// The server's `topology` `Commit` at `now`: the tiles take `path`'s media, each
    /// participant's once its camera flows there ([`source_path`](Self::source_path)).
    pub fn commit_topology(&mut self, now: Time, path: Topology) {
        self.path.commit(now, path);
    }

    /// The path whose media `participant`'s tiles show now.
    pub fn source_path(&self, participant: ParticipantId) -> Topology {
        self.path.source_path(participant)
    }

    /// True when the path committed away from is to be closed now: every shown
    /// camera flows on the new one, or it drained long enough.
    pub fn drain_done(&mut self, now: Time) -> bool {
        let shown: Vec<ParticipantId> = self.shown_remotes().collect();
        self.path.drain_done(now, shown)
    }

    fn shown_remotes(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.remotes
            .values()
            .filter(|r| r.member.presence != Presence::Vanished)
            .map(|r| r.member.id)
    }

    /// A remote source's media flows (`true`) or not on `path`.
    pub fn remote_media(&mut self, path: Topology, source: SourceKey, present: bool) {
        if source.kind == SourceKind::Camera {
            self.path.camera(path, source.participant, present);
        }
    }

    /// The path to send `topology_ready` for, once per switch: every shown remote
    /// participant's camera arrived on the path being built.
    pub fn ready_due(&mut self) -> Option<Topology> {
        let shown: Vec<ParticipantId> = self.shown_remotes().collect();
        self.path.ready_due(shown)
    }

    /// Someone joined (or is listed in a welcome). Someone already known is confirmed
    /// and present, with this name and media.
    pub fn joined(&mut self, now: Time, p: Participant) {
        if p.id == self.me {
            return;
        }
        let initiator = Role::between(self.me, p.id).initiator;
        if let Some(remote) = self.remotes.get_mut(&p.id) {
            // After a restart, an unconfirmed participant is not in the server's room:
            // what we sent it meanwhile was refused.
            if remote.unconfirmed && initiator {
                remote.reoffer_at = Some(now);
            }
            remote.set_present(p);
            return;
        }
        // Distinct per link, so that two links' retries spread too.
        let seed = self.seed ^ p.id.get().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut remote = Remote {
            member: Member {
                id: p.id,
                name: p.name,
                media: p.media,
                screen: false,
                presence: Presence::Present,
                link: LinkState::Connecting,
            },
            recovery: LinkRecovery::new(
                RecoveryConfig::default(),
                initiator,
                self.relay_available,
                seed,
            ),
            stall: InboundWatch::default(),
            stalled: false,
            condition: Some(LinkCondition::Connecting),
            ever_connected: false,
            inbound: Inbound::default(),
            watch: None,
            unconfirmed: false,
            reoffer_at: None,
            silent: SilentLink::default(),
        };
        remote.refresh_link();
        self.remotes.insert(p.id, remote);
    }

    /// Someone left (or its seat expired): its tiles and link go.
    pub fn left(&mut self, id: ParticipantId) {
        self.remotes.remove(&id);
    }

    /// A participant's microphone/camera state changed (ours too, `id == me`).
    pub fn media_changed(&mut self, id: ParticipantId, media: MediaState) {
        if id == self.me {
            self.my_media = media;
        } else if let Some(remote) = self.remotes.get_mut(&id) {
            remote.member.media = media;
        }
    }

    pub fn set_my_media(&mut self, media: MediaState) {
        self.my_media = media;
    }

    /// A participant started or stopped sharing a screen (ours too, `id == me`).
    pub fn set_screen(&mut self, id: ParticipantId, sharing: bool) {
        if id == self.me {
            self.my_screen = sharing;
        } else if let Some(remote) = self.remotes.get_mut(&id) {
            remote.member.screen = sharing;
        }
    }

    /// The server says `id`'s signaling socket ended without a `leave`. Whether it is
    /// gone is judged from our link to it (see `vanish.rs`): this asks for a sample now
    /// and, through [`poll`](Self::poll), about [`super::PACKET_WINDOW`] later.
    pub fn interrupted(&mut self, now: Time, id: ParticipantId) -> Vec<CallEffect> {
        let mut effects = Vec::new();
        let Some(remote) = self.remotes.get_mut(&id) else {
            return effects;
        };
        if remote.member.presence != Presence::Present {
            return effects;
        }
        remote.member.presence = Presence::SignalingLost;
        remote.watch = Some(VanishWatch::new(now));
        if remote.link_dead() {
            remote.vanish("its link is down too", &mut effects);
        } else {
            effects.push(CallEffect::SampleNow(id));
        }
        effects
    }

    /// The participant resumed its session: present again, on the same link.
    pub fn back(&mut self, now: Time, p: Participant) {
        self.joined(now, p);
    }

    /// After our own signaling resumed: the room as the server sees it (we excluded or
    /// not). `continued`: the server kept running, so whoever is not listed left
    /// meanwhile. Otherwise the server restarted and forgot who was there: whoever is
    /// not listed is kept while its link works, dropped as soon as it does not
    /// (maybe it is still on its way back), and confirmed by a later `joined`/`back`.
    pub fn resumed(&mut self, now: Time, participants: Vec<Participant>, continued: bool) {
        let listed: Vec<ParticipantId> = participants.iter().map(|p| p.id).collect();
        for p in participants {
            self.joined(now, p);
        }
        if continued {
            self.remotes.retain(|id, _| listed.contains(id));
        } else {
            for (id, remote) in &mut self.remotes {
                remote.unconfirmed |= !listed.contains(id);
            }
            self.reconcile_due = Some(now);
            self.patience_ends = Some(now + UNCONFIRMED_PATIENCE);
        }
    }

    /// Whether TURN servers are configured now (fresh ICE servers arrived).
    pub fn set_relay_available(&mut self, available: bool) {
        self.relay_available = available;
        for remote in self.remotes.values_mut() {
            remote.recovery.set_relay_available(available);
        }
    }

    /// A reading of the link to `id` (from the one stats sampler of its peer
    /// connection, or answering [`CallEffect::SampleNow`]); `now` is when the stats were
    /// read (when `getStats()` resolved), since the vanish decision compares readings
    /// a few hundred milliseconds apart.
    pub fn observe_link(
        &mut self,
        now: Time,
        id: ParticipantId,
        obs: LinkObservation,
    ) -> Vec<CallEffect> {
        let mut effects = Vec::new();
        let Some(remote) = self.remotes.get_mut(&id) else {
            return effects;
        };
        remote.condition = obs.condition;
        if let Some(condition) = obs.condition {
            remote.ever_connected |= condition == LinkCondition::Connected;
            remote.recovery.on_state(now, condition);
        }
        if let Some(packets) = obs.packets_received {
            remote.stalled = remote.stall.observe(now, packets);
        }
        remote.inbound.packets.observe(now, obs.packets_received);
        remote.inbound.bytes.observe(now, obs.bytes_received);
        // Only a mesh link: on the relayed path the readings are the SFU's connection.
        let media = remote.member.media;
        if self.path.shown() == Topology::Mesh
            && self.path.preparing().is_none()
            && remote.member.presence == Presence::Present
            && remote.silent.observe(
                now,
                obs.condition == Some(LinkCondition::Connected),
                obs.packets_received,
                media.audio || media.video,
                Role::between(self.me, id).initiator,
            )
        {
            remote.silent.renewed();
            effects.push(CallEffect::Renew(id));
        }
        if remote.unconfirmed_and_broken(false) {
            self.drop_unconfirmed(id, &mut effects);
            return effects;
        }
        if let Some(watch) = &mut remote.watch {
            let verdict = watch.observe(
                now,
                obs.packets_received,
                obs.bytes_received,
                &remote.inbound,
            );
            match verdict {
                _ if remote.link_dead() => remote.vanish("its link is down too", &mut effects),
                Verdict::Gone => remote.vanish("nothing arrives on its link", &mut effects),
                Verdict::Alive if remote.member.presence == Presence::Vanished => {
                    // Only a live browser sends: it lost its signaling, nothing more.
                    remote.member.presence = Presence::SignalingLost;
                    effects.push(CallEffect::Log(format!(
                        "peer {id}: media arrives again; shown"
                    )));
                }
                Verdict::Alive | Verdict::Unsure => {}
            }
        }
        drive(remote, now, &mut effects);
        effects
    }

    /// Our path to the SFU broke, or could not be made again, at `now`.
    pub fn relayed_path_lost(&mut self, now: Time) {
        self.relayed_retry.lost(now);
    }

    /// Our path to the SFU was made again at `now`.
    pub fn relayed_path_built(&mut self, now: Time) {
        self.relayed_retry.built(now);
    }

    /// What is due at `now`: ICE restarts, offers made again, samples to judge
    /// interruptions, and rebuilding our path to the SFU.
    pub fn poll(&mut self, now: Time) -> Vec<CallEffect> {
        let mut effects = Vec::new();
        if self
            .relayed_retry
            .poll(now, self.path.in_use(Topology::Relayed))
        {
            effects.push(CallEffect::RebuildRelayed);
        }
        let patience_over = self.patience_ends.take_if(|due| *due <= now).is_some();
        if self.reconcile_due.take_if(|due| *due <= now).is_some() || patience_over {
            let broken: Vec<ParticipantId> = self
                .remotes
                .iter()
                .filter(|(_, r)| r.unconfirmed_and_broken(patience_over))
                .map(|(id, _)| *id)
                .collect();
            for id in broken {
                self.drop_unconfirmed(id, &mut effects);
            }
        }
        let mesh = self.path.in_use(Topology::Mesh);
        for remote in self.remotes.values_mut() {
            if remote.reoffer_at.take_if(|at| *at <= now).is_some() && mesh {
                effects.push(CallEffect::Reoffer(remote.member.id));
            }
            remote.stalled = remote.stall.stalled(now);
            if let Some(watch) = &mut remote.watch {
                if remote.member.presence == Presence::SignalingLost
                    && watch.sample_due().is_some_and(|due| due <= now)
                {
                    watch.asked(now);
                    effects.push(CallEffect::SampleNow(remote.member.id));
                }
            }
            drive(remote, now, &mut effects);
        }
        effects
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub fn next_deadline(&self) -> Option<Time> {
        self.remotes
            .values()
            .filter_map(|remote| match remote.member.presence {
                Presence::Present => remote.recovery.next_deadline(),
                Presence::SignalingLost => remote.watch.as_ref().and_then(VanishWatch::sample_due),
                Presence::Vanished => None,
            })
            .chain(self.remotes.values().filter_map(|r| r.reoffer_at))
            .chain(self.reconcile_due)
            .chain(self.patience_ends)
            .chain(self.relayed_retry.due())
            .min()
    }

    fn drop_unconfirmed(&mut self, id: ParticipantId, effects: &mut Vec<CallEffect>) {
        self.remotes.remove(&id);
        effects.push(CallEffect::Log(format!(
            "peer {id}: not back since the server restarted, and its link stopped working; dropping it"
        )));
    }

    /// The remote participants to hold a link to: everyone in the roster, including
    /// parked ([`Presence::Vanished`]) and unconfirmed ones. Sorted.
    pub fn wanted_links(&self) -> Vec<ParticipantId> {
        self.remotes.keys().copied().collect()
    }

    /// The mesh's share of [`wanted_links`](Self::wanted_links): all of them while the
    /// mesh is in use, none once the call is relayed (no mesh link to a newcomer).
    pub fn mesh_links(&self) -> Vec<ParticipantId> {
        if self.path.in_use(Topology::Mesh) {
            self.wanted_links()
        } else {
            Vec::new()
        }
    }

    /// The remote participants (not us), by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.remotes.values().map(|r| &r.member)
    }

    /// A remote participant (`None` for us).
    pub fn member(&self, id: ParticipantId) -> Option<&Member> {
        self.remotes.get(&id).map(|r| &r.member)
    }

    /// Kept after a resume into a restarted server without being listed, not
    /// confirmed since.
    pub fn is_unconfirmed(&self, id: ParticipantId) -> bool {
        self.remotes.get(&id).is_some_and(|r| r.unconfirmed)
    }

    /// The tiles to show, in order: our camera, then every remote participant that is
    /// not [`Presence::Vanished`] by id (join order); each screen share right after
    /// its owner's camera.
    pub fn tiles(&self) -> Vec<TileModel> {
        let mut tiles = Vec::with_capacity(2 * self.remotes.len() + 2);
        let mine = TileModel {
            key: SourceKey::camera(self.me),
            name: self.my_name.clone(),
            local: true,
            media: self.my_media,
            link: LinkState::Connected,
        };
        push_camera_and_screen(&mut tiles, mine, self.my_screen);
        for m in self.members() {
            if m.presence == Presence::Vanished {
                continue;
            }
            let camera = TileModel {
                key: SourceKey::camera(m.id),
                name: m.name.clone(),
                local: false,
                media: m.media,
                link: m.link,
            };
            push_camera_and_screen(&mut tiles, camera, m.screen);
        }
        tiles
    }
}

/// A camera tile, and its owner's screen tile right after it if sharing.
fn push_camera_and_screen(tiles: &mut Vec<TileModel>, camera: TileModel, sharing: bool) {
    let screen = sharing.then(|| TileModel {
        key: SourceKey::screen(camera.key.participant),
        ..camera.clone()
    });
    tiles.push(camera);
    tiles.extend(screen);
}

/// Recovery actions due for one link, and its tile state. A link whose participant
/// lost its signaling is not restarted (the restart's offer could not reach it); its
/// recovery resumes when the participant is back.
fn drive(remote: &mut Remote, now: Time, effects: &mut Vec<CallEffect>) {
    if remote.member.presence == Presence::Present {
        let peer = remote.member.id;
        match remote.recovery.poll(now) {
            Some(RecoveryAction::RestartIce) => effects.push(CallEffect::RestartIce {
                peer,
                relay_only: remote.recovery.relay_only(),
            }),
            Some(RecoveryAction::RestartIceRelayOnly) => effects.push(CallEffect::RestartIce {
                peer,
                relay_only: true,
            }),
            Some(RecoveryAction::GiveUp) => effects.push(CallEffect::Log(format!(
                "peer {peer}: giving up on this connection"
            ))),
            None => {}
        }
    }
    remote.refresh_link();
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: ParticipantId = ParticipantId::new(5);
    const ADA: ParticipantId = ParticipantId::new(2);

    fn call_with_ada() -> CallState {
        let mut c = CallState::new(ME, "Me".into(), MediaState::default(), false, 1);
        c.joined(
            Time::from_millis(0),
            Participant {
                id: ADA,
                name: "Ada".into(),
                media: MediaState::default(),
            },
        );
        c
    }

    #[test]
    fn the_mesh_links_go_once_relayed_media_flows_after_the_commit() {
        let mut c = call_with_ada();
        assert_eq!(c.mesh_links(), vec![ADA]);
        c.prepare_topology(Topology::Relayed);
        assert!(c.uses(Topology::Relayed) && c.uses(Topology::Mesh));
        assert_eq!(c.ready_due(), None, "Ada's camera is not relayed yet");
        c.remote_media(Topology::Relayed, SourceKey::screen(ADA), true);
        assert_eq!(c.ready_due(), None, "a screen is not her camera");
        c.remote_media(Topology::Relayed, SourceKey::camera(ADA), true);
        assert_eq!(c.ready_due(), Some(Topology::Relayed));
        c.commit_topology(Time::from_millis(10), Topology::Relayed);
        assert_eq!(c.topology(), Topology::Relayed);
        assert_eq!(c.source_path(ADA), Topology::Relayed);
        assert!(c.drain_done(Time::from_millis(10)));
        assert!(c.mesh_links().is_empty(), "no mesh link in a relayed call");
        assert_eq!(c.wanted_links(), vec![ADA], "still in the roster");
    }

    #[test]
    fn a_newcomer_to_a_relayed_call_keeps_no_mesh_link() {
        let mut c = call_with_ada();
        c.prepare_topology(Topology::Relayed);
        c.commit_topology(Time::from_millis(0), Topology::Relayed);
        assert_eq!(c.source_path(ADA), Topology::Mesh, "until her camera flows");
        c.remote_media(Topology::Relayed, SourceKey::camera(ADA), true);
        assert!(c.drain_done(Time::from_millis(300)));
        assert!(c.mesh_links().is_empty());
    }

    fn ada() -> Participant {
        Participant {
            id: ADA,
            name: "Ada".into(),
            media: MediaState::default(),
        }
    }

    fn reoffers(effects: &[CallEffect]) -> Vec<ParticipantId> {
        effects
            .iter()
            .filter_map(|e| match e {
                CallEffect::Reoffer(id) => Some(*id),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn after_a_restart_we_offer_again_to_whoever_comes_back_after_us() {
        // We (5) offer to Ada (2). The restarted server has not seen her yet; our
        // link to her works (her media flows on it, or on the path it replaces).
        let mut c = call_with_ada();
        let connected = LinkObservation {
            condition: Some(LinkCondition::Connected),
            packets_received: Some(100),
            bytes_received: Some(10_000),
        };
        c.observe_link(Time::from_millis(500), ADA, connected);
        let t = Time::from_millis(1_000);
        c.resumed(t, vec![], false);
        assert!(reoffers(&c.poll(t)).is_empty());
        // Back now: our offer since went nowhere.
        let t = Time::from_millis(3_000);
        c.joined(t, ada());
        assert_eq!(c.next_deadline(), Some(t));
        assert_eq!(reoffers(&c.poll(t)), vec![ADA]);
        assert!(reoffers(&c.poll(t)).is_empty(), "once");
    }

    #[test]
    fn no_offer_again_when_they_were_back_first_or_offer_themselves() {
        // Listed in our resume: she was in the room before we offered.
        let mut c = call_with_ada();
        let t = Time::from_millis(1_000);
        c.resumed(t, vec![ada()], false);
        assert!(reoffers(&c.poll(t)).is_empty());
        // We (1) do not offer to Ada (2): she does, once she is back.
        let mut c = CallState::new(
            ParticipantId::new(1),
            "Me".into(),
            MediaState::default(),
            false,
            1,
        );
        c.joined(Time::ZERO, ada());
        c.resumed(t, vec![], false);
        c.joined(t, ada());
        assert!(reoffers(&c.poll(t)).is_empty());
    }

    #[test]
    fn a_mesh_link_that_connected_but_never_carried_anything_is_renewed_once_relayed_not() {
        // We (5) offer to Ada (2); her microphone and camera are on.
        let mut c = call_with_ada();
        let silent = LinkObservation {
            condition: Some(LinkCondition::Connected),
            packets_received: Some(0),
            bytes_received: Some(900),
        };
        let renews = |e: &[CallEffect]| e.iter().filter(|e| **e == CallEffect::Renew(ADA)).count();
        let mut renewed = 0;
        for t in (0..=8_000).step_by(1_000) {
            renewed += renews(&c.observe_link(Time::from_millis(t), ADA, silent));
        }
        assert_eq!(renewed, 1);
        // Relayed, the readings are the SFU connection's: no mesh link to renew.
        let mut c = call_with_ada();
        c.prepare_topology(Topology::Relayed);
        c.commit_topology(Time::ZERO, Topology::Relayed);
        for t in (0..=30_000).step_by(1_000) {
            assert_eq!(
                renews(&c.observe_link(Time::from_millis(t), ADA, silent)),
                0
            );
        }
    }

    #[test]
    fn no_offer_again_without_a_mesh_link() {
        let mut c = call_with_ada();
        c.prepare_topology(Topology::Relayed);
        c.commit_topology(Time::ZERO, Topology::Relayed);
        c.remote_media(Topology::Relayed, SourceKey::camera(ADA), true);
        assert!(c.drain_done(Time::from_millis(300)));
        let t = Time::from_millis(1_000);
        c.resumed(t, vec![], false);
        c.joined(t, ada());
        assert!(reoffers(&c.poll(t)).is_empty());
    }
}
