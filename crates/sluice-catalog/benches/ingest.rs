//! Ingest throughput: parse + fragments + store, in revisions per second, on SQLite.
//!
//! `cargo bench -p sluice-catalog --bench ingest`
//!
//! Each iteration imports a batch of fresh small revisions (a typical Microsoft leaf: an
//! identity, properties, one localized title/description, prerequisites, an IsInstalled and an
//! IsInstallable rule, one file, command-line handler data) into a store that keeps growing.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sluice_catalog::Catalog;
use sluice_metadata::publish::{software_update_xml, PublishSpec};
use sluice_metadata::{CommandLineInstall, ReturnCode, ReturnResult, UpdateFile};
use uuid::Uuid;

const BATCH: usize = 1000;

/// A distinct SHA-1 per revision, so every revision brings a new file row as in real catalogs.
fn fake_digest(id: Uuid) -> [u8; 20] {
    let mut d = [0u8; 20];
    d[..16].copy_from_slice(id.as_bytes());
    d
}

fn small_revision(i: u64) -> (String, Vec<u8>) {
    let id = Uuid::new_v4();
    let spec = PublishSpec {
        update_id: id,
        revision_number: 200,
        language: "en".into(),
        title: format!("Security Update for Contoso Agent (KB{})", 5_000_000 + i),
        description: Some("Install this update to resolve issues in Contoso Agent.".into()),
        kb_article: Some((5_000_000 + i).to_string()),
        msrc_number: None,
        msrc_severity: None,
        classification: Some(Uuid::from_u128(0x0fa1201d_4330_4fa8_8ae9_b877473b6441)),
        products: vec![Uuid::from_u128(0x72e7624a_5b00_45d2_b92f_e561c0a6a160)],
        creation_date: "2026-11-25T12:00:00.000Z".into(),
        file: Some(UpdateFile {
            file_name: format!("contoso-{i}.exe"),
            size: 100_000 + i,
            modified: Some("2026-11-25T12:00:00Z".into()),
            sha1: fake_digest(id),
            sha256: Some([i as u8; 32]),
            patching_type: None,
        }),
        command_line: Some(CommandLineInstall {
            program: format!("contoso-{i}.exe"),
            arguments: Some("/quiet".into()),
            reboot_by_default: None,
            default_result: None,
            return_codes: vec![ReturnCode { code: 0, result: ReturnResult::Succeeded, reboot: false, description: None }],
        }),
        installed_rule: Some(r#"<bar:FileVersion Path="contoso.exe" Comparison="GreaterThanOrEqualTo" Version="5.1.0.0" Csidl="38" />"#.into()),
        installable_rule: Some(r#"<lar:And><bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" /><bar:Processor Architecture="9" /></lar:And>"#.into()),
        prerequisites: vec![Uuid::from_u128(0x59653007_e2e9_4f71_8525_2ff588527978)],
        supersedes: vec![],
        reboot_behavior: None,
    };
    (format!("{id}.xml"), software_update_xml(&spec).into_bytes())
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = rt.block_on(async {
        let store = sluice_store::Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display()))
            .await
            .expect("store");
        let content = sluice_content::ContentStore::open(dir.path().join("content")).await.expect("content");
        Catalog::new(store, Arc::new(content))
    });
    let mut n = 0u64;
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    g.bench_function("small_revisions_batch_1000", |b| {
        b.iter_batched(
            || {
                let docs: Vec<_> = (0..BATCH as u64).map(|i| small_revision(n + i)).collect();
                n += BATCH as u64;
                docs
            },
            |docs| rt.block_on(catalog.import_documents(docs)).expect("import"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
