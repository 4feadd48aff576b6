//! Naming rules of the WSUS content tree: `<root>/<XX>/<SHA1HEX>.<ext>`.
//!
//! Real WSUS publishes `Content/<XX>/<SHA1HEX>.<ext>` where `SHA1HEX` is the upper-case hex
//! of the file's SHA-1 and `XX` its last two hex characters (always two, leading zero kept).
//! The extension in the URL is the one of the metadata `FileName`, as written there.
//!
//! On disk the extension is stored **lower-cased**. IIS runs on a case-insensitive file
//! system, so `….EXE` and `….exe` name the same file there; on Linux we get the same
//! effect by normalising once when storing and once when looking up, which keeps lookups a
//! single `open()` instead of a directory scan.

use crate::ContentError;

/// Longest extension accepted. Update files use `exe`, `cab`, `msu`, `psf`, `esd`, `wim`,
/// `msi`, `msp`, `appx`, `msixbundle`…; anything much longer is not a real update file.
pub const MAX_EXT_LEN: usize = 16;

/// Upper-case hex of a SHA-1 digest, as WSUS writes it in content URLs and file names.
pub fn sha1_hex(sha1: &[u8; 20]) -> String {
    hex::encode_upper(sha1)
}

/// The two-character shard directory: the last two hex characters of the digest.
pub fn shard_dir(sha1: &[u8; 20]) -> String {
    hex::encode_upper([sha1[19]])
}

/// Extension of an update file name, exactly as written (not lower-cased).
///
/// Takes the last path component (both `/` and `\` count, metadata comes from Windows),
/// then whatever follows its last dot. `Ok(None)` when there is no extension.
/// Extensions that are not 1..=16 ASCII letters, digits, `_` or `-` are refused: they
/// would otherwise leak arbitrary characters into file names and URLs.
pub fn extension_of(file_name: &str) -> Result<Option<&str>, ContentError> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let Some((_, ext)) = base.rsplit_once('.') else {
        return Ok(None);
    };
    if ext.is_empty() {
        return Ok(None);
    }
    if is_valid_ext(ext) {
        Ok(Some(ext))
    } else {
        Err(ContentError::InvalidFileName(file_name.to_owned()))
    }
}

fn is_valid_ext(ext: &str) -> bool {
    !ext.is_empty()
        && ext.len() <= MAX_EXT_LEN
        && ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `Content/XX/HEX.ext` (no leading slash) for an update file, the path part of the
/// `FileLocation.Url` WSUS announces. The extension keeps the case of `file_name`.
pub fn relative_url_path(sha1: &[u8; 20], file_name: &str) -> Result<String, ContentError> {
    let ext = extension_of(file_name)?;
    Ok(match ext {
        Some(ext) => format!("Content/{}/{}.{}", shard_dir(sha1), sha1_hex(sha1), ext),
        None => format!("Content/{}/{}", shard_dir(sha1), sha1_hex(sha1)),
    })
}

/// Identity of a stored file: its SHA-1 and its (lower-case) extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentKey {
    /// SHA-1 digest of the file bytes.
    pub sha1: [u8; 20],
    /// Lower-case extension without the dot; `None` for files without one.
    pub ext: Option<String>,
}

impl ContentKey {
    /// Key for an update file, taking the extension from its metadata `FileName`.
    pub fn for_file(sha1: [u8; 20], file_name: &str) -> Result<Self, ContentError> {
        let ext = extension_of(file_name)?.map(str::to_ascii_lowercase);
        Ok(Self { sha1, ext })
    }

    /// Key from a digest and an extension (`"exe"`, `"CAB"`, `""` for none).
    pub fn new(sha1: [u8; 20], ext: &str) -> Result<Self, ContentError> {
        if ext.is_empty() {
            return Ok(Self { sha1, ext: None });
        }
        if !is_valid_ext(ext) {
            return Err(ContentError::InvalidFileName(ext.to_owned()));
        }
        Ok(Self {
            sha1,
            ext: Some(ext.to_ascii_lowercase()),
        })
    }

    /// File name on disk: `HEX.ext` with the extension lower-cased.
    pub fn disk_name(&self) -> String {
        match &self.ext {
            Some(ext) => format!("{}.{}", sha1_hex(&self.sha1), ext),
            None => sha1_hex(&self.sha1),
        }
    }

