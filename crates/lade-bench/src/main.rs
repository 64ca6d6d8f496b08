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
//! lade-bench many-images N OUT       write a docker-archive of N small images sharing layers
//! ```
//!
//! Timing and memory are measured from outside (`/usr/bin/time`), so this binary only
//! does the work. It is not part of lade and knows nothing of it. `many-images` is not a
//! reference but an input: the set of images the store benchmarks load into every tool.

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

const USAGE: &str = "usage: lade-bench sha256 FILE... | gzip IN OUT | gunzip IN OUT | copy SRC... DIR | loopback BYTES | free-port | many-images N OUT";

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
        ("many-images", [n, out]) => {
            let n = n.parse().map_err(|_| usage())?;
            many_images(n, Path::new(out))
        }
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

/// Images in a `many-images` set share one base layer, and one of this many middle layers.
const GROUPS: usize = 10;

/// `many-images N OUT`: a docker-archive (`manifest.json` and `blobs/sha256/`, as
/// `docker save` writes it) of N images tagged `bench/img-0:1` … `bench/img-{N-1}:1`.
/// Each has three uncompressed layers: a base layer of 64 KiB all share, one of
/// [`GROUPS`] middle layers of 16 KiB, and a top layer of its own (one file holding its
/// number); and a config of its own (created a second apart, a label with its number).
/// The same N always gives the same bytes. `manifest.json` comes first and the shared
/// layers next, so that readers that scan the tar for each file (containers/image) find
/// them early.
fn many_images(n: usize, out: &Path) -> io::Result<String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let base = Blob::new(layer_tar("bench/base", &pseudo_random(0, 64 << 10)));
    let groups: Vec<Blob> = (0..GROUPS)
        .map(|g| {
            Blob::new(layer_tar(
                "bench/group",
                &pseudo_random(g as u64 + 1, 16 << 10),
            ))
        })
        .collect();
    let mut images = Vec::with_capacity(n);
    let mut manifest = String::from("[");
    for i in 0..n {
        let top = Blob::new(layer_tar("bench/id", format!("{i}\n").as_bytes()));
        let layers = [&base, &groups[i % GROUPS], &top];
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| format!("\"sha256:{}\"", l.hex))
            .collect();
        let created = format!(
            "2020-01-{:02}T{:02}:{:02}:{:02}Z",
            1 + i / 86_400 % 28,
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        );
        let config = Blob::new(
            format!(
                r#"{{"architecture":"{arch}","os":"linux","created":"{created}","config":{{"Cmd":["/bin/sh"],"Labels":{{"bench.image":"{i}"}}}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
                diff_ids.join(",")
            )
            .into_bytes(),
        );
        let paths: Vec<String> = layers.iter().map(|l| format!("\"{}\"", l.path())).collect();
        if i > 0 {
            manifest.push(',');
        }
        manifest.push_str(&format!(
            r#"{{"Config":"{}","RepoTags":["bench/img-{i}:1"],"Layers":[{}]}}"#,
            config.path(),
            paths.join(",")
        ));
        images.push((config, top));
    }
    manifest.push(']');

    let file = fs_err::File::create(out)?;
    let mut w = io::BufWriter::with_capacity(BUF, file);
    tar_entry(&mut w, "manifest.json", manifest.as_bytes())?;
    tar_dir(&mut w, "blobs/")?;
    tar_dir(&mut w, "blobs/sha256/")?;
    for blob in std::iter::once(&base).chain(&groups) {
        tar_entry(&mut w, &blob.path(), &blob.bytes)?;
    }
    for (config, top) in &images {
        tar_entry(&mut w, &config.path(), &config.bytes)?;
        tar_entry(&mut w, &top.path(), &top.bytes)?;
    }
    w.write_all(&[0; 1024])?;
    let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    let size = file.metadata()?.len();
    file.sync_all()?;
    Ok(format!(
        "wrote {n} images, {} layers, {size} bytes",
        n + 1 + GROUPS.min(n)
    ))
}

/// A blob of a docker-archive, named by its sha256.
struct Blob {
    bytes: Vec<u8>,
    hex: String,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Self {
        let hex = hex(&Sha256::digest(&bytes));
        Self { bytes, hex }
    }
    fn path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }
}

/// Deterministic bytes (xorshift64*), so that layers differ and do not compress away.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A layer: an uncompressed tar holding the directory `bench/` and one file.
fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = tar_dir(&mut t, "bench/");
    let _ = tar_entry(&mut t, name, content);
    t.extend_from_slice(&[0; 1024]);
    t
}

fn tar_dir(w: &mut impl Write, name: &str) -> io::Result<()> {
    w.write_all(&tar_header(name, 0, b'5', 0o755))
}

fn tar_entry(w: &mut impl Write, name: &str, content: &[u8]) -> io::Result<()> {
    w.write_all(&tar_header(name, content.len() as u64, b'0', 0o644))?;
    w.write_all(content)?;
    let pad = (512 - content.len() % 512) % 512;
    w.write_all(&[0; 512][..pad])
}

/// A ustar header: root-owned, mtime 0; names here are always under 100 bytes.
fn tar_header(name: &str, size: u64, kind: u8, mode: u32) -> [u8; 512] {
    let mut h = [0u8; 512];
    let mut put = |at: usize, field: &[u8]| h[at..at + field.len()].copy_from_slice(field);
    put(0, name.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, &[kind]);
    put(257, b"ustar\x0000"); // magic "ustar\0", version "00"
    put(265, b"root");
    put(297, b"root");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}
