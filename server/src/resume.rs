//! Resume tokens: what lets a participant whose signaling socket died come back as
//! itself (`resume` in docs/protocol.md), and nobody else.
//!
//! A token is `v2.<payload>.<mac>`, both parts base64url: the payload is the JSON of
//! [`Claims`] (room, participant id, display name, room passcode digest, expiry, a
//! random nonce) and the MAC is HMAC-SHA256 under the session key over the payload. It
//! needs no server state to check, so a server restarted with the same secret
//! (`--session-secret`) can still re-admit the participant under its old id and name;
//! without a configured secret each process draws a random key and tokens die with it.
//!
//! What keeps a token from being used by someone else (the rules live in `hub.rs` and
//! `rooms.rs`):
//! - it expires ([`TOKEN_TTL`], five minutes), and a live connection gets a fresh one
//!   every [`TOKEN_REFRESH`], so a leaked token soon dies;
//! - while the server holds the session, only the newest token (by nonce) resumes it:
//!   every resume rotates it, so a token that was used once is dead;
//! - a seat whose connection is alive is never taken over (the resume waits for the old
//!   connection to end, up to the heartbeat timeout, and is refused if it does not);
//! - the session of someone who left cannot be resumed in this run (`ended`), and
//!   across a restart only until the token expires.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::ParticipantId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a resume token is valid.
pub const TOKEN_TTL: Duration = Duration::from_secs(5 * 60);
/// How often a live connection gets a fresh token: at half the lifetime, so a client
/// always holds one with at least half of it left.
pub const TOKEN_REFRESH: Duration = Duration::from_secs(TOKEN_TTL.as_secs() / 2);

const VERSION: &str = "v2";

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length (long ones are hashed first), so this holds.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Equality without an early exit, so timing tells nothing about where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random nonce, hex.
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not something to serve meetings through.
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a token says. Field names are short: the token travels in every resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Room (normalized).
    #[serde(rename = "r")]
    pub room: String,
    #[serde(rename = "i")]
    pub id: ParticipantId,
    /// Display name: a resume keeps it, whatever the resume message says.
    #[serde(rename = "n")]
    pub name: String,
    /// The room's passcode digest, hex, so a restarted server re-creates the room
    /// protected (see `passcode.rs`); absent for rooms without one.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// Unix seconds after which the token is refused.
    #[serde(rename = "x")]
    pub expires: u64,
    /// It owns the room (its meeting token said so), and does again after a restart.
    #[serde(rename = "o", default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
    /// Random per token: the server remembers the newest one of each session.
    #[serde(rename = "k")]
    pub nonce: String,
}

/// Why a token was refused (the client only ever hears "not valid").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token, or not signed with this key.
    Invalid,
    /// For another room or participant.
    WrongSession,
    Expired,
}

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

    /// HMAC-SHA256 under this key, with a purpose label so that a MAC made for one use
    /// (a token) is never valid for another (a passcode digest).
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut labelled = Vec::with_capacity(purpose.len() + 1 + message.len());
        labelled.extend_from_slice(purpose.as_bytes());
        labelled.push(0);
        labelled.extend_from_slice(message);
        hmac_sha256(&self.0, &labelled)
    }

    /// `value` as a signed token (`1.<payload>.<mac>`, base64url): readable by anyone,
    /// valid only for [`unseal`](Self::unseal) under this key and the same `purpose`.
    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        // Plain data: serializing cannot fail.
        let payload = serde_json::to_vec(value).expect("token claims serialize");
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let mac = URL_SAFE_NO_PAD.encode(self.mac(purpose, payload.as_bytes()));
        format!("{VERSION}.{payload}.{mac}")
    }

    /// What `token` carries, if this key sealed it for `purpose`.
    pub fn unseal<T: DeserializeOwned>(&self, purpose: &str, token: &str) -> Option<T> {
        let mut parts = token.splitn(3, '.');
        let (Some(VERSION), Some(payload), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let given = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if !constant_time_eq(&given, &self.mac(purpose, payload.as_bytes())) {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// A signed token for `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        self.seal("resume-token", claims)
    }

    /// The claims of `token` if this key signed it, it is for (room, id), and it has
    /// not expired at `now_unix`.
    pub fn verify(
        &self,
        token: &str,
        room: &RoomName,
        id: ParticipantId,
        now_unix: u64,
    ) -> Result<Claims, TokenError> {
        let claims: Claims = self
            .unseal("resume-token", token)
            .ok_or(TokenError::Invalid)?;
        // Signed by us, so well-formed; the name is checked again all the same.
        if claims.room != room.as_str()
            || claims.id != id
            || DisplayName::parse(&claims.name).is_err()
        {
            return Err(TokenError::WrongSession);
        }
        if now_unix >= claims.expires {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(room: &RoomName, id: u64, expires: u64) -> Claims {
        Claims {
            room: room.as_str().into(),
            id: ParticipantId::new(id),
            name: "Ada".into(),
            passcode: None,
            expires,
            owner: false,
            nonce: random_nonce(),
        }
    }

    #[test]
    fn a_token_opens_only_its_own_session_until_it_expires() {
        let key = SessionKey::from_secret("s3cret");
        let room = RoomName::parse("calm-otter").unwrap();
        let other = RoomName::parse("busy-bee").unwrap();
        let id = ParticipantId::new(7);
        let token = key.issue(&claims(&room, 7, 1000));
        assert_eq!(key.verify(&token, &room, id, 999).unwrap().name, "Ada");
        assert_eq!(
            key.verify(&token, &room, id, 1000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            key.verify(&token, &other, id, 0),
            Err(TokenError::WrongSession)
        );
        assert_eq!(
            key.verify(&token, &room, ParticipantId::new(8), 0),
            Err(TokenError::WrongSession)
        );
        for bad in ["", "not a token", "v2.", "v2.e30.", "v1.abc.def"] {
            assert_eq!(
                key.verify(bad, &room, id, 0),
                Err(TokenError::Invalid),
                "{bad}"
            );
        }
        // The same secret after a restart accepts it; another secret does not.
        assert!(SessionKey::from_secret("s3cret")
            .verify(&token, &room, id, 0)
            .is_ok());
        assert_eq!(
            SessionKey::random().verify(&token, &room, id, 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let key = SessionKey::from_secret("s3cret");
        let room = RoomName::parse("calm-otter").unwrap();
        let token = key.issue(&claims(&room, 7, 1000));
        let mac = token.rsplit('.').next().unwrap();
        let mut longer = claims(&room, 7, u64::MAX);
        longer.nonce = "0".into();
        let forged = format!(
            "v2.{}.{mac}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&longer).unwrap())
        );
        assert_eq!(
            key.verify(&forged, &room, ParticipantId::new(7), 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tokens_differ_every_time() {
        let key = SessionKey::from_secret("s3cret");
        let room = RoomName::parse("calm-otter").unwrap();
        assert_ne!(
            key.issue(&claims(&room, 7, 1000)),
            key.issue(&claims(&room, 7, 1000))
        );
    }
}
