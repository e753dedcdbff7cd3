//! Optional room passcodes.
//!
//! The first joiner of a room may set one (`passcode` in `join`); the room then keeps
//! only its digest, HMAC-SHA256 under the session key over room and passcode, and
//! compares digests in constant time. Resume tokens carry the digest (never the
//! passcode), so a server restarted with the same session secret re-creates the room
//! protected when its members come back.

use nonstop_core::names::RoomName;
use nonstop_core::protocol::{ErrorCode, ProtocolError};

use crate::resume::{constant_time_eq, SessionKey};

/// Longest passcode, in characters.
pub const MAX_PASSCODE_CHARS: usize = 64;

/// A room's passcode, as its digest.
#[derive(Clone, PartialEq, Eq)]
pub struct PasscodeDigest([u8; 32]);

impl std::fmt::Debug for PasscodeDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasscodeDigest(..)")
    }
}

impl PasscodeDigest {
    /// The digest of what a `join` carried: `None` for no passcode (absent, or only
    /// whitespace); refused when too long. Surrounding whitespace does not count.
    pub fn of(
        key: &SessionKey,
        room: &RoomName,
        given: Option<&str>,
    ) -> Result<Option<PasscodeDigest>, ProtocolError> {
        let Some(given) = given.map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        if given.chars().count() > MAX_PASSCODE_CHARS {
            return Err(ProtocolError::new(
                ErrorCode::WrongPasscode,
                format!("A passcode has at most {MAX_PASSCODE_CHARS} characters."),
            ));
        }
        let mut message = room.as_str().as_bytes().to_vec();
        message.push(b'\n');
        message.extend_from_slice(given.as_bytes());
        Ok(Some(PasscodeDigest(key.mac("room-passcode", &message))))
    }

    /// Whether a joiner with `given` may enter a room protected by `self`.
    pub fn admits(&self, given: Option<&PasscodeDigest>) -> Result<(), ProtocolError> {
        match given {
            None => Err(ProtocolError::new(
                ErrorCode::PasscodeRequired,
                "This meeting is protected by a passcode. Enter it to join.",
            )),
            Some(given) if constant_time_eq(&self.0, &given.0) => Ok(()),
            Some(_) => Err(ProtocolError::new(
                ErrorCode::WrongPasscode,
                "That passcode is not this meeting's. Check it and try again.",
            )),
        }
    }

    /// Hex, for resume tokens.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<PasscodeDigest> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(PasscodeDigest(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_passcode_for_the_same_room_admits() {
        let key = SessionKey::from_secret("k");
        let room = RoomName::parse("calm-otter").unwrap();
        let other = RoomName::parse("busy-bee").unwrap();
        let set = PasscodeDigest::of(&key, &room, Some("tulip 42"))
            .unwrap()
            .unwrap();
        let same = PasscodeDigest::of(&key, &room, Some("  tulip 42 ")).unwrap();
        assert!(set.admits(same.as_ref()).is_ok());
        let wrong = PasscodeDigest::of(&key, &room, Some("tulip 43")).unwrap();
        assert_eq!(
            set.admits(wrong.as_ref()).unwrap_err().code,
            ErrorCode::WrongPasscode
        );
        assert_eq!(
            set.admits(None).unwrap_err().code,
            ErrorCode::PasscodeRequired
        );
        let elsewhere = PasscodeDigest::of(&key, &other, Some("tulip 42")).unwrap();
        assert!(set.admits(elsewhere.as_ref()).is_err(), "bound to the room");
        assert_eq!(PasscodeDigest::of(&key, &room, Some("  ")).unwrap(), None);
        assert_eq!(PasscodeDigest::of(&key, &room, None).unwrap(), None);
        assert!(PasscodeDigest::of(&key, &room, Some(&"x".repeat(65))).is_err());
        assert_eq!(PasscodeDigest::from_hex(&set.to_hex()), Some(set.clone()));
        assert_eq!(PasscodeDigest::from_hex("zz"), None);
        assert!(!format!("{set:?}").contains(&set.to_hex()));
    }
}
