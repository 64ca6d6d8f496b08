//! Writing a large file sequentially without the page cache (`O_DIRECT`).
//!
//! A blob that is about to be fsynced gains nothing from the page cache: writing it
//! there copies every byte into freshly allocated pages, and the fsync then waits for
//! the kernel's writeback of all of them. Writing aligned blocks with `O_DIRECT` skips
//! both (on this project's benchmark machine, 1 GiB took 0.6 s this way against 3 s
//! buffered and fsynced). Filesystems that refuse `O_DIRECT` (tmpfs before Linux 6.6,
//! some FUSE and network filesystems) get ordinary buffered writes.
//!
//! A direct write returns only once the disk has the bytes. So that a download does
//! not stop for it, full windows go to a writer thread of the file's own while the
//! next window fills: two windows per file, one filling and one being written. The
//! thread writes in order and stops at the first failure, so the file is always a
//! prefix of what was handed to it, and a later attempt resumes from its length.

use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};

use crate::fsutil::annotate;

/// Alignment of offsets, lengths and memory for `O_DIRECT`: a page, which covers
/// every logical block size in use.
const ALIGN: usize = 4096;
/// Bytes gathered before each write. Measured on a 1 GiB pull, alternating runs:
/// 512 KiB took 0.97 s where 256 KiB took 1.05 s (fewer writes, each a trip to the
/// disk's queue and, in a VM, to the host) and 1 MiB no less than 512 KiB.
const WINDOW: usize = 512 << 10;
/// Windows per file: one filling while the others are written. Two suffice when the
/// disk keeps up with the download on average; a single-layer pull of 87 MB spent
/// 57 ms of its ~135 ms waiting for direct writes when they were made in line.
const WINDOWS: usize = 2;
/// On a slow download, what has been held this long is written (its aligned part)
/// without waiting for a full window: a killed pull loses at most this much time of
/// download, as it did when every byte went through the page cache at once.
const HOLD_AT_MOST: Duration = Duration::from_millis(200);

/// `WINDOW` bytes aligned to `ALIGN`, inside an allocation `ALIGN` larger.
struct Window {
    buf: Vec<u8>,
    start: usize,
}

impl Window {
    fn new() -> Self {
        let buf = vec![0u8; WINDOW + ALIGN];
        let start = (ALIGN - buf.as_ptr().addr() % ALIGN) % ALIGN;
        Self { buf, start }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + WINDOW]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + WINDOW]
    }
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Window")
    }
}

/// A window handed to the writer thread: its first `len` bytes go at offset `at`.
struct Job {
    window: Window,
    len: usize,
    at: u64,
    direct: bool,
}

/// A window back from the writer thread; `direct` is false if the filesystem refused
/// the direct write (it was then made through the page cache).
struct Done {
    window: Window,
    result: io::Result<()>,
    direct: bool,
}

