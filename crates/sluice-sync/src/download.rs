//! Content downloads: resumable ranged transfers into the content store's partials, verified
//! (size, SHA-1, SHA-256) before the file becomes visible, with retries and bounded concurrency.

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use sluice_content::{ContentError, ContentStore, ExpectedFile};
use sluice_store::{FileRecord, FileState, Store};
use tokio::sync::Semaphore;
use tokio_util::io::StreamReader;
use tokio_util::sync::CancellationToken;

use crate::client::error_chain;

/// Attempts per file for transfer errors (verification failures are not retried: the source
/// sent the wrong bytes and would again).
const ATTEMPTS: u32 = 4;
/// First back-off; doubled after every failed attempt.
const BACKOFF: Duration = Duration::from_millis(500);

/// Outcome of a batch of downloads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    pub downloaded: usize,
    pub already_present: usize,
    pub failed: Vec<(String, String)>,
}

/// Downloads files into the content store.
#[derive(Clone)]
pub struct Downloader {
    http: reqwest::Client,
    store: Store,
    content: Arc<ContentStore>,
    concurrency: usize,
    /// Where to fetch a file that has no `mu_url`, or all files from a content-serving
    /// upstream: `<base>/Content/XX/SHA1.ext`.
    content_base: Option<String>,
}

impl Downloader {
    pub fn new(http: reqwest::Client, store: Store, content: Arc<ContentStore>, concurrency: usize) -> Downloader {
        Downloader { http, store, content, concurrency: concurrency.max(1), content_base: None }
    }

    /// Prefer the upstream's `/Content/…` over Microsoft's URL (a downstream WSUS normally
    /// takes its files from its upstream).
    pub fn with_content_base(mut self, base: Option<String>) -> Downloader {
        self.content_base = base.map(|b| b.trim_end_matches('/').to_string());
        self
    }

