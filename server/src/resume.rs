//! Resume tokens: what lets a participant whose signaling socket died come back as
//! itself (`resume` in docs/protocol.md).
//!
//! A token is base64url(HMAC-SHA1(session secret, "<room>\n<id>")). It needs no
//! server state, so a server restarted with the same secret (`--session-secret`) can
//! still check it and re-admit the participant under its old id; without a configured
//! secret each process draws a random one and tokens die with it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nonstop_core::names::RoomName;
use nonstop_core::ParticipantId;

use crate::turn::hmac_sha1;

/// The key that signs resume tokens.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    pub fn from_secret(secret: &str) -> SessionKey {
        SessionKey(secret.as_bytes().to_vec())
    }

    /// A fresh random key, for a server without a configured secret.
    pub fn random() -> SessionKey {
        let mut key = vec![0u8; 32];
        // The OS random source failing is not something to serve meetings through.
        getrandom::fill(&mut key).expect("the OS random source works");
        SessionKey(key)
    }

    pub fn token(&self, room: &RoomName, id: ParticipantId) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(room, id))
    }

    /// Whether `token` is the one [`token`](Self::token) gives for (room, id).
    pub fn verify(&self, room: &RoomName, id: ParticipantId, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let want = self.mac(room, id);
        // Compare without an early exit, so timing tells nothing about the MAC.
        given.len() == want.len()
            && given
                .iter()
                .zip(want)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    fn mac(&self, room: &RoomName, id: ParticipantId) -> [u8; 20] {
        hmac_sha1(&self.0, format!("{}\n{id}", room.as_str()).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_its_own_session() {
        let key = SessionKey::from_secret("s3cret");
        let room = RoomName::parse("calm-otter").unwrap();
        let other = RoomName::parse("busy-bee").unwrap();
        let id = ParticipantId::new(7);
        let token = key.token(&room, id);
        assert!(key.verify(&room, id, &token));
        assert!(!key.verify(&other, id, &token));
        assert!(!key.verify(&room, ParticipantId::new(8), &token));
        assert!(!key.verify(&room, id, "not base64 !"));
        assert!(!key.verify(&room, id, ""));
        // The same secret after a restart accepts it; another secret does not.
        assert!(SessionKey::from_secret("s3cret").verify(&room, id, &token));
        assert!(!SessionKey::random().verify(&room, id, &token));
    }
}
