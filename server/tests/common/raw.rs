//! WebSocket clients written by hand over TCP, for attacks a well-behaved library will
//! not make: frames never finished, pings never read, sockets that say nothing. They
//! keep almost no memory of their own, so the process's RSS is the server's.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::PATIENCE;

/// A text frame's opcode, and the others used here.
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;

/// Opens `/ws` and completes the upgrade; `Err(status line)` if the server refused.
pub async fn upgrade(addr: SocketAddr) -> Result<TcpStream, String> {
    upgrade_with_recv_buffer(addr, None).await
}

/// Like [`upgrade`], with a small receive buffer, so that a client that does not read
/// fills up after a few kilobytes instead of megabytes of kernel buffer.
pub async fn upgrade_with_recv_buffer(
    addr: SocketAddr,
    recv_buffer: Option<u32>,
) -> Result<TcpStream, String> {
    upgrade_with(addr, recv_buffer, "").await
}

/// Opens `/ws` and sends `join` for `room` as `name` (without waiting for the welcome).
pub async fn joined(addr: SocketAddr, room: &str, name: &str) -> TcpStream {
    let mut stream = upgrade(addr).await.expect("upgrade");
    let join = super::join_msg(room, name).to_json();
    stream
        .write_all(&frame(TEXT, join.as_bytes()))
        .await
        .expect("send join");
    stream
}

/// Streams one text frame of 1 MiB of `a` in `chunk`-byte writes, as a client
/// sending a huge message would (the server closes before the end).
pub async fn send_mib_frame<W: AsyncWrite + Unpin>(
    write: &mut W,
    chunk: usize,
) -> std::io::Result<()> {
    const MIB: usize = 1 << 20;
    write.write_all(&frame_header(TEXT, MIB)).await?;
    let bytes = vec![b'a'; chunk];
    for _ in 0..MIB / chunk {
        write.write_all(&bytes).await?;
    }
    Ok(())
}

/// Like [`upgrade`], as a reverse proxy would send it for `client`.
pub async fn upgrade_forwarded_for(addr: SocketAddr, client: &str) -> Result<TcpStream, String> {
    upgrade_with(addr, None, &format!("X-Forwarded-For: {client}\r\n")).await
}

/// Opens `/ws` with `extra_headers` (each line ending in CRLF).
async fn upgrade_with(
    addr: SocketAddr,
    recv_buffer: Option<u32>,
    extra_headers: &str,
) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let head = read_head(&mut stream).await?;
    if head.starts_with("HTTP/1.1 101") {
        Ok(stream)
    } else {
        Err(head)
    }
}

/// Reads an HTTP response head (and, for a refusal, what follows it), byte by byte so
/// that nothing after the head is consumed from an upgraded stream.
async fn read_head(stream: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            Ok(Ok(_)) => break,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no response head in time".into()),
        }
    }
    let mut text = String::from_utf8_lossy(&head).into_owned();
    if !text.starts_with("HTTP/1.1 101") {
        let mut body = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut body)).await;
        text.push_str(&String::from_utf8_lossy(&body));
    }
    Ok(text)
}

/// The header of a masked client frame of `len` payload bytes (mask key 0, so the
/// payload goes as it is).
pub fn frame_header(opcode: u8, len: usize) -> Vec<u8> {
    let mut header = vec![0x80 | opcode];
    if len < 126 {
        header.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        header.push(0x80 | 126);
        header.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        header.push(0x80 | 127);
        header.extend_from_slice(&(len as u64).to_be_bytes());
    }
    header.extend_from_slice(&[0, 0, 0, 0]);
    header
}

/// One whole client frame.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame_header(opcode, payload.len());
    bytes.extend_from_slice(payload);
    bytes
}

/// A server frame: (opcode, payload).
pub async fn read_frame<R: AsyncRead + Unpin>(stream: &mut R) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n).await?;
            u16::from_be_bytes(n) as usize
        }
        127 => {
            let mut n = [0u8; 8];
            stream.read_exact(&mut n).await?;
            u64::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    Ok((head[0] & 0x0f, payload))
}

/// Reads until the server's close frame: its code, or `None` if the stream ended
/// without one. Text frames on the way are returned too.
pub async fn read_until_close<R: AsyncRead + Unpin>(
    stream: &mut R,
    within: Duration,
) -> (Option<u16>, Vec<String>) {
    let mut texts = Vec::new();
    let read = async {
        loop {
            match read_frame(stream).await {
                Ok((CLOSE, payload)) if payload.len() >= 2 => {
                    return Some(u16::from_be_bytes([payload[0], payload[1]]))
                }
                Ok((CLOSE, _)) => return Some(1005),
                Ok((TEXT, payload)) => texts.push(String::from_utf8_lossy(&payload).into_owned()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    };
    let code = tokio::time::timeout(within, read).await.unwrap_or(None);
    (code, texts)
}

/// Whether the server closed the connection (EOF or reset) within `within`; reads and
/// drops whatever arrives meanwhile.
pub async fn closed_within<R: AsyncRead + Unpin>(stream: &mut R, within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.is_ok()
}

/// This process's resident memory once the allocator has handed back what it holds
/// free, in KiB. glibc keeps freed memory in per-thread arenas, so after a burst RSS
/// alone counts queues the server already dropped; trimming first leaves what the
/// server still holds, which is what "memory kept after an attack" means.
pub fn settled_rss_kib() -> u64 {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe { libc::malloc_trim(0) };
    rss_kib()
}

/// This process's resident memory, in KiB (the test server runs in it).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
