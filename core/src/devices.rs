//! Which camera, microphone or speaker to use: the person's stored choice if that
//! device is still there, else the system default, else the first one listed.
//! The browser lists devices; this only decides among them.

/// One input or output device as the browser lists it (`MediaDeviceInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `deviceId`: stable for the origin once permission was given.
    pub id: String,
    /// `label`: empty until the page has permission.
    pub label: String,
}

/// The id browsers give the system default (Chromium lists it as its own entry).
pub const DEFAULT_ID: &str = "default";

/// Picks a device from `available` (one kind, in the browser's order):
/// `preferred` if listed, else the default, else the first; never `avoid` (a device
/// that just went away). `None` when nothing is left.
pub fn choose<'a>(
    available: &'a [Device],
    preferred: Option<&str>,
    avoid: Option<&str>,
) -> Option<&'a Device> {
    let usable = |d: &&Device| Some(d.id.as_str()) != avoid && !d.id.is_empty();
    let by_id = |id: &str| available.iter().filter(usable).find(|d| d.id == id);
    preferred
        .and_then(by_id)
        .or_else(|| by_id(DEFAULT_ID))
        .or_else(|| available.iter().find(usable))
}

/// The text shown in a picker for a device: its label, or a numbered stand-in while the
/// browser hides labels (before permission).
pub fn display_label(kind: &str, index: usize, device: &Device) -> String {
    if device.label.trim().is_empty() {
        format!("{kind} {}", index + 1)
    } else {
        device.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str) -> Device {
        Device {
            id: id.into(),
            label: format!("Device {id}"),
        }
    }

    #[test]
    fn preferred_wins_when_present() {
        let list = [dev("default"), dev("a"), dev("b")];
        assert_eq!(choose(&list, Some("b"), None).unwrap().id, "b");
    }

    #[test]
    fn missing_preferred_falls_back_to_default() {
        let list = [dev("a"), dev("default"), dev("b")];
        assert_eq!(choose(&list, Some("gone"), None).unwrap().id, "default");
    }

    #[test]
    fn no_default_gives_the_first() {
        let list = [dev("a"), dev("b")];
        assert_eq!(choose(&list, Some("gone"), None).unwrap().id, "a");
        assert_eq!(choose(&list, None, None).unwrap().id, "a");
    }

    #[test]
    fn the_device_that_went_away_is_never_chosen() {
        let list = [dev("a"), dev("b")];
        assert_eq!(choose(&list, Some("a"), Some("a")).unwrap().id, "b");
        let list = [dev("default"), dev("a")];
        assert_eq!(
            choose(&list, Some("default"), Some("default")).unwrap().id,
            "a"
        );
    }

    #[test]
    fn nothing_left_gives_none() {
        assert_eq!(choose(&[], Some("a"), None), None);
        assert_eq!(choose(&[dev("a")], None, Some("a")), None);
    }

    #[test]
    fn ids_hidden_before_permission_are_not_choices() {
        // Before permission some browsers list devices with an empty id.
        assert_eq!(choose(&[dev("")], None, None), None);
    }

    #[test]
    fn labels_have_a_stand_in() {
        let hidden = Device {
            id: "x".into(),
            label: String::new(),
        };
        assert_eq!(display_label("Camera", 1, &hidden), "Camera 2");
        assert_eq!(display_label("Camera", 0, &dev("a")), "Device a");
    }
}
