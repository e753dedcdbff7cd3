//! `nonstop-load`: N WebSocket clients in rooms of K against a signaling server on
//! loopback, replaying what browsers send to set up a call: each negotiation is an
//! offer (a 4-5 KB SDP), its answer, and a few trickled candidates each way.
//!
//! It measures, in order:
//! 1. connections: N clients connect and join (bounded concurrency, from several
//!    loopback source addresses so per-address caps see N/S each);
//! 2. memory: the server's RSS (`/proc/PID/status`) before the first connection and
//!    with all N connected and idle, per connection;
//! 3. relay: negotiations started at a fixed rate for a fixed time; every relayed
//!    message carries its send time (the SDP's session id, the candidate's
//!    foundation), and the receiver computes the latency: p50/p99/max, and the
//!    relayed messages per second achieved.
//!
//! Bounded: every phase has a time limit, and a watchdog ends the process after
//! `--max-seconds` whatever happens. Loopback only: addresses outside 127.0.0.0/8
//! are refused.

// Shared with nonstop-sfu-load; this one reads only the memory.
#[allow(dead_code)]
mod procstat;
mod protocol;
mod sdp;
mod stats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use protocol::{Incoming, Target};
use stats::{Latencies, Summary};

#[derive(Debug, Parser)]
#[command(name = "nonstop-load", version, about)]
struct Args {
    /// Which server protocol to speak.
    #[arg(long, value_enum, default_value = "nonstop")]
    target: Target,
    /// The server's address (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Further nodes of the same cluster (repeatable, loopback only): client i connects to
    /// the (i mod N)th of `--addr` and these, so a room's members are spread over nodes.
    #[arg(long)]
    also_addr: Vec<SocketAddr>,
    /// Clients to connect.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Clients per room (negotiations happen between members of a room).
    #[arg(long, default_value_t = 5)]
    room_size: usize,
    /// Relayed messages per second to aim for during the relay phase.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Length of the relay phase, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Candidates each side trickles per negotiation.
    #[arg(long, default_value_t = 4)]
    candidates: usize,
    /// Loopback source addresses to spread the clients over (127.0.0.2, 127.0.0.3, ...);
    /// 0 lets the system pick (127.0.0.1).
    #[arg(long, default_value_t = 50)]
    sources: u32,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// The server's process id, for its memory (RSS) per connection.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to wait with every client connected and idle before reading the RSS.
    #[arg(long, default_value_t = 3)]
    settle_seconds: u64,
    /// Hard limit on the whole run, in seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What the driver asks a client to do.
enum Cmd {
    /// Start a negotiation: send an offer to this peer.
    Offer(Arc<str>),
}

/// Counters shared by every client.
#[derive(Default)]
struct Shared {
    /// Relayed messages received during the relay phase.
    received: AtomicU64,
    /// Relayed messages sent during the relay phase.
    sent: AtomicU64,
    /// When the last relayed message arrived (ns since [`epoch`]).
    last_received: AtomicU64,
    /// Clients whose server connection is open and joined.
    held: AtomicU64,
    /// Connections the server closed (or that failed) after joining.
    dropped: AtomicU64,
    /// `error` replies, and anything unparsable.
    errors: AtomicU64,
    /// Only messages sent after this (ns since [`epoch`]) count; 0: not yet.
    measure_from: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// One member of a room, as the driver knows it.
struct Member {
    id: Arc<str>,
    cmd: mpsc::Sender<Cmd>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    epoch();
    let nodes: Vec<SocketAddr> = std::iter::once(args.addr)
        .chain(args.also_addr.iter().copied())
        .collect();
    if let Some(outside) = nodes.iter().find(|a| !a.ip().is_loopback()) {
        eprintln!("nonstop-load: {outside} is not a loopback address; refusing");
        std::process::exit(2);
    }
    let room_size = args.room_size.max(2);
    let max = Duration::from_secs(args.max_seconds);
    std::thread::spawn(move || {
        std::thread::sleep(max);
        eprintln!("nonstop-load: --max-seconds reached; stopping");
        std::process::exit(3);
    });

    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let rss_before = args
        .server_pid
        .and_then(|pid| procstat::rss_kib(&pid.to_string()));
    let sources = source_addresses(args.sources);
    println!(
        "load: {} clients in rooms of {room_size} against {:?} at {}, from {}",
        args.clients,
        args.target,
        nodes
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(" and "),
        match sources.len() {
            0 => "127.0.0.1".to_owned(),
            n => format!(
                "{n} loopback source addresses {}..{} (about {} connections each, under per-address caps)",
                sources[0],
                sources[n - 1],
                args.clients.div_ceil(n)
            ),
        }
    );

