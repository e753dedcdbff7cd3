//! A connection's outbound queue, bounded in messages and in bytes: a client that
//! does not read can hold at most `max_bytes` of the server's memory (plus what is
//! being written), whatever the size of the messages sent to it.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};

use crate::hub::Outgoing;

/// Bytes queued for one connection unless `--send-queue-bytes` says otherwise: far
/// more than a browser ever falls behind (199 answers of a few kilobytes), a sixteenth
/// of what one client could pile up before.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 1024 * 1024;

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct OutQueue {
    tx: mpsc::Sender<(Outgoing, usize)>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The receiving side, for the connection's writer.
#[derive(Debug)]
pub struct OutQueueRx {
    rx: mpsc::Receiver<(Outgoing, usize)>,
    bytes: Arc<AtomicUsize>,
}

impl OutQueue {
    /// A queue of at most `len` items and `max_bytes` bytes of messages.
    pub fn new(len: usize, max_bytes: usize) -> (OutQueue, OutQueueRx) {
        let (tx, rx) = mpsc::channel(len);
        let bytes = Arc::new(AtomicUsize::new(0));
        (
            OutQueue {
                tx,
                bytes: bytes.clone(),
                max_bytes,
            },
            OutQueueRx { rx, bytes },
        )
    }

    /// Queues `item` without waiting; `Full` when either bound would be passed.
    pub fn try_send(&self, item: Outgoing) -> Result<(), TrySendError<Outgoing>> {
        let size = wire_size(&item);
        // Reserve first, so that concurrent senders cannot pass the bound together.
        let before = self.bytes.fetch_add(size, Ordering::AcqRel);
        // A close frame always fits (it ends the connection); so does a message into
        // an empty queue, which no size limit should make undeliverable.
        let fits = matches!(item, Outgoing::Close { .. })
            || before == 0
            || before + size <= self.max_bytes;
        if !fits {
            self.bytes.fetch_sub(size, Ordering::AcqRel);
            return Err(TrySendError::Full(item));
        }
        self.tx.try_send((item, size)).map_err(|e| {
            self.bytes.fetch_sub(size, Ordering::AcqRel);
            match e {
                TrySendError::Full((item, _)) => TrySendError::Full(item),
                TrySendError::Closed((item, _)) => TrySendError::Closed(item),
            }
        })
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }
}

impl OutQueueRx {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let (item, size) = self.rx.recv().await?;
        self.bytes.fetch_sub(size, Ordering::AcqRel);
        Some(item)
    }

    pub fn try_recv(&mut self) -> Result<Outgoing, TryRecvError> {
        let (item, size) = self.rx.try_recv()?;
        self.bytes.fetch_sub(size, Ordering::AcqRel);
        Ok(item)
    }
}

/// The size of the text frame `item` becomes; 0 for a close.
fn wire_size(item: &Outgoing) -> usize {
    match item {
        Outgoing::Msg(msg) => {
            let mut counter = ByteCounter(0);
            // Serializing plain data into a counter cannot fail (see ServerMsg::to_json).
            serde_json::to_writer(&mut counter, msg).expect("ServerMsg serializes");
            counter.0
        }
        Outgoing::Close { .. } => 0,
    }
}

/// Counts what is written instead of keeping it.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nonstop_core::protocol::ServerMsg;
    use nonstop_core::ParticipantId;

    fn offer(len: usize) -> Outgoing {
        Outgoing::msg(ServerMsg::Offer {
            from: ParticipantId::new(1),
            sdp: "a".repeat(len),
        })
    }

    #[tokio::test]
    async fn bounded_in_bytes_and_counted_down_as_it_drains() {
        let (queue, mut rx) = OutQueue::new(100, 10_000);
        let size = wire_size(&offer(3_000));
        assert_eq!(
            size,
            ServerMsg::Offer {
                from: ParticipantId::new(1),
                sdp: "a".repeat(3_000)
            }
            .to_json()
            .len()
        );
        for _ in 0..3 {
            queue.try_send(offer(3_000)).unwrap();
        }
        assert!(matches!(
            queue.try_send(offer(3_000)),
            Err(TrySendError::Full(_))
        ));
        assert_eq!(queue.queued_bytes(), 3 * size);
        queue
            .try_send(Outgoing::Close {
                code: 1000,
                reason: "bye",
            })
            .expect("a close always fits");
        rx.recv().await.unwrap();
        assert_eq!(queue.queued_bytes(), 2 * size);
        queue.try_send(offer(3_000)).unwrap();
    }

    #[test]
    fn one_message_larger_than_the_bound_still_goes_into_an_empty_queue() {
        let (queue, mut rx) = OutQueue::new(100, 1_000);
        queue.try_send(offer(5_000)).unwrap();
        assert!(queue.try_send(offer(10)).is_err());
        rx.try_recv().unwrap();
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn a_full_channel_gives_the_bytes_back() {
        let (queue, _rx) = OutQueue::new(1, 1_000_000);
        queue.try_send(offer(10)).unwrap();
        assert!(queue.try_send(offer(10)).is_err());
        assert_eq!(queue.queued_bytes(), wire_size(&offer(10)));
    }
}
