//! A real SMTP server process for the e-mail tests, on the `mailin` SMTP server library (the
//! protocol: commands, state machine, replies) with plain TCP on 127.0.0.1: it accepts every
//! message and writes each one, as received (headers and body, after the envelope's sender and
//! recipients), to a file of its own in a folder. Recipients at `nobody@` are refused for good
//! (550), as a real server refuses an unknown mailbox.
//!
//! `smtp-sink <folder> [port]` (port 0 or none: any free port). It prints
//! `listening on 127.0.0.1:<port>` once it accepts connections.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mailin::{Action, Handler, Response, SessionBuilder, response};

struct Sink {
    folder: PathBuf,
    count: Arc<AtomicU64>,
    message: Vec<u8>,
}

impl Handler for Sink {
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
        match std::fs::write(&partial, &self.message).and_then(|()| std::fs::rename(&partial, &done)) {
            Ok(()) => response::OK,
            Err(_) => response::INTERNAL_ERROR,
        }
    }
}

/// One client's session, until it quits or hangs up.
fn serve(stream: TcpStream, sink: Sink) -> std::io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    let mut session = SessionBuilder::new("smtp-sink.test").build(peer, sink);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = BufWriter::new(stream);
    session.greeting().write_to(&mut writer)?;
    writer.flush()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let reply = session.process(&line);
        match reply.action {
            Action::NoReply => continue,
            Action::Reply | Action::UpgradeTls => reply.write_to(&mut writer)?,
            Action::Close => {
                reply.write_to(&mut writer)?;
                writer.flush()?;
                return Ok(());
            }
        }
        writer.flush()?;
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().expect("usage: smtp-sink <folder> [port]"));
    let port: u16 = args.next().map_or(0, |p| p.parse().expect("port is a number"));
    std::fs::create_dir_all(&folder).expect("the folder can be made");
    let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), port)).expect("the port is free");
    println!("listening on {}", listener.local_addr().expect("bound"));
    std::io::stdout().flush().expect("stdout");
    let count = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let sink = Sink { folder: folder.clone(), count: count.clone(), message: Vec::new() };
        std::thread::spawn(move || {
            let _ = serve(stream, sink);
        });
    }
}