    // Phase 1: connect and join.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let mut pending = Vec::with_capacity(args.clients);
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let spec = ClientSpec {
            target: args.target,
            addr: nodes[i % nodes.len()],
            source: (!sources.is_empty()).then(|| sources[i % sources.len()]),
            room: format!("load-{:05}", i / room_size),
            name: format!("l{i}"),
            candidates: args.candidates,
        };
        tasks.push(tokio::spawn(client(
            spec,
            shared.clone(),
            gate.clone(),
            cmd_rx,
            ready_tx,
            stop_rx.clone(),
        )));
        pending.push((i / room_size, cmd_tx, ready_rx));
    }
    let mut rooms: Vec<Vec<Member>> = (0..args.clients.div_ceil(room_size))
        .map(|_| Vec::new())
        .collect();
    let mut failures: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for (room, cmd, ready) in pending {
        match tokio::time::timeout_at(deadline, ready).await {
            Ok(Ok(Ok(id))) => rooms[room].push(Member { id: id.into(), cmd }),
            Ok(Ok(Err(why))) => failures.push(why),
            Ok(Err(_)) => failures.push("client task ended".into()),
            Err(_) => failures.push("not connected within 120 s".into()),
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let connected = shared.held.load(Relaxed);
    println!(
        "load: connected and joined {connected} of {} in {connect_secs:.1} s ({} failed{})",
        args.clients,
        failures.len(),
        failures
            .first()
            .map(|f| format!(", first: {f}"))
            .unwrap_or_default()
    );

    // Phase 2: idle memory.
    sleep(Duration::from_secs(args.settle_seconds)).await;
    let rss_idle = args
        .server_pid
        .and_then(|pid| procstat::rss_kib(&pid.to_string()));
    let per_conn_kb = match (rss_before, rss_idle) {
        (Some(b), Some(a)) if connected > 0 => Some((a as f64 - b as f64) / connected as f64),
        _ => None,
    };
    if let (Some(b), Some(a), Some(per)) = (rss_before, rss_idle, per_conn_kb) {
        println!(
            "load: server RSS {:.1} MB before, {:.1} MB with {connected} idle connections: {per:.1} KB per connection",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }

    // Phase 3: relay at a fixed rate.
    let per_negotiation = 2 + 2 * args.candidates as u64;
    let negotiations_per_sec = args.rate as f64 / per_negotiation as f64;
    let usable: Vec<&Vec<Member>> = rooms.iter().filter(|r| r.len() >= 2).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut issued = 0u64;
    let mut skipped = 0u64;
    let phase = Duration::from_secs(args.seconds);
    let t0 = Instant::now();
    shared.measure_from.store(now_ns(), Relaxed);
    if !usable.is_empty() {
        let mut tick = tokio::time::interval(Duration::from_millis(2));
        while t0.elapsed() < phase {
            tick.tick().await;
            let due = (t0.elapsed().as_secs_f64() * negotiations_per_sec) as u64;
            while issued < due {
                issued += 1;
                let room = usable[rng.below(usable.len())];
                // The newer member offers to an older one, as in the app.
                let newer = 1 + rng.below(room.len() - 1);
                let older = rng.below(newer);
                if room[newer]
                    .cmd
                    .try_send(Cmd::Offer(room[older].id.clone()))
                    .is_err()
                {
                    skipped += 1;
                }
            }
        }
    }
    // Let what is in flight arrive (at most 5 s).
    let expected = (issued - skipped) * per_negotiation;
    let drain_until = Instant::now() + Duration::from_secs(5);
    while shared.received.load(Relaxed) < expected && Instant::now() < drain_until {
        sleep(Duration::from_millis(20)).await;
    }
    let received = shared.received.load(Relaxed);
    let sent = shared.sent.load(Relaxed);
    let window = (shared.last_received.load(Relaxed) as f64 / 1e9
        - shared.measure_from.load(Relaxed) as f64 / 1e9)
        .max(phase.as_secs_f64().min(1e-3));
    let msgs_per_sec = received as f64 / window;
    let held_end = shared.held.load(Relaxed);

    let _ = stop_tx.send(true);
    let mut latencies = Latencies::default();
    let collect = async {
        for task in tasks {
            if let Ok(l) = task.await {
                latencies.extend(l);
            }
        }
    };
    if timeout(Duration::from_secs(10), collect).await.is_err() {
        eprintln!("load: some clients did not stop in time; latencies are partial");
    }
    let summary = latencies.summary();
    let ms = |us: u32| us as f64 / 1000.0;
    println!(
        "load: relay: {negotiations_per_sec:.0} negotiations/s x {per_negotiation} messages for {} s: sent {sent}, received {received} ({} lost), {msgs_per_sec:.0} messages/s (aim {})",
        args.seconds,
        sent.saturating_sub(received),
        args.rate
    );
    if let Some(Summary {
        count,
        p50,
        p99,
        max,
    }) = summary
    {
        println!(
            "load: relay latency over {count} messages: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
    println!(
        "load: connections held at the end: {held_end} of {} ({} dropped by the server, {} error replies, {skipped} negotiations skipped: client busy)",
        args.clients,
        shared.dropped.load(Relaxed),
        shared.errors.load(Relaxed)
    );
    let server_side = match args.target {
        Target::Nonstop => server_relay_quantiles(args.addr).await,
        Target::Peerjs => None,
    };
    if let Some((count, p50, p99)) = server_side {
        println!(
            "load: server's own /metrics: {count} relays, read-to-queued p50 <= {p50} ms, p99 <= {p99} ms (bucket bounds)"
        );
    }
    if let Some(path) = &args.json {
        let result = json!({
            "target": format!("{:?}", args.target).to_lowercase(),
            "clients": args.clients,
            "room_size": room_size,
            "sources": sources.len(),
            "connected": connected,
            "connect_seconds": connect_secs,
            "held_at_end": held_end,
            "rss_before_kb": rss_before,
            "rss_idle_kb": rss_idle,
            "kb_per_connection": per_conn_kb,
            "rate_target": args.rate,
            "seconds": args.seconds,
            "sent": sent,
            "received": received,
            "messages_per_second": msgs_per_sec,
            "p50_ms": summary.map(|s| ms(s.p50)),
            "p99_ms": summary.map(|s| ms(s.p99)),
            "max_ms": summary.map(|s| ms(s.max)),
            "errors": shared.errors.load(Relaxed),
            "dropped": shared.dropped.load(Relaxed),
            "server_p99_ms_bound": server_side.map(|(_, _, p99)| p99),
        });
        if let Err(e) = std::fs::write(path, format!("{result:#}\n")) {
            eprintln!("load: cannot write {}: {e}", path.display());
        }
    }
    // Every socket closes with the process; no need to say goodbye 10,000 times.
    std::process::exit(0);
}

struct ClientSpec {
    target: Target,
    addr: SocketAddr,
    source: Option<IpAddr>,
    room: String,
    name: String,
    candidates: usize,
}

/// One client: connect, join, report its id, then answer offers, answers and pings
/// until told to stop; returns the latencies it measured.
async fn client(
    spec: ClientSpec,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    mut cmds: mpsc::Receiver<Cmd>,
    ready: oneshot::Sender<Result<String, String>>,
    mut stop: watch::Receiver<bool>,
) -> Latencies {
    let mut latencies = Latencies::default();
    let permit = gate.acquire_owned().await;
    let mut ws = match timeout(Duration::from_secs(30), connect(&spec)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            let _ = ready.send(Err(e));
            return latencies;
        }
        Err(_) => {
            let _ = ready.send(Err("connect timed out".into()));
            return latencies;
        }
    };
    let target = spec.target;
    let mut me = Some(spec.name.clone());
    if let Some(join) = target.join(&spec.room, &spec.name) {
        if let Err(e) = ws.send(Message::text(join)).await {
            let _ = ready.send(Err(format!("join: {e}")));
            return latencies;
        }
    }
    // Until the server accepts us.
    let accepted = timeout(Duration::from_secs(30), async {
        while let Some(frame) = ws.next().await {
            let Ok(Message::Text(text)) = frame else {
                continue;
            };
            match target.parse(text.as_str()) {
                Incoming::Ready(id) => return Ok(id.or(me.take()).unwrap_or_default()),
                Incoming::Ping => {
                    let _ = ws.send(Message::text(target.heartbeat())).await;
                }
                Incoming::Error(e) => return Err(e),
                _ => {}
            }
        }
        Err("closed before joining".to_owned())
    })
    .await
    .unwrap_or_else(|_| Err("no welcome within 30 s".into()));
    let id = match accepted {
        Ok(id) => id,
        Err(e) => {
            let _ = ready.send(Err(e));
            return latencies;
        }
    };
    shared.held.fetch_add(1, Relaxed);
    drop(permit);
    let _ = ready.send(Ok(id));

    let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
    loop {
        let out: Vec<String> = tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let msg = target.parse(text.as_str());
                    let (from, stamp) = match &msg {
                        Incoming::Offer { from, stamp } | Incoming::Answer { from, stamp } | Incoming::Candidate { from, stamp } => (from.clone(), *stamp),
                        Incoming::Ping => {
                            if ws.send(Message::text(target.heartbeat())).await.is_err() { break; }
                            continue;
                        }
                        Incoming::Error(_) => { shared.errors.fetch_add(1, Relaxed); continue; }
                        _ => continue,
                    };
                    if let Some(stamp) = stamp {
                        let now = now_ns();
                        if stamp >= shared.measure_from.load(Relaxed) && shared.measure_from.load(Relaxed) > 0 {
                            latencies.push(now.saturating_sub(stamp) / 1000);
                            shared.received.fetch_add(1, Relaxed);
                            shared.last_received.fetch_max(now, Relaxed);
                        }
                    }
                    // The offerer trickled its candidates with the offer; the answerer
                    // answers and trickles its own. Answers and candidates end there.
                    match msg {
                        Incoming::Offer { .. } => {
                            let mut out = vec![target.answer(&from, sdp::sdp(now_ns()))];
                            out.extend((0..spec.candidates).map(|n| target.candidate(&from, sdp::candidate(now_ns(), n))));
                            out
                        }
                        _ => continue,
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    shared.held.fetch_sub(1, Relaxed);
                    shared.dropped.fetch_add(1, Relaxed);
                    break;
                }
                Some(Ok(_)) => continue,
            },
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Offer(to)) => {
                    let mut out = vec![target.offer(&to, sdp::sdp(now_ns()))];
                    // Browsers trickle their own candidates right after the offer.
                    out.extend((0..spec.candidates).map(|n| target.candidate(&to, sdp::candidate(now_ns(), n))));
                    out
                }
                None => break,
            },
            _ = heartbeat.tick(), if target.client_heartbeats() => vec![target.heartbeat().to_owned()],
            _ = stop.changed() => break,
        };
        let relays = out.iter().filter(|m| !m.contains("HEARTBEAT")).count() as u64;
        let mut failed = false;
        for msg in out {
            if ws.feed(Message::text(msg)).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed || ws.flush().await.is_err() {
            shared.held.fetch_sub(1, Relaxed);
            shared.dropped.fetch_add(1, Relaxed);
            break;
        }
        if shared.measure_from.load(Relaxed) > 0 {
            shared.sent.fetch_add(relays, Relaxed);
        }
    }
    latencies
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(spec: &ClientSpec) -> Result<Ws, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(source) = spec.source {
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
    }
    let stream = socket
        .connect(spec.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    // Small buffers: 10,000 clients at the default 128 KiB each would be 2.5 GB here.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let url = spec.target.url(&spec.addr.to_string(), &spec.name);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    Ok(ws)
}

/// Nonstop's relay latency histogram from `/metrics` (all message types together):
/// (count, p50 and p99 as the upper bounds of their buckets, in ms).
async fn server_relay_quantiles(addr: SocketAddr) -> Option<(u64, f64, f64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut body = String::new();
    timeout(Duration::from_secs(5), stream.read_to_string(&mut body))
        .await
        .ok()?
        .ok()?;
    let buckets = metrics_buckets(&body);
    let total = buckets.last()?.1;
    let at = |q: f64| {
        let want = (q * total as f64).ceil() as u64;
        buckets
            .iter()
            .find(|(_, n)| *n >= want)
            .map_or(f64::INFINITY, |(le, _)| le * 1000.0)
    };
    (total > 0).then(|| (total, at(0.5), at(0.99)))
}

/// Cumulative (upper bound in seconds, count) of `nonstop_relay_latency_seconds`,
/// summed over the `type` label.
fn metrics_buckets(text: &str) -> Vec<(f64, u64)> {
    let mut sums: Vec<(f64, u64)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("nonstop_relay_latency_seconds_bucket{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let Some(le) = labels
            .split("le=\"")
            .nth(1)
            .and_then(|l| l.strip_suffix('"'))
        else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        let n: u64 = value.trim().parse().unwrap_or(0);
        match sums.iter_mut().find(|(bound, _)| *bound == le) {
            Some(slot) => slot.1 += n,
            None => sums.push((le, n)),
        }
    }
    sums.sort_by(|a, b| a.0.total_cmp(&b.0));
    sums
}

/// 127.0.0.2, 127.0.0.3, ...: every 127/8 address is local on Linux.
fn source_addresses(n: u32) -> Vec<IpAddr> {
    let first = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    (0..n.min(1 << 20))
        .map(|i| IpAddr::V4(Ipv4Addr::from(first + i)))
        .collect()
}

/// Enough randomness to pick rooms and pairs, reproducibly.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_histograms_are_summed_over_types() {
        let text = "nonstop_relay_latency_seconds_bucket{type=\"offer\",le=\"0.001\"} 3\n\
                    nonstop_relay_latency_seconds_bucket{type=\"offer\",le=\"+Inf\"} 4\n\
                    nonstop_relay_latency_seconds_bucket{type=\"answer\",le=\"0.001\"} 1\n\
                    nonstop_relay_latency_seconds_bucket{type=\"answer\",le=\"+Inf\"} 1\n\
                    nonstop_relay_latency_seconds_count{type=\"offer\"} 4\n";
        assert_eq!(
            super::metrics_buckets(text),
            vec![(0.001, 4), (f64::INFINITY, 5)]
        );
    }
}
