//! The write half of a connection: the only owner of the socket sink. It takes everything
//! queued, writes it, and flushes once per batch (write coalescing), so a burst of fan-out costs
//! one syscall per connection instead of one per frame.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use guildhall_protocol::close;
use tokio::sync::mpsc;

use super::handle::Closer;
use crate::metrics::Metrics;

/// Most frames written before one flush; bounds the time a batch holds the socket.
const MAX_BATCH: usize = 256;
/// How long a closing connection may take to write what is still queued and its close frame.
/// A slow consumer's socket is full when it is closed: its close frame goes out only once the
/// client reads again, so it gets a few seconds to do so.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

type Sink = SplitSink<WebSocket, Message>;

pub async fn run(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Message>,
    closer: Arc<Closer>,
    metrics: Arc<Metrics>,
) {
    loop {
        let first = tokio::select! {
            biased;
            _ = closer.token().cancelled() => break,
            frame = rx.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        let written = tokio::select! {
            biased;
            _ = closer.token().cancelled() => break,
            written = write_batch(&mut sink, first, &mut rx) => written,
        };
        match written {
            Ok((frames, bytes)) => {
                metrics.frames_out.increment(frames);
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
            while let Ok(frame) = rx.try_recv() {
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

async fn write_batch(
    sink: &mut Sink,
    first: Message,
    rx: &mut mpsc::Receiver<Message>,
) -> Result<(u64, u64), axum::Error> {
    let mut frames = 1u64;
    let mut bytes = frame_len(&first);
    sink.feed(first).await?;
    while frames < MAX_BATCH as u64 {
        let Ok(frame) = rx.try_recv() else { break };
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