    /// Path relative to the store root: `XX/HEX.ext`.
    pub fn relative_disk_path(&self) -> String {
        format!("{}/{}", shard_dir(&self.sha1), self.disk_name())
    }
}

/// Parses the part of a content URL after `Content/`: `XX/HEX.ext` or `XX/HEX`.
///
/// Case-insensitive in every part, like IIS. Returns `None` for anything that is not
/// exactly a shard directory and a digest-named file, including a shard directory that
/// does not match the digest (real WSUS answers 404 for a wrong folder).
pub fn parse_content_path(rest: &str) -> Option<ContentKey> {
    let (dir, file) = rest.split_once('/')?;
    let (stem, ext) = match file.split_once('.') {
        // `HEX.` is not the extension-less name `HEX`.
        Some((_, "")) => return None,
        Some((stem, ext)) => (stem, ext),
        None => (file, ""),
    };
    if dir.len() != 2 || stem.len() != 40 {
        return None;
    }
    let mut sha1 = [0u8; 20];
    hex::decode_to_slice(stem, &mut sha1).ok()?;
    let mut shard = [0u8; 1];
    hex::decode_to_slice(dir, &mut shard).ok()?;
    if shard[0] != sha1[19] {
        return None;
    }
    if !ext.is_empty() && !is_valid_ext(ext) {
        return None;
    }
    ContentKey::new(sha1, ext).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: [u8; 20] = [
        0x2F, 0x88, 0xDF, 0x42, 0xDA, 0x48, 0xAA, 0x98, 0x0F, 0xB7, 0x48, 0xD1, 0x3B, 0xAA, 0x2D,
        0xE4, 0x9C, 0xD1, 0x54, 0xAB,
    ];

    #[test]
    fn url_matches_real_wsus_capture() {
        // From the native-client capture in shared/fixtures (content-headers/final-range).
        assert_eq!(
            relative_url_path(&D, "windows-kb890830-x64-v5.137.exe").unwrap(),
            "Content/AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe"
        );
    }

    #[test]
    fn shard_keeps_leading_zero() {
        let mut d = D;
        d[19] = 0x05;
        assert!(
            relative_url_path(&d, "a.cab")
                .unwrap()
                .starts_with("Content/05/")
        );
    }

    #[test]
    fn url_keeps_extension_case_disk_lowercases_it() {
        assert!(relative_url_path(&D, "X.MSU").unwrap().ends_with(".MSU"));
        let key = ContentKey::for_file(D, "X.MSU").unwrap();
        assert_eq!(
            key.relative_disk_path(),
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.msu"
        );
    }

    #[test]
    fn extension_rules() {
        assert_eq!(extension_of("a.tar.gz").unwrap(), Some("gz"));
        assert_eq!(extension_of("dir.d\\noext").unwrap(), None);
        assert_eq!(extension_of("trailing.").unwrap(), None);
        assert_eq!(extension_of("plain").unwrap(), None);
        assert!(extension_of("evil.e/x").is_ok()); // the dot is in a directory part
        assert!(extension_of("x.ex e").is_err());
        assert!(extension_of("x.aaaaaaaaaaaaaaaaa").is_err());
        assert!(extension_of("x.é").is_err());
    }

    #[test]
    fn parse_is_case_insensitive_and_checks_shard() {
        let k = parse_content_path("ab/2f88df42da48aa980fb748d13baa2de49cd154ab.EXE").unwrap();
        assert_eq!(k.sha1, D);
        assert_eq!(k.ext.as_deref(), Some("exe"));
        assert!(parse_content_path("AC/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe").is_none());
        assert_eq!(
            parse_content_path("AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB")
                .unwrap()
                .ext,
            None
        );
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "AB",
            "AB/",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154A.exe",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154ABB.exe",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AG.exe",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe/x",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.tar.gz",
            "AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.",
            "ABC/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe",
            "../AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe",
            "AB/../2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe",
        ] {
            assert!(
                parse_content_path(bad).is_none(),
                "{bad:?} must be rejected"
            );
        }
    }
}
