//! The rooms made through the API, as joins see them: who may enter which room.
//!
//! The database is the durable copy; this is the copy in memory, loaded at start and
//! written through by the API, because a `join` is handled synchronously under the
//! hub's lock and must not wait on the database.

use std::collections::HashMap;
use std::sync::Mutex;

use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::protocol::{ErrorCode, ProtocolError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::warn;

use super::meeting_token::TokenKey;
use super::store::Store;
use crate::rooms::JoinTerms;

/// Who may join a room made through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    /// Anyone with the link.
    Public,
    /// Only joins carrying a meeting token for the room.
    Private,
}

impl Privacy {
    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Public => "public",
            Privacy::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Privacy> {
        match text {
            "public" => Some(Privacy::Public),
            "private" => Some(Privacy::Private),
            _ => None,
        }
    }
}

/// A room made through the API, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoomRecord {
    /// The meeting link is `https://<host>/<name>`.
    pub name: String,
    pub privacy: Privacy,
    /// Most people in the call at once; absent: the server's capacity.
    pub max_participants: Option<u32>,
    /// More people in the call than this and it moves to the SFU (relayed mode): the
    /// room's mesh limit. Absent: the server's `--relay-above`.
    pub relay_above: Option<u32>,
    /// Unix seconds from which the room admits nobody; absent: never.
    pub expires_at: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
}

impl RoomRecord {
    pub fn expired(&self, now_unix: u64) -> bool {
        self.expires_at.is_some_and(|at| now_unix >= at)
    }

    /// What the room sets for its call (no owner: that is a token's).
    fn terms(&self) -> JoinTerms {
        JoinTerms {
            max_participants: self.max_participants.map(|n| n as usize),
            relay_above: self.relay_above.map(|n| n as usize),
            owner: false,
            token: None,
        }
    }
}

/// What a join that may enter gets from its room and token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The token's user name, which replaces the one the join gave.
    pub name: Option<DisplayName>,
    /// The room's limits, and whether the token says its holder owns the room.
    pub terms: JoinTerms,
}

/// How long a join waits for the database to read its room.
const SYNC_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug)]
pub struct Directory {
    rooms: Mutex<HashMap<String, RoomRecord>>,
    tokens: TokenKey,
    /// Whether a visitor may open a room the API never made (by joining it).
    on_demand: bool,
    /// Where the rooms live: read again before each join ([`sync`](Self::sync)).
    store: Option<Store>,
}

impl Directory {
    pub fn new(rooms: Vec<RoomRecord>, tokens: TokenKey, on_demand: bool) -> Directory {
        let rooms = rooms.into_iter().map(|r| (r.name.clone(), r)).collect();
        Directory {
            rooms: Mutex::new(rooms),
            tokens,
            on_demand,
            store: None,
        }
    }

    /// Reads rooms from `store` before joins: servers sharing one database (several
    /// nodes) see each other's rooms and changes.
    pub fn with_store(mut self, store: Store) -> Directory {
        self.store = Some(store);
        self
    }

    /// Makes the copy of `room` the database's, as it is now: a room another server
    /// made, changed or deleted counts for the join about to be checked. The database
    /// not answering within a second leaves the copy as it was (the log says so).
    pub async fn sync(&self, room: &RoomName) {
        let Some(store) = &self.store else { return };
        match tokio::time::timeout(SYNC_WAIT, store.room(room.as_str())).await {
            Ok(Ok(Some(record))) => self.put(record),
            Ok(Ok(None)) => self.remove(room.as_str()),
            Ok(Err(e)) => {
                warn!(%room, error = %e, "cannot read the room from the database; using the copy in memory")
            }
            Err(_) => {
                warn!(%room, "the database did not answer within a second; using the room's copy in memory")
            }
        }
    }

    pub fn tokens(&self) -> &TokenKey {
        &self.tokens
    }

    pub fn put(&self, room: RoomRecord) {
        self.lock().insert(room.name.clone(), room);
    }

    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// The rooms past their `expires_at` at `now_unix`: their calls end.
    pub fn expired(&self, now_unix: u64) -> Vec<RoomName> {
        self.lock()
            .values()
            .filter(|r| r.expired(now_unix))
            .filter_map(|r| RoomName::parse(&r.name).ok())
            .collect()
    }

