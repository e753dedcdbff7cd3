//! Room names (the path of a meeting link) and display names: what is valid, and
//! readable random room names for new meetings.

use crate::protocol::{ErrorCode, ProtocolError};

/// Longest room name, in characters.
pub const MAX_ROOM_LEN: usize = 64;
/// Shortest room name, in characters. Very short names are easy to guess and collide.
pub const MIN_ROOM_LEN: usize = 3;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// A valid room name: 3 to 64 ASCII letters, digits, `-` or `_`, stored in lower case
/// so that `/Team-Sync` and `/team-sync` are the same meeting. Being plain ASCII it is
/// safe in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<RoomName, ProtocolError> {
        let invalid = |why: String| ProtocolError::new(ErrorCode::InvalidRoom, why);
        let len = raw.chars().count();
        if !(MIN_ROOM_LEN..=MAX_ROOM_LEN).contains(&len) {
            return Err(invalid(format!(
                "a meeting name has {MIN_ROOM_LEN} to {MAX_ROOM_LEN} characters (this one has {len})"
            )));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(invalid(format!(
                "a meeting name may only use letters, digits, '-' and '_' (found {bad:?})"
            )));
        }
        Ok(RoomName(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoomName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid display name: trimmed, 1 to 40 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, ProtocolError> {
        let invalid = |why: &str| ProtocolError::new(ErrorCode::InvalidName, why);
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("please enter a name"));
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(invalid("a name has at most 40 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("a name cannot contain control characters"));
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

const ADJECTIVES: [&str; 32] = [
    "amber", "bold", "brave", "bright", "brisk", "calm", "clever", "cosy", "crisp", "daring",
    "eager", "fancy", "gentle", "golden", "happy", "jolly", "keen", "lively", "lucky", "mellow",
    "merry", "nimble", "proud", "quick", "quiet", "rapid", "shiny", "silver", "sunny", "swift",
    "vivid", "witty",
];

const NOUNS: [&str; 32] = [
    "badger", "beacon", "canyon", "cedar", "comet", "coral", "delta", "falcon", "fjord", "garden",
    "harbor", "heron", "island", "lagoon", "lantern", "maple", "meadow", "otter", "panda",
    "pebble", "pine", "planet", "prairie", "raven", "river", "summit", "thistle", "tiger",
    "tundra", "valley", "walrus", "willow",
];

/// A readable room name such as `brisk-otter-maple-4821`, built from `entropy` (the
/// caller supplies randomness; this crate has no random source). Two words, a third,
/// and four digits give about 2^28 names, so two new meetings rarely collide.
pub fn random_room_name(entropy: u64) -> RoomName {
    let adjective = ADJECTIVES[(entropy & 31) as usize];
    let first = NOUNS[((entropy >> 5) & 31) as usize];
    let second = NOUNS[((entropy >> 10) & 31) as usize];
    let digits = (entropy >> 15) % 10_000;
    RoomName(format!("{adjective}-{first}-{second}-{digits:04}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn room_names_are_validated_and_lowercased() {
        assert_eq!(
            RoomName::parse("Team-Sync_2").unwrap().as_str(),
            "team-sync_2"
        );
        for bad in [
            "",
            "ab",
            "has space",
            "slash/room",
            "ünïcode",
            "dot.name",
            &"x".repeat(65),
        ] {
            assert_eq!(
                RoomName::parse(bad).unwrap_err().code,
                ErrorCode::InvalidRoom,
                "{bad}"
            );
        }
        assert!(RoomName::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(DisplayName::parse("Zoë 🎥").unwrap().as_str(), "Zoë 🎥");
        for bad in ["", "   ", "a\u{0}b", "tab\there", &"n".repeat(41)] {
            assert_eq!(
                DisplayName::parse(bad).unwrap_err().code,
                ErrorCode::InvalidName,
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn random_room_names_are_valid(entropy in any::<u64>()) {
            let name = random_room_name(entropy);
            prop_assert_eq!(RoomName::parse(name.as_str()).unwrap(), name);
        }

        #[test]
        fn valid_room_names_survive_a_round_trip(raw in "[A-Za-z0-9_-]{3,64}") {
            let parsed = RoomName::parse(&raw).unwrap();
            prop_assert_eq!(RoomName::parse(parsed.as_str()).unwrap(), parsed);
        }
    }
}
