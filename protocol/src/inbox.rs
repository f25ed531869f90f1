//! Queues bounded by bytes, not by count: what a peer's messages may hold of this node's memory while they wait.
//!
//! A queue of 256 messages is a queue of up to 256 × [`MAX_FRAME_LEN`] = 2 GiB. [`bounded_by_bytes`] is a
//! channel whose senders wait until the queued items' sizes leave room; [`Connection::inbox`](crate::Connection::inbox)
//! reads a connection into one (at most [`INBOX_MAX_BYTES`] by default), so a peer that sends faster than this
//! node handles holds at most that much, plus the one frame being read.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc};

use crate::frame::{FrameError, MAX_FRAME_LEN, Message};

/// The default budget of a connection's inbox: two frames of the largest size, so one can wait while the next is
/// read, or tens of thousands of ordinary (sub-kilobyte) sync messages.
pub const INBOX_MAX_BYTES: usize = 2 * MAX_FRAME_LEN as usize;

/// What an item costs beyond the bytes it declares: its own size in the queue, so that empty items are bounded
/// too.
fn cost<T>(bytes: usize, budget: usize) -> u32 {
    // An item larger than the whole budget takes all of it: it waits for an empty queue rather than forever.
    let cost = bytes
        .saturating_add(std::mem::size_of::<T>())
        .clamp(1, budget);
    u32::try_from(cost).unwrap_or(u32::MAX)
}

/// The sending half of a [`bounded_by_bytes`] channel.
#[derive(Debug)]
pub struct ByteSender<T> {
    tx: mpsc::UnboundedSender<(T, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    max_bytes: usize,
}

impl<T> Clone for ByteSender<T> {
    fn clone(&self) -> Self {
        ByteSender {
            tx: self.tx.clone(),
            budget: self.budget.clone(),
            max_bytes: self.max_bytes,
        }
    }
}

/// The receiving half of a [`bounded_by_bytes`] channel.
#[derive(Debug)]
pub struct ByteReceiver<T> {
    rx: mpsc::UnboundedReceiver<(T, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    max_bytes: usize,
}

/// A channel holding at most `max_bytes` (at least 1) of items at once, each counted as the bytes its sender
/// declares plus its own size. An item larger than `max_bytes` is let through alone, once the queue is empty.
pub fn bounded_by_bytes<T>(max_bytes: usize) -> (ByteSender<T>, ByteReceiver<T>) {
    let max_bytes = max_bytes.clamp(1, (u32::MAX as usize).min(Semaphore::MAX_PERMITS));
    let budget = Arc::new(Semaphore::new(max_bytes));
    let (tx, rx) = mpsc::unbounded_channel();
    (
        ByteSender {
            tx,
            budget: budget.clone(),
            max_bytes,
        },
        ByteReceiver {
            rx,
            budget,
            max_bytes,
        },
    )
}

impl<T> ByteSender<T> {
    /// Queue `item` of `bytes`, waiting until the queue has room for it. Gives the item back if the receiver is
    /// gone. Cancelling the wait drops the item.
    pub async fn send(&self, item: T, bytes: usize) -> Result<(), T> {
        let Ok(permit) = self
            .budget
            .clone()
            .acquire_many_owned(cost::<T>(bytes, self.max_bytes))
            .await
        else {
            return Err(item);
        };
        self.tx.send((item, permit)).map_err(|e| e.0.0)
    }

    /// Queue `item` of `bytes` only if there is room now; otherwise (or if the receiver is gone) give it back.
    pub fn try_send(&self, item: T, bytes: usize) -> Result<(), T> {
        match self
            .budget
            .clone()
            .try_acquire_many_owned(cost::<T>(bytes, self.max_bytes))
        {
            Ok(permit) => self.tx.send((item, permit)).map_err(|e| e.0.0),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(item),
        }
    }
}

impl<T> ByteReceiver<T> {
    /// The next item, freeing its bytes; `None` when every sender is gone and the queue is empty. Cancellation
    /// safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.recv().await.map(|(item, _permit)| item)
    }

