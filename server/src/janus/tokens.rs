//! Janus's signed tokens (`token_auth` with `token_auth_secret`, and VideoRoom's
//! `signed_tokens`): `<expiry>,<realm>,<descriptor>...:<base64(HMAC-SHA1(secret, data))>`,
//! where data is everything before the colon. Janus recomputes the HMAC with its copy
//! of the secret, refuses an expired one, and looks for the descriptor it needs:
//! - the core checks realm `janus` on every request, and the plugin's package name
//!   among the descriptors on `attach`;
//! - VideoRoom (a room with `signed_tokens`) checks realm `janus.plugin.videoroom` and
//!   the descriptor `room=<id>` on `join`.
//!
//! Pure functions of (secret, expiry, room); the caller passes the clock in.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::turn::hmac_sha1;

/// The only plugin Nonstop's Janus loads.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// A token for `realm` naming `descriptors`, valid until `expiry_unix`.
pub fn sign(secret: &str, expiry_unix: u64, realm: &str, descriptors: &[&str]) -> String {
    let mut data = format!("{expiry_unix},{realm}");
    for d in descriptors {
        data.push(',');
        data.push_str(d);
    }
    let mac = STANDARD.encode(hmac_sha1(secret.as_bytes(), data.as_bytes()));
    format!("{data}:{mac}")
}

/// The core token: any Janus request, and `attach` to VideoRoom only.
pub fn session_token(secret: &str, expiry_unix: u64) -> String {
    sign(secret, expiry_unix, "janus", &[VIDEOROOM])
}

/// The VideoRoom token: `join` in room `room` only.
pub fn room_token(secret: &str, expiry_unix: u64, room: &str) -> String {
    sign(secret, expiry_unix, VIDEOROOM, &[&format!("room={room}")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_janus_shape() {
        // Independently: printf %s 1700000600,janus,janus.plugin.videoroom |
        //   openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            session_token("north", 1_700_000_600),
            "1700000600,janus,janus.plugin.videoroom:MA9aiKrQJB/etNVg499D/lH765g="
        );
        let room = room_token("north", 1_700_000_600, "AbC-_9");
        assert_eq!(
            room.split(':').next(),
            Some("1700000600,janus.plugin.videoroom,room=AbC-_9")
        );
    }
}