    /// Where to try, in order: the upstream's `/Content/…` (if configured), then Microsoft's
    /// URL. A lazy WSUS upstream has only the files it was asked for, so its 404 is not final.
    fn sources(&self, f: &FileRecord) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(base), Some(sha1)) = (&self.content_base, parse_sha1(&f.sha1))
            && let Ok(path) = sluice_content::relative_url_path(&sha1, &f.file_name)
        {
            out.push(format!("{base}/{}", path.trim_start_matches('/')));
        }
        if let Some(u) = f.mu_url.as_ref().filter(|u| !u.is_empty()) {
            out.push(u.clone());
        }
        out
    }

    /// Downloads every file of `files` not already present, `concurrency` at a time.
    pub async fn download_all(&self, files: Vec<FileRecord>, stop: &CancellationToken) -> DownloadReport {
        self.download_all_with_progress(files, stop, |_, _| {}).await
    }

    /// [`download_all`](Self::download_all), calling `progress(finished, total)` as files end.
    pub async fn download_all_with_progress(
        &self,
        files: Vec<FileRecord>,
        stop: &CancellationToken,
        progress: impl Fn(usize, usize),
    ) -> DownloadReport {
        let total = files.len();
        let sem = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let mut report = DownloadReport::default();
        for f in files {
            if f.state == FileState::Present {
                report.already_present += 1;
                continue;
            }
            let Ok(permit) = sem.clone().acquire_owned().await else { break };
            if stop.is_cancelled() {
                break;
            }
            let this = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let sha1 = f.sha1.clone();
                (sha1, this.download(&f, &stop).await)
            });
        }
        while let Some(r) = tasks.join_next().await {
            progress(total - tasks.len(), total);
            match r {
                Ok((_, Ok(Fetched::Downloaded))) => report.downloaded += 1,
                Ok((_, Ok(Fetched::AlreadyPresent))) => report.already_present += 1,
                Ok((sha1, Err(e))) => report.failed.push((sha1, e)),
                Err(e) => report.failed.push((String::new(), format!("download task failed: {e}"))),
            }
        }
        report
    }

    /// Downloads one file: absent → downloading → present | failed.
    pub async fn download(&self, f: &FileRecord, stop: &CancellationToken) -> Result<Fetched, String> {
        let expected = expected_file(f)?;
        let key = sluice_content::ContentKey::for_file(expected.sha1, &expected.file_name).map_err(|e| e.to_string())?;
        if self.content.exists(&key).await.map_err(|e| e.to_string())? {
            self.set_state(&f.sha1, FileState::Present).await;
            return Ok(Fetched::AlreadyPresent);
        }
        let sources = self.sources(f);
        if sources.is_empty() {
            self.set_state(&f.sha1, FileState::Failed).await;
            return Err(format!("file {} ({}) has no download URL", f.sha1, f.file_name));
        }
        self.set_state(&f.sha1, FileState::Downloading).await;
        let mut why = Vec::new();
        for url in &sources {
            match self.fetch_from(url, &expected, stop).await {
                Ok(()) => {
                    self.set_state(&f.sha1, FileState::Present).await;
                    return Ok(Fetched::Downloaded);
                }
                Err(e) if stop.is_cancelled() => {
                    // Left resumable: the partial stays, the state returns to absent.
                    self.set_state(&f.sha1, FileState::Absent).await;
                    return Err(e);
                }
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        self.set_state(&f.sha1, FileState::Failed).await;
        Err(why.join("; "))
    }

    /// Downloads from one source, retrying transfer errors with exponential back-off.
    async fn fetch_from(&self, url: &str, expected: &ExpectedFile, stop: &CancellationToken) -> Result<(), String> {
        let mut delay = BACKOFF;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if stop.is_cancelled() {
                return Err("cancelled".into());
            }
            match self.attempt(url, expected).await {
                Ok(()) => return Ok(()),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(e)) => {
                    tracing::warn!(url, attempt, error = %e, "download attempt failed");
                    last = e;
                }
            }
            if attempt < ATTEMPTS {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => {}
                }
                delay *= 2;
            }
        }
        Err(format!("{last} (after {ATTEMPTS} attempts)"))
    }

    async fn attempt(&self, url: &str, expected: &ExpectedFile) -> Result<(), Attempt> {
        let mut partial = match self.content.resume(expected).await {
            Ok(p) => p,
            Err(ContentError::PartialBusy) => return Err(Attempt::Fatal("another download of this file is in progress".into())),
            Err(e) => return Err(Attempt::Retry(e.to_string())),
        };
        let have = partial.len();
        let complete = expected.size.is_some_and(|s| have == s && s > 0);
        if !complete {
            let mut req = self.http.get(url);
            if have > 0 {
                req = req.header("Range", format!("bytes={have}-"));
            }
            let resp = req.send().await.map_err(|e| Attempt::Retry(error_chain(&e)))?;
            let status = resp.status();
            if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE && have > 0 {
                // The partial is not a prefix of what the source has: start over.
                partial.discard().await.map_err(|e| Attempt::Retry(e.to_string()))?;
                return Err(Attempt::Retry("the source refused the resume range; restarting".into()));
            }
            if status.is_client_error() {
                return Err(Attempt::Fatal(format!("HTTP {status}")));
            }
            if !status.is_success() {
                return Err(Attempt::Retry(format!("HTTP {status}")));
            }
            if have > 0 && status != reqwest::StatusCode::PARTIAL_CONTENT {
                // The source ignored the range and sends the whole file.
                partial.discard().await.map_err(|e| Attempt::Retry(e.to_string()))?;
                partial = self.content.resume(expected).await.map_err(|e| Attempt::Retry(e.to_string()))?;
            }
            let body = StreamReader::new(resp.bytes_stream().map_err(std::io::Error::other));
            match partial.append(body).await {
                Ok(_) => {}
                Err(e) if e.is_verification_failure() => {
                    let _ = partial.discard().await;
                    return Err(Attempt::Fatal(e.to_string()));
                }
                Err(e) => return Err(Attempt::Retry(e.to_string())),
            }
        }
        match partial.finish().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_verification_failure() => Err(Attempt::Fatal(e.to_string())),
            Err(e) => Err(Attempt::Retry(e.to_string())),
        }
    }

    async fn set_state(&self, sha1: &str, state: FileState) {
        if let Err(e) = self.store.set_file_state(sha1, state).await {
            tracing::error!(sha1, error = %e, "cannot record the file state");
        }
    }
}

/// What a successful [`Downloader::download`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    Downloaded,
    AlreadyPresent,
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

fn parse_sha1(hex_s: &str) -> Option<[u8; 20]> {
    hex::decode(hex_s).ok()?.try_into().ok()
}

fn expected_file(f: &FileRecord) -> Result<ExpectedFile, String> {
    let sha1 = parse_sha1(&f.sha1).ok_or_else(|| format!("bad SHA-1 {:?}", f.sha1))?;
    let sha256 = match &f.sha256 {
        Some(h) => Some(
            hex::decode(h)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| format!("bad SHA-256 {h:?}"))?,
        ),
        None => None,
    };
    Ok(ExpectedFile { sha1, sha256, size: u64::try_from(f.size).ok(), file_name: f.file_name.clone() })
}
