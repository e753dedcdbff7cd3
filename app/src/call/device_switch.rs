//! Choosing devices, before and during the call: the device lists (refreshed on
//! `devicechange` and once permission gives labels), switching a camera or microphone
//! (`getUserMedia` for that device only, then the call publishes it in place of the
//! old track: no renegotiation), the speaker (`setSinkId`), and a device that goes away (its track
//! ends: another device of that kind, or the default; if none, say so and send without it).

use crate::platform::media::MediaStreamTrack;
use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::devices;

use super::Call;
use crate::platform::devices::{self as platform, DeviceKind, DeviceList};
use crate::platform::listener::EventListener;
use crate::platform::media::{Cause, LocalMedia};

#[derive(Clone, Copy)]
pub struct DeviceControl {
    /// What the browser lists now.
    pub list: RwSignal<DeviceList>,
    /// The device each current track comes from (the speaker: the chosen one).
    pub camera: RwSignal<Option<String>>,
    pub microphone: RwSignal<Option<String>>,
    pub speaker: RwSignal<Option<String>>,
    /// The browser can choose the speaker (`setSinkId`); if not, no speaker picker.
    pub sink_supported: bool,
    /// A switch is under way.
    pub busy: RwSignal<bool>,
    local: RwSignal<Option<LocalMedia>, LocalStorage>,
    call: StoredValue<Option<Call>, LocalStorage>,
    /// Tells the person something (a device went away).
    on_lost: Callback<String>,
    /// The tracks changed: re-apply the mic/camera on-off state and publish it.
    on_changed: Callback<()>,
    listeners: StoredValue<Vec<EventListener>, LocalStorage>,
}

impl DeviceControl {
    pub fn new(
        local: RwSignal<Option<LocalMedia>, LocalStorage>,
        call: StoredValue<Option<Call>, LocalStorage>,
        on_lost: Callback<String>,
        on_changed: Callback<()>,
    ) -> DeviceControl {
        let control = DeviceControl {
            list: RwSignal::new(DeviceList::default()),
            camera: RwSignal::new(None),
            microphone: RwSignal::new(None),
            speaker: RwSignal::new(platform::stored(DeviceKind::Speaker)),
            sink_supported: platform::sink_supported(),
            busy: RwSignal::new(false),
            local,
            call,
            on_lost,
            on_changed,
            listeners: StoredValue::new_local(Vec::new()),
        };
        if let Some(id) = control.speaker.get_untracked() {
            platform::set_sink(&id);
        }
        // New tracks: new device ids, new `ended` watches, and (after permission) labels.
        Effect::new(move |_| {
            let media = local.get();
            control.watch(media.as_ref());
            control.refresh();
        });
        control
    }

    fn watch(self, media: Option<&LocalMedia>) {
        let mut listeners = Vec::new();
        listeners.extend(platform::on_change(move |_| self.refresh()));
        let tracks = media
            .map(|m| {
                [
                    (DeviceKind::Microphone, m.audio.clone()),
                    (DeviceKind::Camera, m.video.clone()),
                ]
            })
            .into_iter()
            .flatten();
        for (kind, track) in tracks {
            let Some(track) = track else { continue };
            // `Clone::clone`: the handle (`track.clone()` would be MediaStreamTrack.clone()).
            let ended = Clone::clone(&track);
            listeners.push(EventListener::new(&track, "ended", move |_| {
                spawn_local(self.lost(kind, Clone::clone(&ended)));
            }));
        }
        self.listeners.set_value(listeners);
    }

    /// Lists the devices again and notes which ones the current tracks use.
    pub fn refresh(self) {
        spawn_local(async move {
            let list = platform::enumerate().await;
            let (cam, mic) = self
                .local
                .try_with_untracked(|l| {
                    l.as_ref().map(|l| {
                        (
                            l.video.as_ref().and_then(platform::track_device_id),
                            l.audio.as_ref().and_then(platform::track_device_id),
                        )
                    })
                })
                .flatten()
                .unwrap_or_default();
            self.list.try_set(list);
            self.camera.try_set(cam);
            self.microphone.try_set(mic);
        });
    }

