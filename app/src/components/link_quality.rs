//! The network-quality indicator on a tile, and the statistics panel: what people
//! look at to see why a video looks poor. Both read the [`AdaptationView`] the meeting
//! page provides as context (absent: nothing is shown).

use leptos::either::Either;
use leptos::prelude::*;
use nonstop_core::adaptation::{Bitrate, QualityLevel, Resolution};
use nonstop_core::ParticipantId;

use super::decimal::fixed;
use crate::call::view::CallView;
use crate::call::view::{reason_text, AdaptationView, LinkStats};

fn level_str(level: QualityLevel) -> &'static str {
    match level {
        QualityLevel::Good => "good",
        QualityLevel::Fair => "fair",
        QualityLevel::Poor => "poor",
    }
}

/// Three bars, filled by level. `id` is the remote participant, or `None` for our own
/// tile (the worst of our outgoing links).
#[component]
pub fn QualityBadge(id: Option<ParticipantId>) -> impl IntoView {
    let view = use_context::<AdaptationView>();
    let quality = move || {
        let v = view?;
        match id {
            Some(id) => v.quality(id),
            None => v.worst(),
        }
    };
    move || {
        quality().map(|q| {
            let level = level_str(q.level);
            let bars = match q.level {
                QualityLevel::Good => 3,
                QualityLevel::Fair => 2,
                QualityLevel::Poor => 1,
            };
            let whose = if id.is_some() {
                "Connection"
            } else {
                "Your connection"
            };
            let label = match q.level {
                QualityLevel::Good => format!("{whose}: good"),
                _ => format!("{whose}: {level} ({})", reason_text(q)),
            };
            view! {
                <span class="quality" data-testid="quality" data-level=level role="img"
                    aria-label=label.clone() title=label>
                    {(1..=3).map(|i| view! { <i class:on=i <= bars></i> }).collect_view()}
                </span>
            }
        })
    }
}

fn kbps(b: Option<Bitrate>) -> String {
    b.map_or("–".into(), |b| b.to_string())
}
fn res(r: Option<Resolution>, fps: Option<f64>) -> String {
    match (r, fps) {
        (Some(r), Some(f)) => format!("{}×{} @ {} fps", r.width, r.height, fixed(f, 0)),
        (Some(r), None) => format!("{}×{}", r.width, r.height),
        _ => "–".into(),
    }
}

