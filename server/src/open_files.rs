//! The process's open-file limit: every connection is a file descriptor, and the
//! usual soft limit (1,024) is far below what the server is meant to hold.

use std::io;

/// Raises the soft open-file limit to the hard limit; returns (before, after).
#[cfg(unix)]
// `rlim_t` is u64 on Linux, not on every Unix.
#[allow(clippy::unnecessary_cast)]
pub fn raise_to_hard_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((before as u64, limit.rlim_cur as u64))
}

#[cfg(not(unix))]
pub fn raise_to_hard_limit() -> io::Result<(u64, u64)> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no rlimit here"))
}

/// The current soft limit, if there is one.
#[allow(clippy::unnecessary_cast)] // as above
pub fn soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            return Some(limit.rlim_cur as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let (before, after) = super::raise_to_hard_limit().unwrap();
        assert!(after >= before);
        assert_eq!(super::soft_limit().map_or(after, |s| s), after);
    }
}
