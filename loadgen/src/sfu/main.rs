//! `nonstop-sfu-load`: scripted WebRTC participants in one call relayed through Janus
//! (scripts/bench-sfu). Each joins like the app (signaling WebSocket, `join`, `pong`,
//! `topology_ready`, grants), reaches Janus through the server's proxy, publishes VP8 +
//! Opus over a real ICE / DTLS-SRTP / RTP connection (str0m) and receives the page of
//! cameras and the speakers' audio the app's policy picks. Participants join in steps;
//! after each step settles it prints what the call costs and how it goes.
//!
//! Bounded: every step has a time limit and a watchdog ends the process after
//! `--max-seconds`. Private addresses only (loopback, 10/8, 172.16/12, 192.168/16).

mod args;
mod counters;
mod ivf;
mod janus_admin;
mod media;
mod participant;
mod peer;
mod plan;
// Shared with nonstop-load (src/main.rs), which reads only the memory.
#[path = "../procstat.rs"]
mod procstat;
mod publisher;
mod report;
mod subscriber;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::watch;

use args::{is_private, Args};
use counters::{totals, Slot};
use ivf::Ivf;
use participant::Setup;
use procstat::CpuWindow;
use report::StepReport;

fn main() {
    let args = Args::parse();
    if !is_private(args.server.ip()) || args.local_ip.is_some_and(|ip| !is_private(ip)) {
        eprintln!("nonstop-sfu-load: only loopback and private addresses; refusing");
        std::process::exit(2);
    }
    let max = Duration::from_secs(args.max_seconds);
    std::thread::spawn(move || {
        std::thread::sleep(max + Duration::from_secs(30));
        eprintln!("nonstop-sfu-load: watchdog: still running {max:?} after start; exiting");
        std::process::exit(3);
    });
    str0m::crypto::from_feature_flags().install_process_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_secs(2));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let video = match std::fs::read(&args.video)
        .map_err(|e| e.to_string())
        .and_then(|b| Ivf::parse(&b))
    {
        Ok(v) => Arc::new(v),
        Err(e) => {
            eprintln!("nonstop-sfu-load: {}: {e}", args.video.display());
            return 2;
        }
    };
    println!(
        "nonstop-sfu-load: video {}x{} at {:.0} fps, {} frames, keyframe every {} frames at most; {} speakers, page of {}",
        video.width,
        video.height,
        video.fps,
        video.frames.len(),
        video.max_keyframe_distance(),
        args.speakers,
        args.page
    );
    let setup = Arc::new(Setup {
        server: args.server,
        room: args.room.clone(),
        local_ip: args.local_ip.unwrap_or(args.server.ip()),
        page: args.page,
        video,
        epoch: started,
        verbose: args.verbose,
    });
    let janus = match (&args.janus_admin_ws, &args.janus_secrets_file) {
        (Some(url), Some(f)) => match janus_admin::connect(url, f) {
            Ok(janus) => Some(janus),
            Err(e) => {
                eprintln!("nonstop-sfu-load: {e}");
                None
            }
        },
        _ => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut slots: Vec<Arc<Slot>> = Vec::new();
    let mut reports: Vec<StepReport> = Vec::new();
    let out_of_time = |at: Instant| at >= deadline;

    'steps: for target in args.steps() {
        let step_start = Instant::now();
        let first_new = slots.len();
        while slots.len() < target {
            if out_of_time(Instant::now()) {
                println!("nonstop-sfu-load: --max-seconds reached while joining");
                break 'steps;
            }
            let index = slots.len();
            let slot = Arc::new(Slot::default());
            slots.push(Arc::clone(&slot));
            tokio::spawn(participant::run(
                index,
                index < args.speakers,
                Arc::clone(&setup),
                slot,
                stop_rx.clone(),
            ));
            tokio::time::sleep(Duration::from_millis(args.join_interval_ms)).await;
        }
        // Wait until every newcomer receives video (the first alone has none to receive).
        let step_deadline = step_start + Duration::from_secs(args.step_timeout_seconds);
        loop {
            let waiting = slots[first_new..]
                .iter()
                .enumerate()
                .filter(|(i, s)| {
                    first_new + i > 0 && s.join_ms.load(Relaxed) == 0 && !s.ended.load(Relaxed)
                })
                .count();
            let now = Instant::now();
            if waiting == 0 || now >= step_deadline || out_of_time(now) {
                if waiting > 0 {
                    println!(
                        "nonstop-sfu-load: step {target}: {waiting} newcomers still receive no video after {:.0} s",
                        now.duration_since(step_start).as_secs_f64()
                    );
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let joins_took = step_start.elapsed();
        if sleep_bounded(Duration::from_secs(args.settle_seconds), deadline).await {
            break;
        }
        // The measured window.
        let before = totals(&slots);
        let before_bytes = report::bytes_of(&slots);
        let janus_cpu = args.janus_pid.map(|p| CpuWindow::start(&p.to_string()));
        let server_cpu = args.server_pid.map(|p| CpuWindow::start(&p.to_string()));
        let own_cpu = CpuWindow::start("self");
        let machine_before = procstat::machine_ticks();
        let udp_before = procstat::udp_drops();
        let window_start = Instant::now();
        let cut = sleep_bounded(Duration::from_secs(args.window_seconds), deadline).await;
        let window = window_start.elapsed();
        let after = totals(&slots);
        let machine_busy = match (machine_before, procstat::machine_ticks()) {
            (Some((b0, a0)), Some((b1, a1))) if a1 > a0 => {
                Some((b1 - b0) as f64 / (a1 - a0) as f64 * 100.0)
            }
            _ => None,
        };
        let udp_drops = match (udp_before, procstat::udp_drops()) {
            (Some(b), Some(a)) => Some((a.0 - b.0, a.1 - b.1, a.2 - b.2)),
            _ => None,
        };
        let room = slots.iter().find_map(|s| s.room.lock().unwrap().clone());
        let janus_view = match (&janus, &room) {
            (Some(janus), Some(room)) => janus_admin::room_counts(janus, room).await.ok(),
            _ => None,
        };
        let report = StepReport::new(report::Measured {
            target,
            slots: &slots,
            first_new,
            joins_took,
            window,
            before,
            after,
            before_bytes,
            janus_cpu: janus_cpu.and_then(|c| c.percent()),
            janus_rss_kib: args
                .janus_pid
                .and_then(|p| procstat::rss_kib(&p.to_string())),
            server_cpu: server_cpu.and_then(|c| c.percent()),
            loader_cpu: own_cpu.percent(),
            machine_busy,
            udp_drops,
            janus_view,
        });
        report.print();
        reports.push(report);
        if cut {
            println!("nonstop-sfu-load: --max-seconds reached while measuring");
            break;
        }
    }
    report::print_summary(&reports, &slots);
    if args.hold_seconds > 0 {
        println!(
            "nonstop-sfu-load: holding the call for {} s",
            args.hold_seconds
        );
        sleep_bounded(Duration::from_secs(args.hold_seconds), deadline).await;
    }
    let _ = stop_tx.send(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    0
}

/// Sleeps for `span` unless `deadline` comes first. True when cut short.
async fn sleep_bounded(span: Duration, deadline: Instant) -> bool {
    let until = (Instant::now() + span).min(deadline);
    tokio::time::sleep_until(until.into()).await;
    until == deadline
}
