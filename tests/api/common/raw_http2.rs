//! A bare HTTP/2 client over TCP: it sends the connection preface and an empty SETTINGS frame,
//! then only what a test tells it to, and reads the server's frames one at a time. It shows
//! what a library client hides: the settings the server advertises, its PINGs and GOAWAYs,
//! and what happens to a peer that never answers.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Length (3 bytes), type, flags, stream id (4 bytes).
const FRAME_HEADER_BYTES: usize = 9;
const ACK: u8 = 0x1;

/// Frame types (RFC 9113 §6).
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;

/// Setting identifiers (RFC 9113 §6.5.2).
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn is_ack(&self) -> bool {
        self.flags & ACK != 0
    }

    /// The (identifier, value) pairs of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|entry| {
                (
                    u16::from_be_bytes([entry[0], entry[1]]),
                    u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]),
                )
            })
            .collect()
    }
}

/// What reading the next frame came to.
#[derive(Debug)]
pub enum Received {
    Frame(Frame),
    /// The server closed the connection (or reset it).
    Closed,
    /// Nothing arrived in time.
    Nothing,
}

pub struct RawConnection {
    stream: TcpStream,
}

impl RawConnection {
    /// Connects and sends the preface and an empty SETTINGS frame.
    pub async fn open(addr: SocketAddr) -> Self {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the server");
        stream.write_all(PREFACE).await.unwrap();
        let mut connection = Self { stream };
        connection.send(SETTINGS, 0, &[]).await;
        connection
    }

    async fn send(&mut self, kind: u8, flags: u8, payload: &[u8]) {
        let length = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut frame = vec![length[1], length[2], length[3], kind, flags, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        self.stream
            .write_all(&frame)
            .await
            .expect("send a frame to the server");
    }

    /// The next frame from the server, within `within`.
    pub async fn receive(&mut self, within: Duration) -> Received {
        match tokio::time::timeout(within, self.read_frame()).await {
            Ok(Some(frame)) => Received::Frame(frame),
            Ok(None) => Received::Closed,
            Err(_) => Received::Nothing,
        }
    }

    /// `None` at the end of the connection.
    async fn read_frame(&mut self) -> Option<Frame> {
        let mut header = [0u8; FRAME_HEADER_BYTES];
        self.stream.read_exact(&mut header).await.ok()?;
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0; length];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(Frame {
            kind: header[3],
            flags: header[4],
            payload,
        })
    }

    /// The settings of the server's first SETTINGS frame, which it sends before anything else;
    /// acknowledged, as a client does.
    pub async fn server_settings(&mut self) -> Vec<(u16, u32)> {
        loop {
            match self.receive(Duration::from_secs(5)).await {
                Received::Frame(frame) if frame.kind == SETTINGS && !frame.is_ack() => {
                    self.send(SETTINGS, ACK, &[]).await;
                    return frame.settings();
                }
                Received::Frame(_) => {}
                other => panic!("no SETTINGS frame from the server: {other:?}"),
            }
        }
    }
}