    /// The next item if one is queued now, freeing its bytes; `None` otherwise (also when the queue is closed:
    /// [`ByteReceiver::recv`] tells that).
    pub fn try_recv(&mut self) -> Option<T> {
        self.rx.try_recv().ok().map(|(item, _permit)| item)
    }

    /// The bytes queued now (as counted: declared sizes plus item sizes).
    pub fn queued_bytes(&self) -> usize {
        self.max_bytes - self.budget.available_permits()
    }

    /// The most this queue holds.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl<T> Drop for ByteReceiver<T> {
    fn drop(&mut self) {
        // Wake senders waiting for room: there will be none.
        self.budget.close();
    }
}

/// A connection's incoming messages, read ahead by a task of their own into a queue bounded by bytes (see
/// [`Connection::inbox`](crate::Connection::inbox)). Dropping it stops the reader.
#[derive(Debug)]
pub struct Inbox {
    queue: ByteReceiver<Result<Message, FrameError>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Inbox {
    pub(crate) fn new(
        queue: ByteReceiver<Result<Message, FrameError>>,
        reader: tokio::task::JoinHandle<()>,
    ) -> Self {
        Inbox { queue, reader }
    }

    /// The next message, or the error of a malformed frame (which cost only its stream: more may follow); `None`
    /// when the connection is closed or failed. Cancellation safe, so it can be one branch of a `select!`.
    pub async fn recv(&mut self) -> Option<Result<Message, FrameError>> {
        self.queue.recv().await
    }

    /// The next message if one has been read already, without waiting: how a session takes a burst of messages
    /// (a first sync) together.
    pub fn try_recv(&mut self) -> Option<Result<Message, FrameError>> {
        self.queue.try_recv()
    }

    /// The bytes of messages read and not yet taken.
    pub fn queued_bytes(&self) -> usize {
        self.queue.queued_bytes()
    }

    /// The inbox's budget.
    pub fn max_bytes(&self) -> usize {
        self.queue.max_bytes()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ITEM: usize = std::mem::size_of::<Vec<u8>>();

    #[tokio::test]
    async fn the_budget_is_enforced_and_freed_by_taking() {
        let (tx, mut rx) = bounded_by_bytes::<Vec<u8>>(1000);
        assert!(tx.try_send(vec![1; 400], 400).is_ok());
        assert!(tx.try_send(vec![2; 400], 400).is_ok());
        assert_eq!(rx.queued_bytes(), 800 + 2 * ITEM);
        // A third does not fit.
        let third = tx.try_send(vec![3; 400], 400).unwrap_err();
        assert_eq!(rx.queued_bytes(), 800 + 2 * ITEM);

        // A waiting send goes through once an item is taken.
        let sender = tx.clone();
        let waiting = tokio::spawn(async move { sender.send(third, 400).await });
        assert_eq!(rx.recv().await.unwrap()[0], 1);
        tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("the send completes")
            .unwrap()
            .unwrap();
        assert_eq!(rx.recv().await.unwrap()[0], 2);
        assert_eq!(rx.recv().await.unwrap()[0], 3);
        assert_eq!(rx.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn an_item_larger_than_the_budget_passes_alone_and_empty_items_count() {
        let (tx, mut rx) = bounded_by_bytes::<Vec<u8>>(1000);
        tx.try_send(vec![], 0).unwrap();
        assert!(rx.queued_bytes() >= 1, "an empty item costs its own size");
        assert!(
            tx.try_send(vec![0; 5000], 5000).is_err(),
            "not while another waits"
        );
        rx.recv().await.unwrap();
        tx.try_send(vec![0; 5000], 5000).unwrap();
        assert_eq!(rx.queued_bytes(), 1000, "it takes the whole budget");
        assert!(tx.try_send(vec![], 0).is_err());
        assert_eq!(rx.recv().await.unwrap().len(), 5000);
        drop(tx);
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_sender_learns_that_the_receiver_is_gone() {
        let (tx, rx) = bounded_by_bytes::<Vec<u8>>(10);
        tx.try_send(vec![], 10).unwrap();
        let waiting = tokio::spawn(async move { tx.send(vec![7], 10).await });
        drop(rx);
        let back = tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, Err(vec![7]));
    }
}
