//! gzip on several cores, as pigz does it: the input is cut into blocks of [`BLOCK`]
//! bytes, each block is deflated on its own (ending on a sync flush, so that the
//! blocks join into one deflate stream), and the pieces are written in order between
//! one gzip header and one trailer (the CRC-32 of the whole, combined from the blocks',
//! and the size). Any gzip reader reads the result as one member.
//!
//! The output depends only on the input and the level, never on the number of
//! threads or on timing: the same tarball always gives the same layer digest. Blocks
//! do not share a dictionary (pigz primes each with the previous block's last 32 KiB);
//! at 1 MiB a block that costs a fraction of a percent of ratio.
//!
//! Hand-written over flate2's raw deflate and CRC types: the crates that do this
//! (`gzp`) bring their own thread pools and channels; this is some 100 lines of std.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Input bytes per block.
pub const BLOCK: usize = 1 << 20;

/// A deflated block: its place, its input's CRC, and the deflate bytes.
type Done = (u64, Crc, Vec<u8>);

/// Reads `chunks` (of any sizes) to their end and writes them to `out` as one gzip
/// member at `level` (0–9), compressing on `threads` threads (at least one). Memory
/// stays within a few blocks per thread. Returns `out`.
pub fn gzip_parallel<W: Write>(
    chunks: impl IntoIterator<Item = Vec<u8>>,
    mut out: W,
    level: u32,
    threads: usize,
) -> io::Result<W> {
    let level = Compression::new(level.min(9));
    let threads = threads.max(1);
    // gzip header: no name, no mtime, deflate; OS "unknown" (as flate2 writes it).
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::sync_channel::<io::Result<Done>>(threads * 2);
    let mut crc = Crc::new();
    std::thread::scope(|s| -> io::Result<()> {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            s.spawn(move || {
                // One deflate state per thread, reset between blocks.
                let mut deflate = Compress::new(level, false);
                loop {
                    let next = work_rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some((index, block)) = next else { break };
                    let mut block_crc = Crc::new();
                    block_crc.update(&block);
                    let deflated = deflate_block(&mut deflate, &block, FlushCompress::Sync)
                        .map(|bytes| (index, block_crc, bytes));
                    if done_tx.send(deflated).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // This thread cuts blocks, hands them out, and writes what comes back in order.
        let mut pending: BTreeMap<u64, (Crc, Vec<u8>)> = BTreeMap::new();
        let (mut sent, mut written) = (0u64, 0u64);
        let mut write_ready = |pending: &mut BTreeMap<u64, (Crc, Vec<u8>)>,
                               written: &mut u64,
                               out: &mut W|
         -> io::Result<()> {
            while let Some((c, bytes)) = pending.remove(written) {
                out.write_all(&bytes)?;
                crc.combine(&c);
                *written += 1;
            }
            Ok(())
        };
        let receive = |pending: &mut BTreeMap<u64, (Crc, Vec<u8>)>| -> io::Result<()> {
            let (index, c, bytes) = done_rx
                .recv()
                .map_err(|_| io::Error::other("a compression thread stopped"))??;
            pending.insert(index, (c, bytes));
            Ok(())
        };
        let mut block = Vec::with_capacity(BLOCK);
        let mut chunks = chunks.into_iter();
        loop {
            let chunk = chunks.next();
            let end = chunk.is_none();
            let mut rest = chunk.as_deref().unwrap_or_default();
            while !rest.is_empty() || (end && !block.is_empty()) {
                let take = (BLOCK - block.len()).min(rest.len());
                block.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if block.len() < BLOCK && !end {
                    break;
                }
                // Keep at most a few blocks per thread in flight.
                while sent - written >= 2 * threads as u64 {
                    receive(&mut pending)?;
                    write_ready(&mut pending, &mut written, &mut out)?;
                }
                let full = std::mem::replace(&mut block, Vec::with_capacity(BLOCK));
                work_tx
                    .send((sent, full))
                    .map_err(|_| io::Error::other("the compression threads stopped"))?;
                sent += 1;
            }
            if end {
                break;
            }
        }
        drop(work_tx);
        while written < sent {
            receive(&mut pending)?;
            write_ready(&mut pending, &mut written, &mut out)?;
        }
        Ok(())
    })?;
    // The final (empty) deflate block, then CRC-32 and size modulo 2^32.
    let mut last = Compress::new(level, false);
    out.write_all(&deflate_block(&mut last, &[], FlushCompress::Finish)?)?;
    out.write_all(&crc.sum().to_le_bytes())?;
    out.write_all(&crc.amount().to_le_bytes())?;
    Ok(out)
}

/// Raw deflate of `input` on its own (from a reset state), ending with `flush`.
fn deflate_block(c: &mut Compress, input: &[u8], flush: FlushCompress) -> io::Result<Vec<u8>> {
    c.reset();
    let mut out = Vec::with_capacity(input.len() + input.len() / 64 + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == input.len();
        // Done once the input is in and the flush fitted (room left over), or the
        // stream ended.
        if status == Status::StreamEnd || (all_in && out.len() < out.capacity()) {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 * 1024));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn round_trips_whatever_the_chunking_and_threads() {
        let text = b"lade layers compress well enough ".repeat(100_000);
        for data in [Vec::new(), b"x".to_vec(), noise(BLOCK * 3 + 17), text] {
            let mut outputs = Vec::new();
            for (chunk, threads) in [(1000, 1), (BLOCK, 2), (7 * BLOCK / 3, 4)] {
                let chunks: Vec<Vec<u8>> = data.chunks(chunk).map(<[u8]>::to_vec).collect();
                let gz = gzip_parallel(chunks, Vec::new(), 1, threads).unwrap();
                assert_eq!(gunzip(&gz), data);
                outputs.push(gz);
            }
            // The same bytes whatever the chunking and the number of threads.
            assert!(outputs.windows(2).all(|w| w[0] == w[1]));
        }
    }

    #[test]
    fn compresses_about_as_well_as_one_stream() {
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("line {i} of a log file\n").into_bytes())
            .collect();
        let parallel = gzip_parallel([text.clone()], Vec::new(), 6, 2).unwrap();
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        one.write_all(&text).unwrap();
        let one = one.finish().unwrap();
        assert!(
            parallel.len() as f64 <= one.len() as f64 * 1.02,
            "{} vs {}",
            parallel.len(),
            one.len()
        );
    }
}