/// A polyline of `values` (oldest first) scaled into `w`×`h`, the top at `max`.
fn polyline(values: &[(f64, f64)], w: f64, h: f64, max: f64) -> String {
    let max = max.max(1.0);
    values
        .iter()
        .map(|(t, v)| {
            format!(
                "{},{}",
                fixed(t * w, 1),
                fixed(h - (v / max).min(1.0) * h, 1)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last minute of send/receive bit rate and RTT as a small inline SVG.
#[component]
fn Plot(stats: LinkStats) -> impl IntoView {
    // Whole numbers: the attributes show them as written (an f64 would bring float formatting).
    let (width, height) = (180u32, 40u32);
    let (w, h) = (f64::from(width), f64::from(height));
    let (first, last) = match (stats.history.first(), stats.history.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => return Either::Left(view! { <svg class="plot" width=width height=height></svg> }),
    };
    let span = (last.since(first).as_millis() as f64).max(60_000.0);
    let x = |t: nonstop_core::time::Time| 1.0 - (last.since(t).as_millis() as f64 / span);
    let rate_max = stats
        .history
        .iter()
        .map(|p| p.1.max(p.2))
        .fold(0.0, f64::max);
    let rtt_max = stats
        .history
        .iter()
        .map(|p| p.3)
        .fold(0.0, f64::max)
        .max(100.0);
    let send: Vec<_> = stats.history.iter().map(|p| (x(p.0), p.1)).collect();
    let recv: Vec<_> = stats.history.iter().map(|p| (x(p.0), p.2)).collect();
    let rtt: Vec<_> = stats.history.iter().map(|p| (x(p.0), p.3)).collect();
    let title = format!(
        "Last minute: send and receive bit rate (up to {} kb/s), RTT (up to {} ms)",
        fixed(rate_max, 0),
        fixed(rtt_max, 0)
    );
    Either::Right(view! {
        <svg class="plot" data-testid="stats-plot" width=width height=height viewBox=format!("0 0 {width} {height}") role="img" aria-label=title>
            <polyline class="send" points=polyline(&send, w, h, rate_max)></polyline>
            <polyline class="recv" points=polyline(&recv, w, h, rate_max)></polyline>
            <polyline class="rtt" points=polyline(&rtt, w, h, rtt_max)></polyline>
        </svg>
    })
}

/// The "Show statistics" toggle and, when open, one section per link.
#[component]
pub fn StatsPanel(call: CallView) -> impl IntoView {
    let open = RwSignal::new(false);
    let view = use_context::<AdaptationView>();
    let label = move || {
        if open.get() {
            "Hide statistics"
        } else {
            "Show statistics"
        }
    };
    let name_of = move |id: ParticipantId| {
        call.name_of(id)
            .unwrap_or_else(|| format!("Participant {id}"))
    };
    let rows = move || {
        let Some(v) = view else { return Vec::new() };
        v.links
            .with(|l| l.iter().map(|(id, s)| (*id, s.clone())).collect::<Vec<_>>())
    };
    let adapting = move || view.is_none_or(|v| v.enabled.get());
    view! {
        <button type="button" class="toggle wide" aria-label=label title=label
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)>
            "Stats"
        </button>
        <Show when=move || open.get()>
            <aside class="stats-panel" data-testid="stats-panel" aria-label="Connection statistics">
                <h2>"Connection statistics"</h2>
                {move || (!adapting()).then(|| view! { <p class="note">"Quality adaptation is off (?adapt=off)."</p> })}
                {move || {
                    let rows = rows();
                    if rows.is_empty() {
                        return Either::Left(view! { <p class="note">"No one else is here yet."</p> });
                    }
                    Either::Right(rows.into_iter().map(|(id, s)| {
                        let path = match s.relayed {
                            Some(true) => "relayed",
                            Some(false) => "direct",
                            None => "unknown",
                        };
                        let quality = s.quality.map_or("–".to_string(), |q| match q.level {
                            QualityLevel::Good => "good".into(),
                            l => format!("{} ({})", level_str(l), reason_text(q)),
                        });
                        let loss = s.loss.map_or("–".into(), |l| fixed(l * 100.0, 1) + " %");
                        let rtt = s.rtt.map_or("–".into(), |r| format!("{} ms", r.as_millis()));
                        let send_video = if s.video_off { "video paused".to_string() } else { res(s.send_frame, s.send_fps) };
                        view! {
                            <section class="link-stats" data-testid="link-stats" data-participant=id.to_string() data-path=path>
                                <h3>{name_of(id)}</h3>
                                <dl>
                                    <dt>"Quality"</dt><dd data-stat="quality">{quality}</dd>
                                    <dt>"Path"</dt><dd data-stat="path">{path}</dd>
                                    <dt>"Send"</dt><dd data-stat="send">{format!("{}, {}", kbps(s.send_bitrate), send_video)}</dd>
                                    <dt>"Receive"</dt><dd data-stat="receive">{format!("{}, {}", kbps(s.recv_bitrate), res(s.recv_frame, s.recv_fps))}</dd>
                                    <dt>"Budget"</dt><dd data-stat="budget">{kbps(s.budget)}</dd>
                                    <dt>"RTT"</dt><dd data-stat="rtt">{rtt}</dd>
                                    <dt>"Loss"</dt><dd data-stat="loss">{loss}</dd>
                                </dl>
                                <Plot stats=s/>
                            </section>
                        }
                    }).collect_view())
                }}
            </aside>
        </Show>
    }
}