/// The thread writing a file's full windows, started with its first full window.
/// Dropping it lets the thread finish what it holds and waits for it.
#[derive(Debug)]
struct Writer {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: writes each window in order, and none after a failure.
fn write_jobs(file: &fs_err::File, fail_from: u64, jobs: Receiver<Job>, done: Sender<Done>) {
    let mut failed = false;
    for mut job in jobs {
        let result = if failed {
            Err(io::Error::other(format!(
                "{} was not written on after an earlier failure",
                file.path().display()
            )))
        } else {
            let bytes = &job.window.bytes()[..job.len];
            write_at(file, &mut job.direct, bytes, job.at, fail_from)
        };
        failed |= result.is_err();
        let back = Done {
            window: job.window,
            result,
            direct: job.direct,
        };
        if done.send(back).is_err() {
            return;
        }
    }
}

/// Writes `bytes` at offset `at`. A filesystem that took `O_DIRECT` at fcntl but
/// refuses the write itself gets it through the page cache, and `direct` turns false.
/// A write from `fail_from` on fails as on a full disk (`u64::MAX` but in tests).
fn write_at(
    file: &fs_err::File,
    direct: &mut bool,
    bytes: &[u8],
    at: u64,
    fail_from: u64,
) -> io::Result<()> {
    if at >= fail_from {
        let full = io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        return Err(annotate(full, "write", file.path()));
    }
    let written = match file.file().write_all_at(bytes, at) {
        Err(e) if *direct && e.raw_os_error() == Some(EINVAL) => {
            *direct = set_direct(file, false);
            file.file().write_all_at(bytes, at)
        }
        r => r,
    };
    written.map_err(|e| annotate(e, "write", file.path()))
}

/// Turns `O_DIRECT` on or off; false when the filesystem refuses it.
fn set_direct(file: &fs_err::File, on: bool) -> bool {
    let Ok(flags) = fcntl_getfl(file.file()) else {
        return false;
    };
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    fcntl_setfl(file.file(), flags).is_ok() && on
}

/// Appends to a file from a given offset through aligned windows, each written with
/// `O_DIRECT` (by the file's writer thread) when it is full. Bytes still in the
/// window are written by [`DirectWriter::flush`] (the unaligned tail through the page
/// cache) and, at best effort, when the writer is dropped.
#[derive(Debug)]
pub(crate) struct DirectWriter {
    file: Arc<fs_err::File>,
    /// The window being filled.
    window: Window,
    /// Bytes held in the window.
    held: usize,
    /// The file offset of the window's first byte.
    base: u64,
    /// Whether the file descriptor has `O_DIRECT` set.
    direct: bool,
    /// When a window was last handed over (or written).
    written_at: Instant,
    /// Allocated windows free to fill (with the one filling and those in flight, at
    /// most `WINDOWS`).
    spare: Vec<Window>,
    /// Windows with the writer thread.
    in_flight: usize,
    /// `None` until the first full window, and if the thread could not be started
    /// (windows are then written in line).
    writer: Option<Writer>,
    no_thread: bool,
    /// The first write that failed (its kind and message, given again to every later
    /// call): nothing is written after it, so that the file stays a prefix of the blob.
    failed: Option<(io::ErrorKind, String)>,
    /// Writes from this offset on fail as on a full disk: `u64::MAX`, but in tests.
    fail_from: u64,
}

impl DirectWriter {
    /// Continues the file at `offset` (its current length). The bytes between the
    /// block boundary below `offset` and `offset` are read back into the window, so
    /// that every direct write starts on a boundary.
    pub(crate) fn new(file: fs_err::File, offset: u64) -> io::Result<Self> {
        let base = offset - offset % ALIGN as u64;
        let held = usize::try_from(offset - base).unwrap_or(0);
        let mut window = Window::new();
        file.file()
            .read_exact_at(&mut window.bytes_mut()[..held], base)
            .map_err(|e| annotate(e, "read", file.path()))?;
        let direct = set_direct(&file, true);
        Ok(Self {
            file: Arc::new(file),
            window,
            held,
            base,
            direct,
            written_at: Instant::now(),
            spare: Vec::new(),
            in_flight: 0,
            writer: None,
            no_thread: false,
            failed: None,
            fail_from: u64::MAX,
        })
    }

    /// Empties the file and starts again at offset 0, with a new writer thread (the
    /// old one writes nothing more after a failure).
    pub(crate) fn start_over(&mut self) -> io::Result<()> {
        self.forget();
        self.writer = None;
        self.file.set_len(0)?;
        self.held = 0;
        self.base = 0;
        self.failed = None;
        if !self.direct {
            self.direct = set_direct(&self.file, true);
        }
        Ok(())
    }

    /// Forgets the bytes not yet written (the file is being thrown away), once the
    /// writer thread is done with what it holds.
    pub(crate) fn forget(&mut self) {
        let _ = self.drain();
        self.held = 0;
    }

