//! From a parsed update document to the store's revision record.

use std::collections::HashSet;
use std::io::{Read, Write};

use flate2::Compression;
use sluice_metadata::{ParsedUpdate, UpdateFile, UpdateType};
use sluice_store::{Fragment, FragmentKind, NewCategory, NewFile, NewRevision, Relationship, RelationshipKind};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// Original documents are kept deflate-compressed: update XML shrinks 5-10 times, and it is
/// read only when a document is served whole (server sync, export, detail views).
pub fn compress(xml: &str) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::with_capacity(xml.len() / 4), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(xml.as_bytes());
    e.finish().unwrap_or_default()
}

pub fn decompress(bytes: &[u8]) -> std::io::Result<String> {
    let mut s = String::new();
    flate2::read::DeflateDecoder::new(bytes).read_to_string(&mut s)?;
    Ok(s)
}

/// xsd:dateTime as Microsoft writes it: offset optional (then UTC), up to 7 fraction digits.
pub fn parse_xsd_datetime(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())
}

fn new_file(f: &UpdateFile) -> NewFile {
    NewFile {
        sha1: hex::encode(f.sha1),
        sha256: f.sha256.map(hex::encode),
        file_name: f.file_name.clone(),
        size: f.size as i64,
        modified: f.modified.as_deref().and_then(parse_xsd_datetime),
        patching_type: f.patching_type.clone(),
        mu_url: None,
    }
}

fn store_type(t: UpdateType) -> sluice_store::UpdateType {
    match t {
        UpdateType::Software => sluice_store::UpdateType::Software,
        UpdateType::Driver => sluice_store::UpdateType::Driver,
        UpdateType::Detectoid => sluice_store::UpdateType::Detectoid,
        UpdateType::Category => sluice_store::UpdateType::Category,
    }
}

/// Builds the record the store keeps for one revision: indexed properties, the compressed
/// original, every precomputed fragment, files and relationships.
pub fn prepare_revision(p: &ParsedUpdate, classifications: &HashSet<Uuid>) -> NewRevision {
    let u = &p.update;
    let en = u.localized_in("en");
    let categories: Vec<Uuid> = u.category_ids().collect();
    let classification = categories.iter().copied().find(|c| classifications.contains(c));

    let mut fragments = Vec::with_capacity(2 + p.fragments.localized.len());
    fragments.push(Fragment { kind: FragmentKind::Core, language: String::new(), body: p.fragments.core.clone().into_bytes() });
    fragments.push(Fragment {
        kind: FragmentKind::Extended,
        language: String::new(),
        body: p.fragments.extended.clone().into_bytes(),
    });
    let mut seen = HashSet::new();
    for (lang, body) in &p.fragments.localized {
        // A document naming one language twice keeps the first, as WSUS does.
        if seen.insert((FragmentKind::Localized, lang.to_ascii_lowercase())) {
            fragments.push(Fragment { kind: FragmentKind::Localized, language: lang.to_ascii_lowercase(), body: body.clone().into_bytes() });
        }
    }
    for (lang, body) in &p.fragments.eulas {
        if seen.insert((FragmentKind::Eula, lang.to_ascii_lowercase())) {
            fragments.push(Fragment { kind: FragmentKind::Eula, language: lang.to_ascii_lowercase(), body: body.clone().into_bytes() });
        }
    }

    let mut relationships = Vec::new();
    for (i, g) in u.relationships.prerequisites.iter().enumerate() {
        for m in &g.members {
            relationships.push(Relationship {
                kind: RelationshipKind::Prerequisite,
                group_no: i as i32,
                target_update_id: *m,
                target_revision_number: None,
                is_category: g.is_category,
            });
        }
    }
    for (i, slot) in u.relationships.bundled_updates.iter().enumerate() {
        for r in slot {
            relationships.push(Relationship {
                kind: RelationshipKind::Bundled,
                group_no: i as i32,
                target_update_id: r.update_id,
                target_revision_number: r.revision_number,
                is_category: false,
            });
        }
    }
    for (i, s) in u.relationships.superseded_updates.iter().enumerate() {
        relationships.push(Relationship {
            kind: RelationshipKind::Superseded,
            group_no: i as i32,
            target_update_id: *s,
            target_revision_number: None,
            is_category: false,
        });
    }

    let mut files: Vec<NewFile> = u.files.iter().map(new_file).collect();
    files.extend(u.eulas.iter().map(|e| new_file(&e.file)));

    let category = (u.properties.update_type == UpdateType::Category).then(|| NewCategory {
        category_type: u.category_info().and_then(|c| c.category_type.clone()).unwrap_or_default(),
        title: u.title().to_string(),
        parent_update_id: categories.first().copied(),
    });

    NewRevision {
        update_id: u.identity.update_id,
        revision_number: u.identity.revision_number,
        update_type: store_type(u.properties.update_type),
        title: u.title().to_string(),
        description: en.and_then(|l| l.description.clone()),
        kb_article: u.properties.kb_article_ids.first().cloned(),
        msrc_severity: u.properties.msrc_severity.map(|s| s.as_str().to_string()),
        msrc_number: u.properties.security_bulletin_ids.first().cloned(),
        classification,
        category_type: u.category_info().and_then(|c| c.category_type.clone()),
        publication_state: u.properties.publication_state.clone().unwrap_or_else(|| "Published".into()),
        creation_date: u.properties.creation_date.as_deref().and_then(parse_xsd_datetime),
        is_locally_published: u.properties.is_locally_published
            || u.properties.publisher_id.as_deref() == Some(sluice_metadata::publish::LOCAL_PUBLISHER_ID),
        is_leaf: !u.is_bundle(),
        is_bundle: u.is_bundle(),
        explicitly_deployable: u.properties.explicitly_deployable,
        xml_compressed: compress(&p.xml),
        fragments,
        files,
        relationships,
        categories,
        category,
        license: Some(crate::license::license_facts(u)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsd_datetimes_as_microsoft_writes_them() {
        for s in ["2026-10-04T12:00:58.381Z", "2026-10-04T12:00:58Z", "2026-10-04T12:00:58.1234567", "2026-10-04T12:00:58+02:00"] {
            assert!(parse_xsd_datetime(s).is_some(), "{s}");
        }
        assert!(parse_xsd_datetime("yesterday").is_none());
    }

    #[test]
    fn compression_round_trips() {
        let s = "<upd:Update>…ünïcode…</upd:Update>".repeat(50);
        let c = compress(&s);
        assert!(c.len() < s.len());
        assert_eq!(decompress(&c).unwrap(), s);
    }
}
