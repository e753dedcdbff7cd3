//! Time-limited TURN credentials, in the TURN REST API scheme that coturn's
//! `use-auth-secret` checks: the username is `"<unix expiry>:<participant id>"` and the
//! credential is base64(HMAC-SHA1(shared secret, username)). The relay recomputes the
//! credential from its copy of the secret and refuses expired usernames, so no static
//! TURN password ever reaches a browser.
//!
//! Pure functions of (secret, id, time); the caller passes the clock in.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use nonstop_core::protocol::IceServer;
use nonstop_core::ParticipantId;
use sha1::Sha1;

/// Credential lifetime unless `--turn-ttl` says otherwise: long enough for any
/// meeting's ICE restarts to use one set, short enough that a leaked one soon dies.
pub const DEFAULT_TURN_TTL: Duration = Duration::from_secs(6 * 60 * 60);

/// HMAC-SHA1 of `message` under `key` (RFC 2104).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length (long ones are hashed first), so this holds.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The TURN server settings: shared secret, URLs, credential lifetime.
#[derive(Clone)]
pub struct Turn {
    secret: String,
    urls: Vec<String>,
    ttl: Duration,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret (settings are logged).
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// `urls` like `turn:host:3478?transport=udp`; refused when empty or not TURN/STUN URLs.
    pub fn new(secret: String, urls: Vec<String>, ttl: Duration) -> Result<Turn, String> {
        if secret.is_empty() {
            return Err("the TURN secret is empty".into());
        }
        if urls.is_empty() {
            return Err("a TURN secret needs --turn-urls".into());
        }
        if let Some(bad) = urls.iter().find(|u| {
            !["turn:", "turns:", "stun:", "stuns:"]
                .iter()
                .any(|p| u.starts_with(p))
        }) {
            return Err(format!("{bad:?} is not a turn:, turns: or stun: URL"));
        }
        if ttl < Duration::from_secs(2) {
            return Err("--turn-ttl must be at least 2 seconds".into());
        }
        Ok(Turn { secret, urls, ttl })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When to send fresh credentials to someone who got a set at time t: at t plus
    /// this (half the lifetime, so a late delivery still lands well before expiry).
    pub fn refresh_after(&self) -> Duration {
        self.ttl / 2
    }

    /// The ICE server entry for participant `id`, valid until `now_unix + ttl`.
    pub fn ice_servers(&self, id: ParticipantId, now_unix: u64) -> Vec<IceServer> {
        let username = format!("{}:{id}", now_unix + self.ttl.as_secs());
        let credential = credential(self.secret.as_bytes(), &username);
        vec![IceServer {
            urls: self.urls.clone(),
            username: Some(username),
            credential: Some(credential),
        }]
    }
}

/// base64(HMAC-SHA1(secret, username)): what coturn computes for `username`.
pub fn credential(secret: &[u8], username: &str) -> String {
    STANDARD.encode(hmac_sha1(secret, username.as_bytes()))
}

/// Seconds since the Unix epoch, from the system clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 is broken; credentials then are expired, not a panic.
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 2202, section 3: the HMAC-SHA1 test cases.
    #[test]
    fn rfc_2202_vectors() {
        let cases: [(&[u8], &[u8], &str); 5] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hex(&hmac_sha1(key, data)), want);
        }
        let key: Vec<u8> = (1..=25).collect();
        assert_eq!(
            hex(&hmac_sha1(&key, &[0xcd; 50])),
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da"
        );
    }

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        let turn = Turn::new(
            "north".into(),
            vec![
                "turn:10.0.0.1:3478?transport=udp".into(),
                "turn:10.0.0.1:3478?transport=tcp".into(),
            ],
            Duration::from_secs(3600),
        )
        .unwrap();
        let servers = turn.ice_servers(ParticipantId::new(8), 1_700_000_000);
        assert_eq!(servers.len(), 1);
        let s = &servers[0];
        assert_eq!(s.urls.len(), 2);
        assert_eq!(s.username.as_deref(), Some("1700003600:8"));
        // Independently: printf %s 1700003600:8 | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            s.credential.as_deref(),
            Some("S18mPbGhc/06AnRjRSIc4z6XgUA=")
        );
        let raw = STANDARD.decode(s.credential.as_deref().unwrap()).unwrap();
        assert_eq!(raw, hmac_sha1(b"north", b"1700003600:8"));
        assert_eq!(turn.refresh_after(), Duration::from_secs(1800));
        assert!(
            !format!("{turn:?}").contains("north"),
            "the secret is never printed"
        );
    }

    #[test]
    fn nonsense_is_refused() {
        let url = || vec!["turn:h:3478".to_string()];
        let hour = Duration::from_secs(3600);
        assert!(Turn::new(String::new(), url(), hour).is_err());
        assert!(Turn::new("s".into(), vec![], hour).is_err());
        assert!(Turn::new("s".into(), vec!["http://h".into()], hour).is_err());
        assert!(Turn::new("s".into(), url(), Duration::from_secs(1)).is_err());
        assert!(Turn::new("s".into(), url(), hour).is_ok());
    }
}
