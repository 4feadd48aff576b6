//! Disconnected networks: export the catalog (and optionally its content) into a package
//! directory, and import such a package on an air-gapped server. See `docs/export-format.md`.
//!
//! A package is a directory:
//! - `manifest.json`: format, source server, creation time, `since`, counts, every revision and
//!   file record, and the size and SHA-256 of every other package file;
//! - `manifest.sha256`: `<hex>  manifest.json`, so a damaged manifest is detected too;
//! - `metadata/NNNNN.xml.gz`: one gzip-compressed original update document per revision;
//! - `content/XX/SHA1.ext` (with content): the files, in the WSUS content layout.
//!
//! Import verifies every package file before it touches the catalog.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;
use sluice_content::{ContentKey, ExpectedFile};
use sluice_store::FileState;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{Catalog, CatalogError};

/// Value of `manifest.format`.
pub const FORMAT: &str = "sluice-export";
/// Value of `manifest.format_version` this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_DIGEST: &str = "manifest.sha256";
/// Documents per catalog batch on import (each batch is all or nothing).
const IMPORT_BATCH: usize = 500;
/// Largest manifest read.
const MAX_MANIFEST: u64 = 512 * 1024 * 1024;
/// Largest inflated update document (the catalog's own limit is 16 MiB).
const MAX_DOCUMENT: u64 = 16 * 1024 * 1024 + 1;

