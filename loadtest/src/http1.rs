//! A small HTTP/1.1 client for the server-to-server API: one keep-alive connection, requests
//! with a Content-Length body, responses framed by Content-Length or chunked encoding. Enough
//! for a load generator that must not measure a client library's overhead instead of the
//! server's.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::{bail, ensure, Context};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A small HTTP/1.1 client on one keep-alive connection: requests with a Content-Length body,
/// responses framed by Content-Length or chunked encoding.
pub struct Http {
    stream: TcpStream,
    host: String,
    key: String,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// The server said it closes the connection after this response.
    pub closed: bool,
}

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

impl Http {
    pub async fn connect(addr: SocketAddr, key: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            host: addr.to_string(),
            key: key.to_owned(),
            buf: Vec::with_capacity(64 * 1024),
            out: Vec::new(),
            closed: false,
        })
    }

    /// A request with a JSON body (or none); the status and the body parsed as JSON (`null`
    /// when empty or not JSON).
    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let (status, bytes) = self.request(method, path, body.as_bytes()).await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Sends one request and reads its response: the status and the body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        ensure!(!self.closed, "the server closed this connection");
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.host, self.key
        )?;
        if !body.is_empty() {
            self.out
                .extend_from_slice(b"Content-Type: application/json\r\n");
        }
        write!(self.out, "Content-Length: {}\r\n\r\n", body.len())?;
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        read_response(&mut self.stream, &mut self.buf, &mut self.closed).await
    }
}

/// Reads one response from `stream`; bytes read past it stay in `buf` for the next.
pub async fn read_response<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
    closed: &mut bool,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let head_end = loop {
        if let Some(at) = memchr::memmem::find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        ensure!(
            buf.len() <= MAX_HEAD,
            "a response head over {MAX_HEAD} bytes"
        );
        fill(stream, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("a response head not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    ensure!(
        version.starts_with("HTTP/1."),
        "not an HTTP/1 response: {status_line:?}"
    );
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {status_line:?}"))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            bail!("a malformed header line: {line:?}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse().context("a bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    buf.drain(..head_end);
    let body = if chunked {
        read_chunked(stream, buf).await?
    } else if let Some(n) = length {
        while buf.len() < n {
            fill(stream, buf).await?;
        }
        let rest = buf.split_off(n);
        std::mem::replace(buf, rest)
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // Delimited by the end of the connection.
        while stream.read_buf(buf).await? > 0 {}
        close = true;
        std::mem::take(buf)
    };
    *closed = close;
    Ok((status, body))
}

async fn read_chunked<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = memchr::memmem::find(buf, b"\r\n") {
                break at;
            }
            fill(stream, buf).await?;
        };
        let line = std::str::from_utf8(&buf[..line_end]).context("a chunk size not UTF-8")?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
            .with_context(|| format!("a bad chunk size {line:?}"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers, if any, then the empty line.
            loop {
                let end = loop {
                    if let Some(at) = memchr::memmem::find(buf, b"\r\n") {
                        break at;
                    }
                    fill(stream, buf).await?;
                };
                buf.drain(..end + 2);
                if end == 0 {
                    return Ok(body);
                }
            }
        }
        while buf.len() < size + 2 {
            fill(stream, buf).await?;
        }
        ensure!(&buf[size..size + 2] == b"\r\n", "a chunk not ended by CRLF");
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

/// Reads more of the response; the connection ending here is an error.
async fn fill<R: AsyncRead + Unpin>(stream: &mut R, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    buf.reserve(16 * 1024);
    if stream.read_buf(buf).await? == 0 {
        bail!("the server closed the connection mid-response");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(wire: &[u8], responses: usize) -> Vec<(u16, Vec<u8>, bool)> {
        // Fed in small pieces, so every "need more bytes" path runs.
        let mut reader = tokio_test_reader(wire);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for _ in 0..responses {
            let mut closed = false;
            let (status, body) = read_response(&mut reader, &mut buf, &mut closed)
                .await
                .expect("a response");
            out.push((status, body, closed));
        }
        assert!(buf.is_empty(), "bytes left over: {buf:?}");
        out
    }

    /// A reader that hands out at most 7 bytes per read, then ends.
    fn tokio_test_reader(wire: &[u8]) -> impl AsyncRead + Unpin {
        let (mut writer, reader) = tokio::io::duplex(7);
        let wire = wire.to_vec();
        tokio::spawn(async move {
            let _ = writer.write_all(&wire).await;
        });
        reader
    }

    #[tokio::test]
    async fn reads_content_length_and_chunked_responses_back_to_back() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"a\":[1,2]}\
HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nX-T: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
        let got = parse(wire, 3).await;
        assert_eq!(got[0], (200, b"{\"a\":[1,2]}".to_vec(), false));
        assert_eq!(got[1], (404, b"abcdefg".to_vec(), false));
        assert_eq!(got[2], (204, Vec::new(), true));
    }

    #[tokio::test]
    async fn a_truncated_response_is_an_error() {
        let mut reader = tokio_test_reader(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
        let mut buf = Vec::new();
        let mut closed = false;
        assert!(read_response(&mut reader, &mut buf, &mut closed)
            .await
            .is_err());
    }
}