    /// Appends `bytes`, handing over each full window.
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = bytes.len().min(WINDOW - self.held);
            self.window.bytes_mut()[self.held..self.held + n].copy_from_slice(&bytes[..n]);
            self.held += n;
            bytes = &bytes[n..];
            if self.held == WINDOW {
                self.hand_over(WINDOW)?;
            }
        }
        if self.held >= ALIGN && self.written_at.elapsed() >= HOLD_AT_MOST {
            self.hand_over(self.held - self.held % ALIGN)?;
        }
        Ok(())
    }

    /// Room in the window for the next bytes, to be read into directly and then
    /// claimed with [`DirectWriter::filled`] (no copy). A full window is handed over
    /// first, and so is what was held too long (see [`HOLD_AT_MOST`]).
    pub(crate) fn space(&mut self) -> io::Result<&mut [u8]> {
        if self.held == WINDOW {
            self.hand_over(WINDOW)?;
        } else if self.held >= ALIGN && self.written_at.elapsed() >= HOLD_AT_MOST {
            self.hand_over(self.held - self.held % ALIGN)?;
        }
        let held = self.held;
        Ok(&mut self.window.bytes_mut()[held..])
    }

    /// Takes the first `n` bytes of the last [`DirectWriter::space`] as written, and
    /// returns them.
    pub(crate) fn filled(&mut self, n: usize) -> &[u8] {
        let n = n.min(WINDOW - self.held);
        let at = self.held;
        self.held += n;
        &self.window.bytes()[at..at + n]
    }

    /// Sends the window's first `len` bytes (a multiple of `ALIGN` while direct) to
    /// the writer thread and goes on in a free window, holding the rest.
    fn hand_over(&mut self, len: usize) -> io::Result<()> {
        self.check()?;
        if self.writer.is_none() && !self.no_thread {
            self.start_writer();
        }
        let Some(jobs) = self.writer.as_ref().and_then(|w| w.jobs.clone()) else {
            return self.write_in_line(len);
        };
        let mut next = self.free_window()?;
        let rest = self.held - len;
        next.bytes_mut()[..rest].copy_from_slice(&self.window.bytes()[len..self.held]);
        let job = Job {
            window: std::mem::replace(&mut self.window, next),
            len,
            at: self.base,
            direct: self.direct,
        };
        if let Err(unsent) = jobs.send(job) {
            // The thread is gone: the window comes back, the spare one goes.
            self.window = unsent.0.window;
            self.writer = None;
            return Err(self.fail(self.thread_gone()));
        }
        self.in_flight += 1;
        self.held = rest;
        self.base += len as u64;
        self.written_at = Instant::now();
        Ok(())
    }

    fn start_writer(&mut self) {
        let (jobs, todo) = channel();
        let (finished, done) = channel();
        let file = Arc::clone(&self.file);
        let fail_from = self.fail_from;
        let thread = std::thread::Builder::new()
            .name("lade-blob-write".into())
            .spawn(move || write_jobs(&file, fail_from, todo, finished));
        match thread {
            Ok(thread) => {
                self.writer = Some(Writer {
                    jobs: Some(jobs),
                    done,
                    thread: Some(thread),
                });
            }
            // Out of threads: the windows are written on this one, as they were
            // before the writer thread existed.
            Err(_) => self.no_thread = true,
        }
    }

    /// A window to fill: a spare one, a new one while fewer than `WINDOWS` exist (the
    /// one filling, the spares, those in flight), or the next one the writer thread is
    /// done with.
    fn free_window(&mut self) -> io::Result<Window> {
        if let Some(window) = self.spare.pop() {
            return Ok(window);
        }
        if 1 + self.in_flight < WINDOWS {
            return Ok(Window::new());
        }
        self.take_back()
    }

    /// Waits for the writer thread's next window back.
    fn take_back(&mut self) -> io::Result<Window> {
        let done = self.writer.as_ref().and_then(|w| w.done.recv().ok());
        let Some(done) = done else {
            // The thread is gone, and the windows it held with it.
            self.in_flight = 0;
            return Err(self.fail(self.thread_gone()));
        };
        self.in_flight -= 1;
        self.direct &= done.direct;
        match done.result {
            Ok(()) => Ok(done.window),
            Err(e) => {
                self.spare.push(done.window);
                Err(self.fail(e))
            }
        }
    }

    /// Waits until the writer thread holds nothing; the first failure among its
    /// writes, if any.
    fn drain(&mut self) -> io::Result<()> {
        let mut first = Ok(());
        while self.in_flight > 0 {
            match self.take_back() {
                Ok(window) => self.spare.push(window),
                Err(e) => {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        first
    }

    /// Writes the window's first `len` bytes on this thread and moves the rest to its
    /// start.
    fn write_in_line(&mut self, len: usize) -> io::Result<()> {
        let bytes = &self.window.bytes()[..len];
        if let Err(e) = write_at(
            &self.file,
            &mut self.direct,
            bytes,
            self.base,
            self.fail_from,
        ) {
            return Err(self.fail(e));
        }
        self.window.bytes_mut().copy_within(len..self.held, 0);
        self.held -= len;
        self.base += len as u64;
        self.written_at = Instant::now();
        Ok(())
    }

    /// Remembers the first failure (nothing is written after it) and passes `e` on.
    fn fail(&mut self, e: io::Error) -> io::Error {
        if self.failed.is_none() {
            self.failed = Some((e.kind(), e.to_string()));
        }
        e
    }

    /// The first failure again, for every call after it.
    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    fn thread_gone(&self) -> io::Error {
        io::Error::other(format!(
            "the thread writing {} stopped",
            self.file.path().display()
        ))
    }

    /// Writes everything held, once the writer thread is done. The unaligned tail
    /// goes through the page cache, and the writer stays buffered from there on.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.check()?;
        if self.direct {
            let aligned = self.held - self.held % ALIGN;
            if aligned > 0 {
                self.write_in_line(aligned)?;
            }
            if self.held == 0 {
                return Ok(());
            }
            self.direct = set_direct(&self.file, false);
        }
        if self.held > 0 {
            self.write_in_line(self.held)?;
        }
        Ok(())
    }

    /// The file, once everything is flushed.
    pub(crate) fn file(&self) -> &fs_err::File {
        &self.file
    }
}

const EINVAL: i32 = rustix::io::Errno::INVAL.raw_os_error();

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // Keeps what arrived for the next attempt to resume from; a failure only
        // means that attempt starts a little earlier. The writer thread is then
        // stopped and waited for (`Writer`'s drop).
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(path: &std::path::Path) -> Vec<u8> {
        fs_err::read(path).expect("read back")
    }

    /// A writer at the start of a new, empty file (the directory holds it).
    fn new_file() -> (tempfile::TempDir, std::path::PathBuf, DirectWriter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let file = fs_err::File::create(&path).expect("create");
        let w = DirectWriter::new(file, 0).expect("writer");
        (dir, path, w)
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn bytes_land_in_order_across_windows_and_odd_chunks() {
        let (_dir, path, mut w) = new_file();
        let data = pattern(3 * WINDOW + 12345, 7);
        for chunk in data.chunks(65_537) {
            w.write_all(chunk).expect("write");
        }
        w.flush().expect("flush");
        drop(w);
        assert_eq!(written(&path), data);
    }

    #[test]
    fn continues_an_unaligned_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let first = pattern(ALIGN * 3 + 100, 1);
        fs_err::write(&path, &first).expect("write head");
        let file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open");
        let more = pattern(WINDOW * 2 + 17, 2);
        let mut w = DirectWriter::new(file, first.len() as u64).expect("writer");
        w.write_all(&more).expect("write");
        drop(w);
        let mut want = first;
        want.extend_from_slice(&more);
        assert_eq!(written(&path), want);
    }

    #[test]
    fn a_slow_file_is_written_without_a_full_window() {
        let (_dir, path, mut w) = new_file();
        let data = pattern(3 * ALIGN + 10, 6);
        w.write_all(&data[..ALIGN + 1]).expect("write");
        assert_eq!(written(&path).len(), 0, "written before its time");
        std::thread::sleep(HOLD_AT_MOST);
        w.write_all(&data[ALIGN + 1..]).expect("write");
        // The aligned part went to the writer thread; the rest waits.
        w.drain().expect("written");
        assert_eq!(written(&path), data[..3 * ALIGN]);
        drop(w);
        assert_eq!(written(&path), data);
    }

    #[test]
    fn start_over_empties_the_file_and_forget_drops_the_window() {
        let (_dir, path, mut w) = new_file();
        // Two windows with the writer thread, or written already, and some held.
        w.write_all(&pattern(2 * WINDOW + 10, 3)).expect("write");
        w.start_over().expect("start over");
        assert_eq!(
            written(&path).len(),
            0,
            "a window landed after the truncation"
        );
        let again = pattern(WINDOW + 5000, 4);
        w.write_all(&again).expect("write");
        w.flush().expect("flush");
        assert_eq!(written(&path), again);
        w.write_all(&pattern(100, 5)).expect("write");
        w.forget();
        drop(w);
        assert_eq!(written(&path), again);
    }

    /// Writes `data` in half windows until a call fails, then flushes; the error.
    fn write_until_it_fails(w: &mut DirectWriter, data: &[u8]) -> io::Error {
        for chunk in data.chunks(WINDOW / 2) {
            if let Err(e) = w.write_all(chunk) {
                return e;
            }
        }
        w.flush()
            .expect_err("the failure comes out at the latest in flush")
    }

    #[test]
    fn a_failed_write_leaves_a_prefix_and_is_given_again() {
        let (_dir, path, mut w) = new_file();
        // The second window fails on the writer thread; the third and fourth follow it.
        w.fail_from = WINDOW as u64;
        let data = pattern(4 * WINDOW + 100, 8);
        let e = write_until_it_fails(&mut w, &data);
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        let again = w.write_all(&data).expect_err("writes go on failing");
        assert_eq!((again.kind(), again.to_string()), (e.kind(), e.to_string()));
        let again = w.flush().expect_err("and so does flush");
        assert_eq!(again.to_string(), e.to_string());
        drop(w);
        // Only the first window: nothing after the failure, not even the tail.
        assert_eq!(written(&path), data[..WINDOW]);
    }

    #[test]
    fn start_over_after_a_failure_writes_again() {
        let (_dir, path, mut w) = new_file();
        w.fail_from = WINDOW as u64;
        write_until_it_fails(&mut w, &pattern(3 * WINDOW, 9));
        // The disk has room again (say, the truncation freed it).
        w.fail_from = u64::MAX;
        w.start_over().expect("start over");
        let again = pattern(3 * WINDOW + 100, 10);
        w.write_all(&again).expect("write");
        w.flush().expect("flush");
        drop(w);
        assert_eq!(written(&path), again);
    }
}