    /// Whether a join carrying `token` may enter `room` at `now_unix`, and on what
    /// terms. A token that is not valid is refused even where none is needed: its
    /// holder meant to use it and should hear why it failed.
    pub fn admit(
        &self,
        room: &RoomName,
        token: Option<&str>,
        now_unix: u64,
    ) -> Result<Entry, ProtocolError> {
        let claims = token
            .filter(|t| !t.is_empty())
            .map(|t| self.tokens.check(t, room, now_unix))
            .transpose()?;
        let owner = claims.as_ref().is_some_and(|c| c.is_owner);
        // Only a valid token is worth remembering (to bar it after a removal).
        let digest = claims
            .is_some()
            .then(|| token.map(|t| Sha256::digest(t.as_bytes()).into()))
            .flatten();
        let name = claims
            .and_then(|c| c.user_name)
            .and_then(|n| DisplayName::parse(&n).ok());
        let rooms = self.lock();
        let Some(record) = rooms.get(room.as_str()) else {
            if !self.on_demand {
                return Err(ProtocolError::new(
                    ErrorCode::RoomNotFound,
                    format!("There is no meeting called \"{room}\" here. Check the link you were given."),
                ));
            }
            return Ok(Entry {
                name,
                terms: JoinTerms {
                    owner,
                    token: digest,
                    ..JoinTerms::default()
                },
            });
        };
        if record.expired(now_unix) {
            return Err(ProtocolError::new(
                ErrorCode::RoomNotFound,
                format!("The meeting \"{room}\" has expired."),
            ));
        }
        if record.privacy == Privacy::Private && token.is_none_or(str::is_empty) {
            return Err(ProtocolError::new(
                ErrorCode::TokenRequired,
                "This meeting is private: join with the link you were given (it carries a meeting token).",
            ));
        }
        Ok(Entry {
            name,
            terms: JoinTerms {
                owner,
                token: digest,
                ..record.terms()
            },
        })
    }

    /// A room's own limits, for a participant coming back after a restart (whose
    /// token was checked when they first joined): none for a room the API never made.
    pub fn terms(&self, room: &RoomName) -> JoinTerms {
        self.lock()
            .get(room.as_str())
            .map(RoomRecord::terms)
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomRecord>> {
        // A panic while holding this lock leaves a map that is still whole.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::super::meeting_token::MeetingClaims;
    use super::*;

    const NOW: u64 = 1_000;

    fn record(name: &str, privacy: Privacy) -> RoomRecord {
        RoomRecord {
            name: name.into(),
            privacy,
            max_participants: Some(3),
            relay_above: Some(2),
            expires_at: Some(NOW + 60),
            created_at: NOW - 60,
        }
    }

    fn directory(on_demand: bool) -> Directory {
        Directory::new(
            vec![
                record("open-room", Privacy::Public),
                record("closed-room", Privacy::Private),
            ],
            TokenKey::from_secret("k"),
            on_demand,
        )
    }

    fn token(dir: &Directory, room: &str, exp: u64) -> String {
        dir.tokens().issue(&MeetingClaims {
            room: room.into(),
            user_name: Some("Grace".into()),
            is_owner: false,
            exp,
        })
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn code(result: Result<Entry, ProtocolError>) -> ErrorCode {
        result.unwrap_err().code
    }

    #[test]
    fn a_private_room_wants_a_valid_token_for_itself() {
        let dir = directory(true);
        let closed = room("closed-room");
        assert_eq!(
            code(dir.admit(&closed, None, NOW)),
            ErrorCode::TokenRequired
        );
        assert_eq!(
            code(dir.admit(&closed, Some(""), NOW)),
            ErrorCode::TokenRequired
        );
        let for_other = token(&dir, "open-room", NOW + 10);
        assert_eq!(
            code(dir.admit(&closed, Some(&for_other), NOW)),
            ErrorCode::InvalidToken
        );
        let expired = token(&dir, "closed-room", NOW);
        assert_eq!(
            code(dir.admit(&closed, Some(&expired), NOW)),
            ErrorCode::InvalidToken
        );
        let good = token(&dir, "closed-room", NOW + 10);
        let entry = dir.admit(&closed, Some(&good), NOW).unwrap();
        assert_eq!(entry.name.unwrap().as_str(), "Grace");
        assert_eq!(entry.terms.max_participants, Some(3));
        assert_eq!(entry.terms.relay_above, Some(2));
        assert_eq!(dir.terms(&closed).relay_above, Some(2));
    }

    #[test]
    fn a_public_room_admits_without_a_token_until_it_expires() {
        let dir = directory(true);
        let open = room("open-room");
        assert_eq!(
            dir.admit(&open, None, NOW).unwrap().terms.max_participants,
            Some(3)
        );
        assert_eq!(
            code(dir.admit(&open, None, NOW + 60)),
            ErrorCode::RoomNotFound
        );
        // A bad token is refused rather than ignored.
        assert_eq!(
            code(dir.admit(&open, Some("junk"), NOW)),
            ErrorCode::InvalidToken
        );
    }

    #[test]
    fn rooms_the_api_never_made_open_only_on_demand() {
        let visitor_room = room("made-up-room");
        assert_eq!(
            directory(true).admit(&visitor_room, None, NOW).unwrap(),
            Entry::default()
        );
        assert_eq!(
            code(directory(false).admit(&visitor_room, None, NOW)),
            ErrorCode::RoomNotFound
        );
        let dir = directory(true);
        dir.remove("closed-room");
        assert_eq!(
            dir.admit(&room("closed-room"), None, NOW).unwrap(),
            Entry::default()
        );
    }
}