pub use sluice_api::transfer::{ExportReport, ExportRequest, ImportReport, ImportRequest};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The exporting server's id (`server-id` setting), when it has one.
    pub source_server_id: Option<String>,
    /// RFC 3339, UTC.
    pub created: String,
    /// The `since` bound as RFC 3339, or null for a full export.
    pub since: Option<String>,
    pub counts: Counts,
    /// In the exporter's storage order (categories and bundled children before what uses them,
    /// as they arrived there).
    pub revisions: Vec<ManifestRevision>,
    pub files: Vec<ManifestFile>,
    /// Every package file except `manifest.json` and `manifest.sha256`.
    pub package_files: Vec<PackageFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counts {
    pub revisions: usize,
    pub files: usize,
    pub content_files: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestRevision {
    pub update_id: String,
    pub revision_number: i32,
    /// `metadata/NNNNN.xml.gz`.
    pub path: String,
    /// SHA-1 (hex) of each file the revision references.
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: i64,
    pub sha1: String,
    pub sha256: Option<String>,
    pub mu_url: Option<String>,
    /// `content/XX/SHA1.ext` when the package carries the file.
    pub content: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::InvalidRequest(msg.into())
}

fn internal(e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Internal(e.to_string())
}

fn io_err(action: &str, path: &Path, e: std::io::Error) -> CatalogError {
    CatalogError::Internal(format!("{action} {}: {e}", path.display()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, CatalogError> + Send + 'static) -> Result<T, CatalogError> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

/// `since` as given on the command line: RFC 3339, or a date meaning 00:00 UTC.
pub fn parse_since(s: &str) -> Result<OffsetDateTime, CatalogError> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| invalid(format!("since '{s}' is neither an RFC 3339 time nor a YYYY-MM-DD date")))
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    sha256: sha2::Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `dir/rel` through `fill`, fsynced; returns its record.
/// Copies one stored file into the package at `rel`; `None` when it is no longer stored.
async fn export_content_file(content: &sluice_content::ContentStore, key: &ContentKey, dir: &Path, rel: &str) -> Result<Option<PackageFile>, CatalogError> {
    let (dir, rel) = (dir.to_path_buf(), rel.to_owned());
    if let Some(src) = content.path_of(key) {
        let pf = blocking(move || {
            let mut input = std::fs::File::open(&src).map_err(|e| io_err("opening", &src, e))?;
            write_package_file(&dir, &rel, |w| std::io::copy(&mut input, w).map(|_| ()))
        })
        .await?;
        return Ok(Some(pf));
    }
    // An S3 store: the object streams into the package through a blocking bridge to its reader.
    let Some(file) = content.lookup(key).await? else { return Ok(None) };
    let mut input = tokio_util::io::SyncIoBridge::new(file.into_reader());
    let pf = blocking(move || write_package_file(&dir, &rel, |w| std::io::copy(&mut input, w).map(|_| ()))).await?;
    Ok(Some(pf))
}

fn write_package_file(
    dir: &Path,
    rel: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PackageFile, CatalogError> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err("creating", parent, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_err("creating", &path, e))?;
    let mut w = Hashing { inner: std::io::BufWriter::new(file), sha256: sha2::Sha256::new(), len: 0 };
    fill(&mut w).map_err(|e| io_err("writing", &path, e))?;
    let file = w.inner.into_inner().map_err(|e| io_err("writing", &path, e.into_error()))?;
    file.sync_all().map_err(|e| io_err("syncing", &path, e))?;
    Ok(PackageFile { path: rel.to_string(), size: w.len, sha256: hex::encode(w.sha256.finalize()) })
}

/// SHA-256 and size of a file, read in chunks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hex::encode(h.finalize())))
}

/// A package-relative path: forward slashes, plain components, under `metadata/` or `content/`.
fn checked_relative(dir: &Path, rel: &str) -> Result<PathBuf, CatalogError> {
    let bad = || invalid(format!("the manifest names an unusable path '{rel}'"));
    if !(rel.starts_with("metadata/") || rel.starts_with("content/")) || rel.contains('\\') {
        return Err(bad());
    }
    let p = Path::new(rel);
    if !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(bad());
    }
    Ok(dir.join(p))
}

impl Catalog {
    /// Writes a package into `req.out` (which must not exist, or be an empty directory).
    pub async fn export_package(&self, req: &ExportRequest) -> Result<ExportReport, CatalogError> {
        let out = PathBuf::from(req.out.trim());
        if !out.is_absolute() {
            return Err(invalid("the export directory must be an absolute path on the server"));
        }
        let since = req.since.as_deref().map(parse_since).transpose()?;
        {
            let out = out.clone();
            blocking(move || {
                match std::fs::read_dir(&out) {
                    Ok(mut entries) => {
                        if entries.next().is_some() {
                            return Err(invalid(format!("{} exists and is not empty", out.display())));
                        }
                    }
                    // Where the package goes is the administrator's choice, so a directory
                    // the server cannot make or read is a bad request, with the reason.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(&out)
                            .map_err(|e| invalid(format!("cannot create the export directory {}: {e}", out.display())))?;
                    }
                    Err(e) => return Err(invalid(format!("cannot use {} as the export directory: {e}", out.display()))),
                }
                Ok(())
            })
            .await?;
        }

        let revisions: Vec<_> = self
            .store
            .all_revisions()
            .await?
            .into_iter()
            .filter(|r| since.is_none_or(|s| r.imported_at >= s))
            .collect();
        let mut files_of: HashMap<i64, Vec<sluice_store::FileRecord>> = HashMap::new();
        for (rev, f) in self.store.all_revision_files().await? {
            files_of.entry(rev).or_default().push(f);
        }

        let mut package_files = Vec::new();
        let mut manifest_revs = Vec::with_capacity(revisions.len());
        let mut files: BTreeMap<String, sluice_store::FileRecord> = BTreeMap::new();
        for (i, rev) in revisions.iter().enumerate() {
            let compressed = self
                .store
                .revision_xml(rev.id)
                .await?
                .ok_or_else(|| CatalogError::NotFound(format!("the document of revision {}", rev.id)))?;
            let rel = format!("metadata/{i:05}.xml.gz");
            let dir = out.clone();
            let rel2 = rel.clone();
            let id = rev.id;
            let pf = blocking(move || {
                let xml = crate::decompress(&compressed).map_err(|e| internal(format!("stored XML of revision {id}: {e}")))?;
                write_package_file(&dir, &rel2, |w| {
                    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
                    gz.write_all(xml.as_bytes())?;
                    gz.finish()?;
                    Ok(())
                })
            })
            .await?;
            package_files.push(pf);
            let recs = files_of.remove(&rev.id).unwrap_or_default();
            manifest_revs.push(ManifestRevision {
                update_id: rev.update_id.to_string(),
                revision_number: rev.revision_number,
                path: rel,
                files: recs.iter().map(|f| f.sha1.clone()).collect(),
            });
            for f in recs {
                files.entry(f.sha1.clone()).or_insert(f);
            }
        }

        let mut manifest_files = Vec::with_capacity(files.len());
        let mut content_missing = 0;
        for f in files.values() {
            let mut content = None;
            if req.content {
                let mut sha1 = [0u8; 20];
                hex::decode_to_slice(&f.sha1, &mut sha1).map_err(internal)?;
                match ContentKey::for_file(sha1, &f.file_name) {
                    Ok(key) if self.content.exists(&key).await? => {
                        let rel = format!("content/{}", key.relative_disk_path());
                        match export_content_file(&self.content, &key, &out, &rel).await? {
                            Some(pf) => {
                                package_files.push(pf);
                                content = Some(rel);
                            }
                            None => content_missing += 1,
                        }
                    }
                    _ => content_missing += 1,
                }
            }
            manifest_files.push(ManifestFile {
                name: f.file_name.clone(),
                size: f.size,
                sha1: f.sha1.clone(),
                sha256: f.sha256.clone(),
                mu_url: f.mu_url.clone(),
                content,
            });
        }

        let content_files = manifest_files.iter().filter(|f| f.content.is_some()).count();
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            source_server_id: self.store.setting(sluice_store::settings::CLIENT_FACING_SERVER_ID).await?.map(|id| id.to_string()),
            created: OffsetDateTime::now_utc().format(&Rfc3339).map_err(internal)?,
            since: since.map(|s| s.format(&Rfc3339)).transpose().map_err(internal)?,
            counts: Counts { revisions: manifest_revs.len(), files: manifest_files.len(), content_files },
            revisions: manifest_revs,
            files: manifest_files,
            package_files,
        };
        let bytes_before: u64 = manifest.package_files.iter().map(|p| p.size).sum();
        let json = serde_json::to_vec_pretty(&manifest).map_err(internal)?;
        let dir = out.clone();
        let digest = blocking(move || {
            let m = write_package_file(&dir, MANIFEST, |w| w.write_all(&json))?;
            let line = format!("{}  {MANIFEST}\n", m.sha256);
            write_package_file(&dir, MANIFEST_DIGEST, |w| w.write_all(line.as_bytes()))?;
            Ok(m)
        })
        .await?;
        Ok(ExportReport {
            out: out.display().to_string(),
            revisions: manifest.counts.revisions,
            files: manifest.counts.files,
            content_files,
            content_missing,
            bytes: bytes_before + digest.size,
            manifest_sha256: digest.sha256,
        })
    }

    /// Verifies a package completely, then imports its documents (batches, each all or
    /// nothing), file URLs and content. Importing the same package again changes nothing.
    pub async fn import_package(&self, req: &ImportRequest) -> Result<ImportReport, CatalogError> {
        let dir = PathBuf::from(req.dir.trim());
        if !dir.is_absolute() {
            return Err(invalid("the package directory must be an absolute path on the server"));
        }
        let expected_manifest = req.manifest_sha256.as_ref().map(|s| s.trim().to_ascii_lowercase());
        let d = dir.clone();
        let manifest = blocking(move || verify_package(&d, expected_manifest.as_deref())).await?;

        let mut report = ImportReport {
            package_files_verified: manifest.package_files.len(),
            files: manifest.files.len(),
            source_server_id: manifest.source_server_id.clone(),
            ..Default::default()
        };

        // Metadata, in the exporter's order, batch by batch.
        for chunk in manifest.revisions.chunks(IMPORT_BATCH) {
            let d = dir.clone();
            let paths: Vec<String> = chunk.iter().map(|r| r.path.clone()).collect();
            let docs = blocking(move || {
                let mut docs = Vec::with_capacity(paths.len());
                for rel in paths {
                    let path = checked_relative(&d, &rel)?;
                    let f = std::fs::File::open(&path).map_err(|e| io_err("opening", &path, e))?;
                    let mut xml = Vec::new();
                    flate2::read::GzDecoder::new(f)
                        .take(MAX_DOCUMENT)
                        .read_to_end(&mut xml)
                        .map_err(|e| invalid(format!("{rel}: not a gzip-compressed document: {e}")))?;
                    if xml.len() as u64 >= MAX_DOCUMENT {
                        return Err(invalid(format!("{rel}: the document is larger than 16 MiB")));
                    }
                    docs.push((rel, xml));
                }
                Ok(docs)
            })
            .await?;
            let imported = self.import_documents(docs).await?;
            for (m, r) in chunk.iter().zip(&imported) {
                if !m.update_id.eq_ignore_ascii_case(&r.update_id) || m.revision_number != r.revision_number {
                    return Err(invalid(format!(
                        "{} holds {} revision {}, the manifest says {} revision {}",
                        m.path, r.update_id, r.revision_number, m.update_id, m.revision_number
                    )));
                }
            }
            report.revisions += imported.len();
            report.revisions_inserted += imported.iter().filter(|r| r.inserted).count();
        }
        report.revisions_already_present = report.revisions - report.revisions_inserted;

        // File URLs (update documents do not carry them), then content.
        for f in &manifest.files {
            let Some(record) = self.store.file(&f.sha1).await? else { continue };
            if let Some(url) = &f.mu_url
                && record.mu_url.as_deref() != Some(url.as_str())
            {
                self.store.set_file_mu_url(&f.sha1, url).await?;
                report.mu_urls_set += 1;
            }
            let Some(rel) = &f.content else { continue };
            let mut sha1 = [0u8; 20];
            hex::decode_to_slice(&f.sha1, &mut sha1).map_err(|_| invalid(format!("file {}: bad SHA-1", f.sha1)))?;
            let key = ContentKey::for_file(sha1, &f.name)?;
            if record.state == FileState::Present && self.content.exists(&key).await? {
                report.content_already_present += 1;
                continue;
            }
            // The package checksum of a content file is the file's SHA-256.
            let package_sha256 = manifest.package_files.iter().find(|p| &p.path == rel).map(|p| p.sha256.clone());
            let sha256_hex = f.sha256.clone().or(package_sha256).unwrap_or_default();
            let mut sha256 = [0u8; 32];
            hex::decode_to_slice(&sha256_hex, &mut sha256).map_err(|_| invalid(format!("file {}: bad SHA-256", f.sha1)))?;
            let expected = ExpectedFile {
                sha1,
                sha256: Some(sha256),
                size: u64::try_from(record.size).ok(),
                file_name: f.name.clone(),
            };
            let path = checked_relative(&dir, rel)?;
            self.content.put_file_verified(&path, &expected).await.map_err(|e| {
                if e.is_verification_failure() {
                    CatalogError::FileMismatch(format!("{rel}: {e}"))
                } else {
                    CatalogError::Content(e)
                }
            })?;
            self.store.set_file_state(&f.sha1, FileState::Present).await?;
            report.content_stored += 1;
        }
        Ok(report)
    }
}

