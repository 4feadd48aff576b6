//! A plain-SMTP sink on a loopback port (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
//! TLS, no AUTH): every message it accepts arrives on a channel, for the e-mail tests.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The MAIL FROM address (without the angle brackets).
    pub from: String,
    /// The RCPT TO addresses.
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body, CRLF line ends, dot-unstuffed).
    pub data: String,
}

impl Received {
    /// A header's value (the first one of that name, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_owned());
                }
            }
        }
        value
    }

    /// The body after the headers, as sent.
    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The body's text: quoted-printable decoded when the message says it is (a mailer
    /// chooses it for long lines), with LF line ends.
    pub fn text(&self) -> String {
        let body = self.body();
        let qp = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if !qp {
            return body.replace("\r\n", "\n");
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).replace("\r\n", "\n")
    }
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on `127.0.0.1` on a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let (tx, messages) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = session(conn, tx).await;
                });
            }
        });
        SmtpSink { addr, messages, task }
    }

    /// `127.0.0.1:<port>`, as `--smtp` takes it.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The next message accepted; `None` when none arrives within `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.messages.recv()).await.ok().flatten()
    }

    /// A message already accepted, without waiting.
    pub fn try_next(&mut self) -> Option<Received> {
        self.messages.try_recv().ok()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let arg = arg.split_once(':').map_or(arg, |(_, a)| a).trim();
    let arg = arg.split_whitespace().next().unwrap_or("");
    arg.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn session(conn: TcpStream, tx: mpsc::UnboundedSender<Received>) -> std::io::Result<()> {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sluice-testkit SMTP sink\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sluice-testkit\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 sluice-testkit\r\n",
            "MAIL" => {
                from = address(&cmd[4..]);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&cmd[4..]));
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 4.5.2).
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let _ = tx.send(Received { from: std::mem::take(&mut from), to: std::mem::take(&mut to), data });
                b"250 OK: queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
