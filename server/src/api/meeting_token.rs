//! Meeting tokens: what `POST /api/meeting-tokens` hands out and a `join` carries.
//!
//! A token is sealed (see [`SessionKey::seal`]) under the database's token key, so it
//! stays valid across restarts and on every node sharing the database, and says which
//! room it opens, for whom, whether its holder owns the room, and until when.

use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::{ErrorCode, ProtocolError};
use serde::{Deserialize, Serialize};

use crate::resume::SessionKey;

const PURPOSE: &str = "meeting-token";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingClaims {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default)]
    pub is_owner: bool,
    /// Unix seconds after which the token opens nothing.
    pub exp: u64,
}

/// Signs and checks meeting tokens.
#[derive(Debug, Clone)]
pub struct TokenKey(SessionKey);

impl TokenKey {
    pub fn from_secret(secret: &str) -> TokenKey {
        TokenKey(SessionKey::from_secret(secret))
    }

    pub fn issue(&self, claims: &MeetingClaims) -> String {
        self.0.seal(PURPOSE, claims)
    }

    /// The claims of `token` if it opens `room` at `now_unix`; otherwise the error the
    /// joiner gets, which says what is wrong with it (a token is not a password: saying
    /// "expired" or "for another meeting" gives nothing away).
    pub fn check(
        &self,
        token: &str,
        room: &RoomName,
        now_unix: u64,
    ) -> Result<MeetingClaims, ProtocolError> {
        let invalid = |why: &str| ProtocolError::new(ErrorCode::InvalidToken, why);
        let claims: MeetingClaims = self.0.unseal(PURPOSE, token).ok_or_else(|| {
            invalid("This meeting link's token is not valid. Ask for a new link.")
        })?;
        if claims.room != room.as_str() {
            return Err(invalid(
                "This meeting link's token is for another meeting. Ask for a link to this one.",
            ));
        }
        if now_unix >= claims.exp {
            return Err(invalid("This meeting link has expired. Ask for a new one."));
        }
        // Checked when issued; a token from an older server is checked again all the same.
        if let Some(name) = &claims.user_name {
            DisplayName::parse(name)
                .map_err(|_| invalid("This meeting link's user name is not valid."))?;
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn claims(room: &str, exp: u64) -> MeetingClaims {
        MeetingClaims {
            room: room.into(),
            user_name: Some("Ada".into()),
            is_owner: true,
            exp,
        }
    }

    #[test]
    fn a_token_opens_its_room_until_it_expires() {
        let key = TokenKey::from_secret("k");
        let token = key.issue(&claims("calm-otter", 100));
        assert_eq!(
            key.check(&token, &room("calm-otter"), 99).unwrap(),
            claims("calm-otter", 100)
        );
        let expired = key.check(&token, &room("calm-otter"), 100).unwrap_err();
        assert_eq!(expired.code, ErrorCode::InvalidToken);
        assert!(expired.message.contains("expired"), "{}", expired.message);
        let other = key.check(&token, &room("brave-heron"), 99).unwrap_err();
        assert!(
            other.message.contains("another meeting"),
            "{}",
            other.message
        );
    }

    #[test]
    fn a_token_from_another_key_or_altered_opens_nothing() {
        let token = TokenKey::from_secret("k").issue(&claims("calm-otter", 100));
        let other_key = TokenKey::from_secret("other");
        assert!(other_key.check(&token, &room("calm-otter"), 1).is_err());
        let key = TokenKey::from_secret("k");
        let mut altered = token.clone();
        altered.insert(3, 'x');
        assert!(key.check(&altered, &room("calm-otter"), 1).is_err());
        assert!(key.check("not a token", &room("calm-otter"), 1).is_err());
    }
}
