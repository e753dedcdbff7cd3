//! What a person sees of one link on its tile, decided in one place from everything
//! known about the link (the browser's connection state, recovery, inbound media).

use crate::recovery::LinkCondition;

/// How a remote participant's link looks on its tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// "Connecting…": the first connection is being set up.
    Connecting,
    /// Nothing shown: media flows.
    Connected,
    /// "Reconnecting…": the link worked before and is being brought back.
    Interrupted,
    /// "Connection failed": recovery gave up, or the connection is closed.
    Failed,
}

/// Everything [`decide_link_state`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFacts {
    /// `RTCPeerConnection.connectionState`; `None` once the connection is closed.
    pub condition: Option<LinkCondition>,
    /// [`crate::recovery::LinkRecovery::recovering`]: a restart is due or under way.
    pub recovering: bool,
    /// [`crate::recovery::LinkRecovery::gave_up`].
    pub gave_up: bool,
    /// Media stopped arriving ([`crate::recovery::InboundWatch`]).
    pub stalled: bool,
    /// The link reached `connected` at least once: a link connecting again (after an
    /// ICE restart) is "Reconnecting…", not "Connecting…".
    pub ever_connected: bool,
}

/// The one decision of a tile's link state. A `failed` connection that recovery has
/// not given up on reads as [`LinkState::Interrupted`] (an ICE restart follows), so
/// "Connection failed" never flickers to "Reconnecting…".
pub fn decide_link_state(f: &LinkFacts) -> LinkState {
    let Some(condition) = f.condition else {
        return LinkState::Failed;
    };
    if f.gave_up {
        return LinkState::Failed;
    }
    if f.recovering || f.stalled {
        return LinkState::Interrupted;
    }
    match condition {
        LinkCondition::Connected => LinkState::Connected,
        LinkCondition::Disconnected | LinkCondition::Failed => LinkState::Interrupted,
        LinkCondition::Connecting if f.ever_connected => LinkState::Interrupted,
        LinkCondition::Connecting => LinkState::Connecting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(condition: Option<LinkCondition>) -> LinkFacts {
        LinkFacts {
            condition,
            recovering: false,
            gave_up: false,
            stalled: false,
            ever_connected: false,
        }
    }

    #[test]
    fn the_browser_state_alone() {
        use LinkCondition::*;
        let cases = [
            (Some(Connecting), LinkState::Connecting),
            (Some(Connected), LinkState::Connected),
            (Some(Disconnected), LinkState::Interrupted),
            (Some(Failed), LinkState::Interrupted),
            (None, LinkState::Failed),
        ];
        for (condition, want) in cases {
            assert_eq!(decide_link_state(&facts(condition)), want, "{condition:?}");
        }
    }

    #[test]
    fn connecting_again_after_a_connection_is_reconnecting() {
        let f = LinkFacts {
            ever_connected: true,
            ..facts(Some(LinkCondition::Connecting))
        };
        assert_eq!(decide_link_state(&f), LinkState::Interrupted);
    }

    #[test]
    fn recovery_and_stalls_override_a_connected_state() {
        let connected = facts(Some(LinkCondition::Connected));
        let recovering = LinkFacts {
            recovering: true,
            ..connected
        };
        let stalled = LinkFacts {
            stalled: true,
            ..connected
        };
        assert_eq!(decide_link_state(&recovering), LinkState::Interrupted);
        assert_eq!(decide_link_state(&stalled), LinkState::Interrupted);
    }

    #[test]
    fn giving_up_and_closing_are_final() {
        for condition in [
            Some(LinkCondition::Failed),
            Some(LinkCondition::Connected),
            None,
        ] {
            let f = LinkFacts {
                gave_up: true,
                recovering: true,
                stalled: true,
                ..facts(condition)
            };
            assert_eq!(decide_link_state(&f), LinkState::Failed);
        }
        let closed_while_recovering = LinkFacts {
            recovering: true,
            ..facts(None)
        };
        assert_eq!(
            decide_link_state(&closed_while_recovering),
            LinkState::Failed
        );
    }
}
