//! The stream's owner: opens the stream, publishes the moves open loop, and logs the replies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::gh::{self, Tokens, Ws};
use crate::text::now_us;

/// The owner's user id (not a spectator: it does not join the room).
const OWNER: &str = "streamer";
/// The request id of `stream.end`.
const END_ID: u64 = 3;
/// Publish requests are numbered from here; the request id less this is the move's number.
const PUBLISH_ID_BASE: u64 = 1_000;

/// What the owner's replies said.
#[derive(Default)]
pub(super) struct OwnerLog {
    /// Move number → its offset in the stream's log.
    pub(super) acked: BTreeMap<u64, u64>,
    pub(super) refused: u64,
    pub(super) first_refusal: Option<String>,
    pub(super) closed: Option<String>,
    end_reply: Option<String>,
}

pub(super) struct Owner {
    sink: SplitSink<Ws, Message>,
    pub(super) log: Arc<Mutex<OwnerLog>>,
    reader: tokio::task::JoinHandle<()>,
    stream: u64,
    pub(super) room: String,
}

impl Owner {
    /// Connects, says hello and opens the stream.
    pub(super) async fn open(url: &str, tokens: &Tokens, delay_s: u32) -> anyhow::Result<Self> {
        let mut ws = gh::connect(url, None).await?;
        gh::request(
            &mut ws,
            1,
            "hello",
            json!({ "token": tokens.mint(OWNER)?, "v": 1 }),
        )
        .await?;
        let info = gh::request(
            &mut ws,
            2,
            "stream.open",
            json!({ "game": "snake", "title": "bench", "delay_s": delay_s }),
        )
        .await
        .context("opening the stream (does this server serve streams?)")?;
        let stream = info["id"]
            .as_u64()
            .with_context(|| format!("stream.open answered without an id: {info}"))?;
        let room = info["room"]
            .as_str()
            .map_or_else(|| format!("stream:{stream}"), str::to_owned);
        let (sink, replies) = ws.split();
        let log = Arc::new(Mutex::new(OwnerLog::default()));
        let reader = tokio::spawn(read_replies(replies, log.clone()));
        Ok(Self {
            sink,
            log,
            reader,
            stream,
            room,
        })
    }

    /// Publishes move `seq` at `t0_us + seq × every_us` until `until_us`, open loop: a late
    /// move is sent at once and keeps its intended time. Returns how many were sent.
    pub(super) async fn publish(
        &mut self,
        t0_us: u64,
        every_us: u64,
        until_us: u64,
    ) -> anyhow::Result<u64> {
        let mut seq = 0u64;
        loop {
            let intended = t0_us + seq * every_us;
            if intended >= until_us {
                return Ok(seq);
            }
            let now = now_us();
            if intended > now {
                tokio::time::sleep(Duration::from_micros(intended - now)).await;
            }
            let frame = format!(
                r#"{{"id":{},"op":"stream.publish","d":{{"stream":{},"kind":"move","d":{{"lt_us":{intended},"seq":{seq}}}}}}}"#,
                PUBLISH_ID_BASE + seq,
                self.stream,
            );
            self.sink.send(Message::Text(frame.into())).await?;
            seq += 1;
        }
    }

    /// Ends the stream and closes; the reply to `stream.end` (or why there is none).
    pub(super) async fn end(mut self) -> String {
        let frame = json!({ "id": END_ID, "op": "stream.end", "d": { "stream": self.stream } });
        let sent = self
            .sink
            .send(Message::Text(frame.to_string().into()))
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let reply = loop {
            if let Err(e) = &sent {
                break format!("not sent: {e}");
            }
            if let Some(reply) = self.log.lock().end_reply.take() {
                break reply;
            }
            if Instant::now() > deadline {
                break "no reply within 10 s".to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _ = self.sink.close().await;
        self.reader.abort();
        reply
    }
}

async fn read_replies(mut replies: SplitStream<Ws>, log: Arc<Mutex<OwnerLog>>) {
    let reason = loop {
        let text = match replies.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => break format!("closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("error: {e}"),
            None => break "end of stream".to_string(),
        };
        let Ok(reply) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if reply["id"].as_u64() == Some(END_ID) {
            log.lock().end_reply = Some(text.to_string());
            continue;
        }
        let Some(seq) = reply["id"]
            .as_u64()
            .and_then(|id| id.checked_sub(PUBLISH_ID_BASE))
        else {
            continue;
        };
        let mut log = log.lock();
        match (reply["ok"].as_bool(), reply["d"]["off"].as_u64()) {
            (Some(true), Some(off)) => {
                log.acked.insert(seq, off);
            }
            _ => {
                log.refused += 1;
                if log.first_refusal.is_none() {
                    log.first_refusal = Some(text.to_string());
                }
            }
        }
    };
    log.lock().closed = Some(reason);
}
