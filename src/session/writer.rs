//! The write half of a connection: the only owner of the socket sink. It takes everything
//! queued at once, writes it, and flushes once (write coalescing), so a burst of fan-out costs
//! one syscall per connection instead of one per frame. A busy connection also flushes at most
//! once per `coalesce` interval, so frames arriving close together share a write.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use guildhall_protocol::close;

use super::handle::Closer;
use super::queue::FrameQueue;
use crate::metrics::Metrics;

/// How long a closing connection may take to write what is still queued and its close frame.
/// A slow consumer's socket is full when it is closed: its close frame goes out only once the
/// client reads again, so it gets a few seconds to do so.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

type Sink = SplitSink<WebSocket, Message>;

pub async fn run(
    mut sink: Sink,
    queue: Arc<FrameQueue>,
    closer: Arc<Closer>,
    metrics: Arc<Metrics>,
    coalesce: Duration,
) {
    let mut batch = VecDeque::new();
    let mut last_flush: Option<tokio::time::Instant> = None;
    loop {
        let more = tokio::select! {
            biased;
            _ = closer.token().cancelled() => break,
            more = queue.take(&mut batch) => more,
        };
        if !more {
            break;
        }
        // A connection that flushed a moment ago waits out the interval and takes what
        // arrived meanwhile too; a quiet one writes at once.
        if let Some(due) = last_flush
            .map(|at| at + coalesce)
            .filter(|due| *due > tokio::time::Instant::now())
        {
            tokio::select! {
                biased;
                _ = closer.token().cancelled() => break,
                _ = tokio::time::sleep_until(due) => {}
            }
            queue.try_take(&mut batch);
        }
        let written = tokio::select! {
            biased;
            _ = closer.token().cancelled() => break,
            written = write_batch(&mut sink, &mut batch) => written,
        };
        match written {
            Ok((frames, bytes)) => {
                last_flush = Some(tokio::time::Instant::now());
                metrics.frames_out.increment(frames);
                metrics.writes.increment(1);
                metrics.bytes_out.increment(bytes);
            }
            Err(_) => {
                // The peer is gone; the reader sees it too.
                closer.close(close::NORMAL, "transport error");
                return;
            }
        }
    }
    let Some((code, reason)) = closer.reason() else {
        return;
    };
    let farewell = async {
        // A draining node still delivers what it had queued (acks included); a slow consumer's
        // queue is exactly what it cannot take, so it only gets the close frame.
        if code != close::SLOW_CONSUMER {
            queue.try_take(&mut batch);
            for frame in batch.drain(..) {
                sink.feed(frame).await?;
            }
        }
        sink.send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await?;
        sink.close().await
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, farewell).await;
}

/// Feeds every frame of the batch and flushes once.
async fn write_batch(
    sink: &mut Sink,
    batch: &mut VecDeque<Message>,
) -> Result<(u64, u64), axum::Error> {
    let (mut frames, mut bytes) = (0u64, 0u64);
    while let Some(frame) = batch.pop_front() {
        frames += 1;
        bytes += frame_len(&frame);
        sink.feed(frame).await?;
    }
    sink.flush().await?;
    Ok((frames, bytes))
}

fn frame_len(frame: &Message) -> u64 {
    match frame {
        Message::Text(t) => t.len() as u64,
        Message::Binary(b) => b.len() as u64,
        _ => 0,
    }
}
