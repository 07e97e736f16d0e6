//! A real SMTP server process for the e-mail tests, built on the `mailin-embedded` server
//! library: it accepts every message on 127.0.0.1 and writes each one, as received (headers and
//! body, after the envelope's sender and recipients), to a file of its own in a folder.
//!
//! Recipients at `nobody@` are refused for good (550), as a real server refuses an unknown
//! mailbox.
//!
//! `smtp-sink <folder> [port]` (port 0 or none: any free port). It prints
//! `listening on 127.0.0.1:<port>` once it accepts connections.

use std::io::Write;
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

#[derive(Clone)]
struct Sink {
    folder: PathBuf,
    count: Arc<AtomicU64>,
    message: Vec<u8>,
}

impl Handler for Sink {
    /// Mailboxes at `nobody@` do not exist: refused for good (550).
    fn rcpt(&mut self, to: &str) -> Response {
        if to.trim_start_matches('<').starts_with("nobody@") { response::NO_MAILBOX } else { response::OK }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.message = format!("X-Envelope-From: {from}\r\nX-Envelope-To: {}\r\n", to.join(", ")).into_bytes();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.message.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let name = format!("{n:06}-{}.eml", std::process::id());
        let (partial, done) = (self.folder.join(format!(".{name}")), self.folder.join(name));
        // Written whole, then renamed: a reader never sees half a message.
        let stored = std::fs::write(&partial, &self.message).and_then(|()| std::fs::rename(&partial, &done));
        match stored {
            Ok(()) => response::OK,
            Err(_) => response::INTERNAL_ERROR,
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().expect("usage: smtp-sink <folder> [port]"));
    let port: u16 = args.next().map_or(0, |p| p.parse().expect("port is a number"));
    std::fs::create_dir_all(&folder).expect("the folder can be made");
    let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), port)).expect("the port is free");
    let address = listener.local_addr().expect("bound");
    let mut server = Server::new(Sink { folder, count: Arc::new(AtomicU64::new(0)), message: Vec::new() });
    server.with_name("smtp-sink.test").with_ssl(SslConfig::None).expect("plain SMTP").with_tcp_listener(listener);
    println!("listening on {address}");
    std::io::stdout().flush().expect("stdout");
    server.serve().expect("the server runs");
}