    /// The person picked `id` for `kind`: remembered for next time, and used now.
    pub fn choose(self, kind: DeviceKind, id: String) {
        platform::store(kind, &id);
        match kind {
            DeviceKind::Speaker => {
                platform::set_sink(&id);
                self.speaker.set(Some(id));
            }
            DeviceKind::Camera | DeviceKind::Microphone => {
                spawn_local(async move {
                    if let Err(cause) = self.switch(kind, Some(&id)).await {
                        warn!("switching {kind:?} to {id}: {cause:?}");
                        self.on_lost.run(format!(
                            "Could not switch the {}: {}",
                            kind.label().to_ascii_lowercase(),
                            match cause {
                                Cause::Blocked => "access is blocked",
                                Cause::Missing => "the device is not there any more",
                                Cause::Busy | Cause::Unsupported =>
                                    "the device could not be started",
                            }
                        ));
                        self.refresh();
                    }
                });
            }
        }
    }

    /// Opens `id` alone and puts its track in place of the current one of that kind:
    /// on every link's sender, on our tile and preview. The old track is stopped; the
    /// new one keeps the on/off state.
    pub async fn switch(self, kind: DeviceKind, id: Option<&str>) -> Result<(), Cause> {
        if self.busy.get_untracked() {
            return Err(Cause::Busy);
        }
        self.busy.set(true);
        let result = platform::open(kind, id).await;
        self.busy.try_set(false);
        let track = result?;
        self.replace(kind, Some(track)).await;
        Ok(())
    }

    /// Puts `track` (or nothing) in place of our track of `kind`.
    async fn replace(self, kind: DeviceKind, track: Option<MediaStreamTrack>) {
        let Some(Some(old)) = self.local.try_get_untracked() else {
            // The page went away meanwhile.
            if let Some(t) = track {
                t.stop();
            }
            return;
        };
        let previous = match kind {
            DeviceKind::Microphone => old.audio.clone(),
            _ => old.video.clone(),
        };
        if let (Some(new), Some(prev)) = (&track, &previous) {
            new.set_enabled(prev.enabled());
        }
        let (audio, video) = match kind {
            DeviceKind::Microphone => (track.clone(), old.video.clone()),
            _ => (old.audio.clone(), track.clone()),
        };
        let Some(media) = LocalMedia::from_tracks(audio, video) else {
            return;
        };
        if let Some(call) = self.call.try_get_value().flatten() {
            call.set_local(&media);
        }
        self.local.try_set(Some(media));
        if let Some(prev) = previous {
            prev.stop();
        }
        self.on_changed.run(());
    }

    /// Our `kind` track ended (the device went away): another device of that kind, or
    /// the default; if there is none, send without it and say so.
    async fn lost(self, kind: DeviceKind, track: MediaStreamTrack) {
        let current = self
            .local
            .try_with_untracked(|l| {
                l.as_ref().and_then(|l| match kind {
                    DeviceKind::Microphone => l.audio.clone(),
                    _ => l.video.clone(),
                })
            })
            .flatten();
        if current.as_ref().map(|c| c.id()) != Some(track.id()) {
            return;
        }
        let gone = platform::track_device_id(&track).or_else(|| match kind {
            DeviceKind::Microphone => self.microphone.get_untracked(),
            _ => self.camera.get_untracked(),
        });
        // The list as last seen, not a fresh `enumerateDevices()`: Firefox holds that
        // back until the page has focus, and the fallback must not wait for it.
        let list = self.list.get_untracked();
        let preferred = platform::stored(kind);
        let choice = devices::choose(list.of(kind), preferred.as_deref(), gone.as_deref())
            .map(|d| d.id.clone());
        if let Some(id) = choice {
            match self.switch(kind, Some(&id)).await {
                Ok(()) => return,
                Err(cause) => warn!(
                    "{kind:?} {id} after losing {}: {cause:?}",
                    gone.as_deref().unwrap_or("none")
                ),
            }
        }
        self.replace(kind, None).await;
        self.on_lost.run(match kind {
            DeviceKind::Microphone => "Your microphone was disconnected".to_string(),
            _ => "Your camera was disconnected".to_string(),
        });
        self.refresh();
    }
}
