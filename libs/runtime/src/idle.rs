//! Connections that fall silent are closed. A peer that says nothing — no frame, no answer to the
//! server's HTTP/2 keepalive PINGs — for the idle limit is gone or never meant to speak (a
//! half-open socket after a client vanished, a socket that never sent the HTTP/2 preface): its
//! reads fail with `TimedOut` and the server drops it. A live client, even one with no call open,
//! answers the PING the server sends after each keepalive interval, so it is never cut for idling;
//! the maximum connection age bounds how long it stays.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// A TCP connection whose reads fail once the peer has sent nothing for `idle`.
#[derive(Debug)]
pub struct IdleTimeout {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    pub fn new(io: TcpStream, idle: Duration) -> Self {
        Self { io, idle, deadline: Box::pin(tokio::time::sleep(idle)) }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the peer fell silent"))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for IdleTimeout {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// Turns on TCP keepalive probes, so the kernel also notices a peer that vanished.
pub(crate) fn tcp_keepalive(stream: &TcpStream, every: Duration) -> io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new().with_time(every).with_interval(every);
    socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive)
}