/// Reads and checks the manifest, then the size and SHA-256 of every package file. Nothing
/// is written.
fn verify_package(dir: &Path, expected_manifest: Option<&str>) -> Result<Manifest, CatalogError> {
    let manifest_path = dir.join(MANIFEST);
    let meta = std::fs::metadata(&manifest_path).map_err(|e| invalid(format!("{}: {e}", manifest_path.display())))?;
    if meta.len() > MAX_MANIFEST {
        return Err(invalid(format!("{MANIFEST} is too large")));
    }
    let bytes = std::fs::read(&manifest_path).map_err(|e| io_err("reading", &manifest_path, e))?;
    let actual = hex::encode(sha2::Sha256::digest(&bytes));
    let digest_path = dir.join(MANIFEST_DIGEST);
    let recorded = std::fs::read_to_string(&digest_path)
        .map_err(|e| invalid(format!("package refused: {MANIFEST_DIGEST}: {e}")))?;
    let recorded = recorded.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
    if recorded != actual {
        return Err(invalid(format!("package refused: {MANIFEST} does not match {MANIFEST_DIGEST} (damaged or altered)")));
    }
    if let Some(want) = expected_manifest
        && want != actual
    {
        return Err(invalid(format!("package refused: {MANIFEST} has SHA-256 {actual}, expected {want}")));
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("package refused: {MANIFEST}: {e}")))?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(invalid(format!(
            "package refused: format {} version {} (this server reads {FORMAT} version {FORMAT_VERSION})",
            manifest.format, manifest.format_version
        )));
    }

    // Consistency: every referenced path is a listed package file; content only for known files.
    let mut listed = HashSet::new();
    for p in &manifest.package_files {
        checked_relative(dir, &p.path)?;
        if !listed.insert(p.path.as_str()) {
            return Err(invalid(format!("package refused: {} is listed twice", p.path)));
        }
    }
    let mut referenced = HashSet::new();
    for r in &manifest.revisions {
        if !listed.contains(r.path.as_str()) {
            return Err(invalid(format!("package refused: {} has no checksum in the manifest", r.path)));
        }
        referenced.extend(r.files.iter().map(|s| s.to_ascii_lowercase()));
    }
    for f in &manifest.files {
        if let Some(c) = &f.content {
            if !listed.contains(c.as_str()) {
                return Err(invalid(format!("package refused: {c} has no checksum in the manifest")));
            }
            if !referenced.contains(&f.sha1.to_ascii_lowercase()) {
                return Err(invalid(format!("package refused: {c} belongs to no revision of the package")));
            }
            let mut sha1 = [0u8; 20];
            hex::decode_to_slice(&f.sha1, &mut sha1).map_err(|_| invalid(format!("package refused: file {}: bad SHA-1", f.sha1)))?;
            let key = ContentKey::for_file(sha1, &f.name)?;
            if c != &format!("content/{}", key.relative_disk_path()) {
                return Err(invalid(format!("package refused: {c} is not where file {} belongs", f.sha1)));
            }
        }
    }

    // Sizes first (cheap, catches truncation), then digests.
    for p in &manifest.package_files {
        let path = checked_relative(dir, &p.path)?;
        let m = std::fs::symlink_metadata(&path).map_err(|e| invalid(format!("package refused: {}: {e}", p.path)))?;
        if !m.is_file() {
            return Err(invalid(format!("package refused: {} is not a regular file", p.path)));
        }
        if m.len() != p.size {
            return Err(invalid(format!("package refused: {} has {} bytes, the manifest says {}", p.path, m.len(), p.size)));
        }
    }
    for p in &manifest.package_files {
        let path = checked_relative(dir, &p.path)?;
        let (_, sha256) = hash_file(&path).map_err(|e| io_err("reading", &path, e))?;
        if !sha256.eq_ignore_ascii_case(&p.sha256) {
            return Err(invalid(format!("package refused: {} does not match its SHA-256 in the manifest (damaged or altered)", p.path)));
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times() {
        assert_eq!(parse_since("2026-01-02").unwrap(), time::macros::datetime!(2026-01-02 0:00 UTC));
        assert_eq!(parse_since("2026-01-02T03:04:05Z").unwrap(), time::macros::datetime!(2026-01-02 3:04:05 UTC));
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn package_paths_stay_inside() {
        let d = Path::new("/pkg");
        assert!(checked_relative(d, "metadata/00001.xml.gz").is_ok());
        assert!(checked_relative(d, "content/AB/AB12.cab").is_ok());
        for bad in ["../etc/passwd", "/etc/passwd", "metadata/../../x", "other/x", "content\\x"] {
            assert!(checked_relative(d, bad).is_err(), "{bad}");
        }
    }
}
