//! `lade-bench`: the physical references `bench/run.sh` measures beside lade, on the
//! same files and the same disk, with the same crates lade uses (sha2, flate2 over
//! zlib-rs). Each subcommand does one thing, single-threaded, and prints one line:
//!
//! ```text
//! lade-bench sha256 FILE...          sha256 of each file (what verifying a pull costs)
//! lade-bench gzip IN OUT             gzip level 1 + sha256 of input and output (an import)
//! lade-bench gunzip IN OUT           gzip decompression (what unpacking a layer costs)
//! lade-bench copy SRC... DIR         read + write + fsync into DIR (a disk-to-disk copy)
//! lade-bench loopback BYTES          send BYTES over one 127.0.0.1 TCP connection
//! lade-bench free-port               print a free TCP port on 127.0.0.1
//! ```
//!
//! Timing and memory are measured from outside (`/usr/bin/time`), so this binary only
//! does the work. It is not part of lade and knows nothing of it.

use std::io::{self, BufRead as _, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};

/// Large enough that syscalls do not count, small enough to stay in cache.
const BUF: usize = 1 << 20;

const USAGE: &str = "usage: lade-bench sha256 FILE... | gzip IN OUT | gunzip IN OUT | copy SRC... DIR | loopback BYTES | free-port";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            // A closed stdout is not an error for a tool whose output is one line.
            let _ = writeln!(io::stdout().lock(), "{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(io::stderr().lock(), "lade-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> io::Result<String> {
    let (cmd, rest) = args.split_first().ok_or_else(usage)?;
    match (cmd.as_str(), rest) {
        ("sha256", files) if !files.is_empty() => {
            let mut lines = Vec::new();
            for f in files {
                let (digest, size) = sha256_file(Path::new(f))?;
                lines.push(format!("sha256:{digest} {size} {f}"));
            }
            Ok(lines.join("\n"))
        }
        ("gzip", [input, output]) => gzip(Path::new(input), Path::new(output)),
        ("gunzip", [input, output]) => gunzip(Path::new(input), Path::new(output)),
        ("copy", [srcs @ .., dir]) if !srcs.is_empty() => {
            let mut total = 0;
            for s in srcs {
                let src = Path::new(s);
                let name = src.file_name().ok_or_else(usage)?;
                total += copy(src, &Path::new(dir).join(name))?;
            }
            Ok(format!("copied {total} bytes"))
        }
        ("loopback", [bytes]) => {
            let n = bytes.parse().map_err(|_| usage())?;
            loopback(n).map(|n| format!("sent {n} bytes over 127.0.0.1"))
        }
        ("free-port", []) => Ok(TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
            .to_string()),
        _ => Err(usage()),
    }
}

fn usage() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, USAGE)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut r = io::BufReader::with_capacity(BUF, fs_err::File::open(path)?);
    let mut h = Sha256::new();
    let mut size = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        h.update(buf);
        let n = buf.len();
        size += n as u64;
        r.consume(n);
    }
    Ok((hex(&h.finalize()), size))
}

/// A writer that hashes what passes through it, as lade's store does.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What `lade import` has to do at least: hash the tar (diff_id), gzip it at level 1,
/// hash the result (blob digest), write it and fsync. One thread.
fn gzip(input: &Path, output: &Path) -> io::Result<String> {
    let mut r = fs_err::File::open(input)?;
    let out = fs_err::File::create(output)?;
    let sink = Hashing {
        inner: io::BufWriter::with_capacity(BUF, out),
        hasher: Sha256::new(),
    };
    let mut enc = GzEncoder::new(sink, Compression::fast());
    let mut diff = Sha256::new();
    let mut buf = vec![0; BUF];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        diff.update(&buf[..n]);
        enc.write_all(&buf[..n])?;
    }
    let sink = enc.finish()?;
    let blob = hex(&sink.hasher.finalize());
    let out = sink
        .inner
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    out.sync_all()?;
    Ok(format!(
        "diff_id sha256:{} blob sha256:{blob}",
        hex(&diff.finalize())
    ))
}

fn gunzip(input: &Path, output: &Path) -> io::Result<String> {
    let r = io::BufReader::with_capacity(BUF, fs_err::File::open(input)?);
    let mut dec = MultiGzDecoder::new(r);
    let mut out = io::BufWriter::with_capacity(BUF, fs_err::File::create(output)?);
    let n = io::copy(&mut dec, &mut out)?;
    out.flush()?;
    Ok(format!("gunzipped {n} bytes"))
}

/// A plain copy through user space with fsync, as a store writes a blob (no reflink,
/// no copy_file_range: those would not be a fair floor for data arriving from a socket).
fn copy(src: &Path, dst: &Path) -> io::Result<u64> {
    let mut r = fs_err::File::open(src)?;
    let mut w = fs_err::File::create(dst)?;
    let mut buf = vec![0; BUF];
    let mut total = 0;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
    w.sync_all()?;
    Ok(total)
}

/// Moves `bytes` from one thread to another over a loopback TCP connection.
fn loopback(bytes: u64) -> io::Result<u64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let mut s = TcpStream::connect(addr)?;
        let buf = vec![0x5a; BUF];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(BUF as u64) as usize;
            s.write_all(&buf[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let (mut conn, _) = listener.accept()?;
    let received = io::copy(&mut conn, &mut io::sink())?;
    sender
        .join()
        .map_err(|_| io::Error::other("sender thread panicked"))??;
    Ok(received)
}
