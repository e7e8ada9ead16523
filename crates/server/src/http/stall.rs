//! A connection whose writes may stall only so long: when the peer accepts no byte of a response
//! for the limit (a client that stopped reading, a full socket buffer that never drains), the
//! write fails with `TimedOut` and hyper closes the connection. Reads pass through untouched
//! (hyper's header-read timeout and the request timeout bound those).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `io` with a limit on how long a write may make no progress.
pub struct WriteStall<T> {
    io: T,
    limit: Duration,
    /// Armed when a write first returns `Pending`, disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteStall<T> {
    pub fn new(io: T, limit: Duration) -> WriteStall<T> {
        WriteStall { io, limit, stalled: None }
    }

    /// After the inner write said `Pending`: `Pending` still, or `TimedOut` once the limit passed.
    fn stall<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client accepted nothing for {} s", limit.as_secs()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<R>(&mut self, ready: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match ready {
            Poll::Pending => self.stall(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteStall<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteStall<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progressed(ready, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progressed(ready, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ready = Pin::new(&mut self.io).poll_flush(cx);
        self.progressed(ready, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ready = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progressed(ready, cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_fails_the_write_after_the_limit() {
        // A pipe with a small buffer nobody reads from: writes stall once it is full.
        let (near, _far) = tokio::io::duplex(64);
        let mut io = WriteStall::new(near, Duration::from_secs(5));
        io.write_all(&[b'x'; 64]).await.expect("fits the buffer");
        let err = io.write_all(b"more").await.expect_err("stalls, then fails");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_disarms_the_limit() {
        let (near, mut far) = tokio::io::duplex(8);
        let mut io = WriteStall::new(near, Duration::from_secs(5));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let mut total = 0;
            // A slow reader: a little every 3 s, never 5 s without reading.
            while total < 64 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                total += tokio::io::AsyncReadExt::read(&mut far, &mut buf).await.unwrap();
            }
            total
        });
        io.write_all(&[b'y'; 64]).await.expect("a slow but steady reader is served");
        assert_eq!(reader.await.unwrap(), 64);
    }
}
