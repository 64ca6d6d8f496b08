//! Sniffing and undoing the compression of an input stream (tarballs, archives).

use std::io::{self, Read};

/// The compression of a stream, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Plain,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

/// Reads up to 6 bytes from `r` and returns them with what they say about compression.
fn sniff(r: &mut impl Read) -> io::Result<(Vec<u8>, Sniffed)> {
    let mut head = vec![0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniffed::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Sniffed::Xz
    } else if head.starts_with(b"BZh") {
        Sniffed::Bzip2
    } else {
        Sniffed::Plain
    };
    Ok((head, kind))
}

/// Wraps `r` in the decompressor its first bytes call for. Returns the reader and
/// whether anything at all was read (an empty input is usually a mistake).
pub(crate) fn decompressed<'a>(
    mut r: impl Read + 'a,
) -> io::Result<(Box<dyn Read + 'a>, Sniffed, bool)> {
    let (head, kind) = sniff(&mut r)?;
    let empty = head.is_empty();
    let whole = io::Cursor::new(head).chain(r);
    let out: Box<dyn Read + 'a> = match kind {
        Sniffed::Plain => Box::new(whole),
        Sniffed::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, whole),
        )),
        Sniffed::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Sniffed::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(
            io::BufReader::with_capacity(256 * 1024, whole),
        )),
        Sniffed::Bzip2 => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "bzip2-compressed input is not supported; decompress it first (bunzip2) or recompress it with gzip, zstd or xz",
            ));
        }
    };
    Ok((out, kind, empty))
}
