//! Sniffing and undoing the compression of a stream (whole archives, tarballs, layers).

use std::io::{self, Read};

/// The compression of a stream, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Plain,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

impl From<lade_oci::media_type::Compression> for Sniffed {
    /// What a layer's media type says of its compression.
    fn from(c: lade_oci::media_type::Compression) -> Self {
        match c {
            lade_oci::media_type::Compression::None => Sniffed::Plain,
            lade_oci::media_type::Compression::Gzip => Sniffed::Gzip,
            lade_oci::media_type::Compression::Zstd => Sniffed::Zstd,
        }
    }
}

/// What the first bytes of a stream say about its compression.
pub fn sniff_bytes(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniffed::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Sniffed::Xz
    } else if head.starts_with(b"BZh") {
        Sniffed::Bzip2
    } else {
        Sniffed::Plain
    }
}

/// Reads up to 6 bytes from `r`: the most any magic number needs.
pub(crate) fn read_head(r: &mut impl Read) -> io::Result<Vec<u8>> {
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
    Ok(head)
}

/// Wraps `r` in the decompressor its first bytes call for. Returns the reader, what
/// was found, and whether the input was empty (usually a mistake).
pub fn decompressed<'a>(mut r: impl Read + 'a) -> io::Result<(Box<dyn Read + 'a>, Sniffed, bool)> {
    let head = read_head(&mut r)?;
    let kind = sniff_bytes(&head);
    let empty = head.is_empty();
    let whole = io::Cursor::new(head).chain(r);
    Ok((decoder(whole, kind)?, kind, empty))
}

/// A reader that undoes `kind` over `r`.
pub fn decoder<'a>(r: impl Read + 'a, kind: Sniffed) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match kind {
        Sniffed::Plain => Box::new(r),
        Sniffed::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, r),
        )),
        Sniffed::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
        Sniffed::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(
            io::BufReader::with_capacity(256 * 1024, r),
        )),
        Sniffed::Bzip2 => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "bzip2-compressed input is not supported; decompress it first (bunzip2) or recompress it with gzip, zstd or xz",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format_and_reads_it_back() {
        let data = b"hello archive".repeat(100);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let zst = zstd::encode_all(&data[..], 1).unwrap();
        for (input, kind) in [
            (data.clone(), Sniffed::Plain),
            (gz, Sniffed::Gzip),
            (zst, Sniffed::Zstd),
        ] {
            let (mut r, got, empty) = decompressed(&input[..]).unwrap();
            assert_eq!(got, kind);
            assert!(!empty);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        assert!(decompressed(&b""[..]).unwrap().2);
        assert!(decompressed(&b"BZh91AY"[..]).is_err());
    }
}
