//! Writing a large file sequentially without the page cache (`O_DIRECT`).
//!
//! A blob that is about to be fsynced gains nothing from the page cache: writing it
//! there copies every byte into freshly allocated pages, and the fsync then waits for
//! the kernel's writeback of all of them. Writing aligned blocks with `O_DIRECT` skips
//! both (on this project's benchmark machine, 1 GiB took 0.6 s this way against 3 s
//! buffered and fsynced). Filesystems that refuse `O_DIRECT` (tmpfs before Linux 6.6,
//! some FUSE and network filesystems) get ordinary buffered writes.

use std::io;
use std::os::unix::fs::FileExt;

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};

use crate::fsutil::annotate;

/// Alignment of offsets, lengths and memory for `O_DIRECT`: a page, which covers
/// every logical block size in use.
const ALIGN: usize = 4096;
/// Bytes gathered before each write. Measured on a 1 GiB pull, alternating runs:
/// 512 KiB took 0.97 s where 256 KiB took 1.05 s (fewer writes, each a trip to the
/// disk's queue and, in a VM, to the host) and 1 MiB no less than 512 KiB; a writer
/// thread per file, to overlap the disk's wait with the download, saved nothing
/// measurable (other downloads use the CPU meanwhile).
const WINDOW: usize = 512 << 10;
/// On a slow download, what has been held this long is written (its aligned part)
/// without waiting for a full window: a killed pull loses at most this much time of
/// download, as it did when every byte went through the page cache at once.
const HOLD_AT_MOST: std::time::Duration = std::time::Duration::from_millis(200);

/// Appends to a file from a given offset through an aligned window, written with
/// `O_DIRECT` when it is full. Bytes still in the window are written by
/// [`DirectWriter::flush`] (the unaligned tail through the page cache) and, at best
/// effort, when the writer is dropped.
#[derive(Debug)]
pub(crate) struct DirectWriter {
    file: fs_err::File,
    /// `WINDOW + ALIGN` bytes, so that an aligned window fits wherever it landed.
    buf: Vec<u8>,
    /// Where the aligned window starts in `buf`.
    start: usize,
    /// Bytes held in the window.
    held: usize,
    /// The file offset of the window's first byte.
    base: u64,
    /// Whether the file descriptor has `O_DIRECT` set.
    direct: bool,
    /// When the window was last written.
    written_at: std::time::Instant,
}

impl DirectWriter {
    /// Continues the file at `offset` (its current length). The bytes between the
    /// block boundary below `offset` and `offset` are read back into the window, so
    /// that every direct write starts on a boundary.
    pub(crate) fn new(file: fs_err::File, offset: u64) -> io::Result<Self> {
        let buf = vec![0u8; WINDOW + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        let base = offset - offset % ALIGN as u64;
        let held = usize::try_from(offset - base).unwrap_or(0);
        let mut w = Self {
            file,
            buf,
            start,
            held,
            base,
            direct: false,
            written_at: std::time::Instant::now(),
        };
        let head = w.start..w.start + held;
        w.file
            .file()
            .read_exact_at(&mut w.buf[head], base)
            .map_err(|e| annotate(e, "read", w.file.path()))?;
        w.direct = w.set_direct(true);
        Ok(w)
    }

    /// Turns `O_DIRECT` on or off; false when the filesystem refuses it.
    fn set_direct(&self, on: bool) -> bool {
        let Ok(flags) = fcntl_getfl(self.file.file()) else {
            return false;
        };
        let flags = if on {
            flags | OFlags::DIRECT
        } else {
            flags - OFlags::DIRECT
        };
        fcntl_setfl(self.file.file(), flags).is_ok() && on
    }

    /// Starts again at offset 0 (the file was truncated).
    pub(crate) fn reset(&mut self) {
        self.held = 0;
        self.base = 0;
        if !self.direct {
            self.direct = self.set_direct(true);
        }
    }

    /// Forgets the bytes not yet written (the file is being thrown away).
    pub(crate) fn forget(&mut self) {
        self.held = 0;
    }

    /// Appends `bytes`, writing each full window.
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = bytes.len().min(WINDOW - self.held);
            let at = self.start + self.held;
            self.buf[at..at + n].copy_from_slice(&bytes[..n]);
            self.held += n;
            bytes = &bytes[n..];
            if self.held == WINDOW {
                self.write_window(WINDOW)?;
            }
        }
        if self.held >= ALIGN && self.written_at.elapsed() >= HOLD_AT_MOST {
            self.write_window(self.held - self.held % ALIGN)?;
        }
        Ok(())
    }

    /// Room in the window for the next bytes, to be read into directly and then
    /// claimed with [`DirectWriter::filled`] (no copy). A full window is written
    /// first, and so is what was held too long (see [`HOLD_AT_MOST`]).
    pub(crate) fn space(&mut self) -> io::Result<&mut [u8]> {
        if self.held == WINDOW {
            self.write_window(WINDOW)?;
        } else if self.held >= ALIGN && self.written_at.elapsed() >= HOLD_AT_MOST {
            self.write_window(self.held - self.held % ALIGN)?;
        }
        let at = self.start + self.held;
        Ok(&mut self.buf[at..self.start + WINDOW])
    }

    /// Takes the first `n` bytes of the last [`DirectWriter::space`] as written, and
    /// returns them.
    pub(crate) fn filled(&mut self, n: usize) -> &[u8] {
        let n = n.min(WINDOW - self.held);
        let at = self.start + self.held;
        self.held += n;
        &self.buf[at..at + n]
    }

    /// Writes the window's first `len` bytes (a multiple of `ALIGN` while direct) and
    /// moves the rest to its start.
    fn write_window(&mut self, len: usize) -> io::Result<()> {
        let window = &self.buf[self.start..self.start + len];
        let written = match self.file.file().write_all_at(window, self.base) {
            // A filesystem that took O_DIRECT at fcntl but refuses the write itself.
            Err(e) if self.direct && e.raw_os_error() == Some(EINVAL) => {
                self.direct = self.set_direct(false);
                self.file.file().write_all_at(window, self.base)
            }
            r => r,
        };
        written.map_err(|e| annotate(e, "write", self.file.path()))?;
        self.buf
            .copy_within(self.start + len..self.start + self.held, self.start);
        self.held -= len;
        self.base += len as u64;
        self.written_at = std::time::Instant::now();
        Ok(())
    }

    /// Writes everything held. The unaligned tail goes through the page cache, and
    /// the writer stays buffered from there on.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.direct {
            let aligned = self.held - self.held % ALIGN;
            if aligned > 0 {
                self.write_window(aligned)?;
            }
            if self.held == 0 {
                return Ok(());
            }
            self.direct = self.set_direct(false);
        }
        if self.held > 0 {
            self.write_window(self.held)?;
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
        // means that attempt starts a little earlier.
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
        // The aligned part is on disk; the rest waits.
        assert_eq!(written(&path), data[..3 * ALIGN]);
        drop(w);
        assert_eq!(written(&path), data);
    }

    #[test]
    fn reset_starts_over_and_forget_drops_the_window() {
        let (_dir, path, mut w) = new_file();
        w.write_all(&pattern(WINDOW + 10, 3)).expect("write");
        w.file().set_len(0).expect("truncate");
        w.reset();
        let again = pattern(5000, 4);
        w.write_all(&again).expect("write");
        w.flush().expect("flush");
        assert_eq!(written(&path), again);
        w.write_all(&pattern(100, 5)).expect("write");
        w.forget();
        drop(w);
        assert_eq!(written(&path), again);
    }
}
