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

/// A valid display name: trimmed, 1 to 40 characters, no control characters, no
/// bidirectional overrides or isolates (which would let a name reorder the text
/// around it, e.g. make "Ada" appear inside someone else's name), and not made only
/// of invisible characters (an empty-looking tile nobody can tell apart).
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
        if name.chars().any(is_bidi_control) {
            return Err(invalid(
                "a name cannot contain right-to-left or left-to-right override characters",
            ));
        }
        if name.chars().all(is_invisible) {
            return Err(invalid("a name needs at least one visible character"));
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

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069):
/// they change how the text after them is laid out, beyond the name itself.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing (zero-width spaces, joiners and marks, word joiner
/// and invisible operators, byte order mark, fillers). Allowed inside a name (a
/// zero-width joiner builds emoji such as 👩‍💻), but not as all of it.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    ) || is_bidi_control(c)
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

    #[test]
    fn bidi_overrides_are_refused_anywhere() {
        for bad in [
            "\u{202E}evil",
            "Ada\u{202E}nimda",
            "x\u{202A}y",
            "x\u{202B}y",
            "x\u{202C}y",
            "x\u{202D}y",
            "x\u{2066}y",
            "x\u{2067}y",
            "x\u{2068}y",
            "x\u{2069}y",
        ] {
            assert_eq!(
                DisplayName::parse(bad).unwrap_err().code,
                ErrorCode::InvalidName,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invisible_only_names_are_refused_but_invisible_joiners_inside_are_fine() {
        for bad in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            "\u{200E}\u{200F}",
            "\u{2060}",
            "\u{FEFF}",
            " \u{200B} ",
            "\u{3164}\u{3164}",
            "\u{00AD}",
        ] {
            assert_eq!(
                DisplayName::parse(bad).unwrap_err().code,
                ErrorCode::InvalidName,
                "{bad:?}"
            );
        }
        for good in ["👩\u{200D}💻", "Ada\u{200B}", "שלום", "محمد\u{200F}", "Zoë"] {
            assert!(DisplayName::parse(good).is_ok(), "{good:?}");
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
