use sluice_metadata::publish::{category_xml, software_update_xml, CategorySpec, PublishSpec, LOCAL_PUBLISHER_ID};
use sluice_metadata::*;
use uuid::Uuid;

const GOOD_HEAD: &str = r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="11111111-2222-3333-4444-555555555555" RevisionNumber="1" /><upd:Properties UpdateType="Software" />"#;

fn err(xml: &str) -> MetadataError {
    parse_update(xml, "hostile.xml").expect_err("must be rejected")
}

#[test]
fn doctype_and_entities_are_refused_and_named() {
    let e = err(r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"/>"#);
    assert!(e.to_string().contains("hostile.xml") && e.to_string().contains("DOCTYPE"), "{e}");
    let e = err(&format!("{GOOD_HEAD}<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>&xxe;</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection></upd:Update>"));
    assert!(e.to_string().contains("xxe"), "{e}");
}

#[test]
fn deep_nesting_truncation_and_wrong_roots_are_refused() {
    let deep = format!("{GOOD_HEAD}{}{}</upd:Update>", "<a>".repeat(1000), "</a>".repeat(1000));
    assert!(err(&deep).to_string().contains("deeper"));
    assert!(matches!(err(&GOOD_HEAD[..GOOD_HEAD.len() - 10]), MetadataError::Malformed { .. }));
    assert!(matches!(err("<Update/>"), MetadataError::Invalid { .. }));
    // Right local name, wrong namespace: matched by URI, never by prefix.
    assert!(matches!(err(r#"<upd:Update xmlns:upd="urn:other"/>"#), MetadataError::Invalid { .. }));
    assert!(matches!(err(r#"<x:Update xmlns:y="urn:y"/>"#), MetadataError::Malformed { .. }));
    assert!(matches!(err(&format!("{GOOD_HEAD}</upd:Update><extra/>")), MetadataError::Malformed { .. }));
    let bad_guid = GOOD_HEAD.replace("11111111-2222", "zz");
    assert!(err(&format!("{bad_guid}</upd:Update>")).to_string().contains("UpdateID"));
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(parse_update_bytes(&big, "big"), Err(MetadataError::TooLarge { .. })));
}

#[test]
fn any_prefix_works_because_matching_is_by_namespace() {
    let xml = r#"<u:Update xmlns:u="http://schemas.microsoft.com/msus/2002/12/Update"><u:UpdateIdentity UpdateID="11111111-2222-3333-4444-555555555555" RevisionNumber="7" /><u:Properties UpdateType="Detectoid" /></u:Update>"#;
    let p = parse_update(xml, "p").unwrap();
    assert_eq!(p.update.identity.revision_number, 7);
    assert_eq!(p.update.properties.update_type, UpdateType::Detectoid);
    let default_ns = r#"<Update xmlns="http://schemas.microsoft.com/msus/2002/12/Update"><UpdateIdentity UpdateID="11111111-2222-3333-4444-555555555555" RevisionNumber="7" /><Properties UpdateType="Driver" /></Update>"#;
    assert_eq!(parse_update(default_ns, "d").unwrap().update.properties.update_type, UpdateType::Driver);
}

#[test]
fn utf16_documents_with_bom_are_accepted() {
    let xml = format!("{GOOD_HEAD}</upd:Update>");
    let mut bytes = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    assert_eq!(parse_update_bytes(&bytes, "u16").unwrap().update.identity.revision_number, 1);
}

fn spec() -> PublishSpec {
    PublishSpec {
        update_id: Uuid::parse_str("0b5a3a0e-9c2d-4e55-8f1a-2b9e0c1d2e3f").unwrap(),
        revision_number: 1,
        language: "en".into(),
        title: "Contoso Agent 5.1 <x64> & friends".into(),
        description: Some("Fixes \"quoted\" things".into()),
        kb_article: Some("5012345".into()),
        msrc_number: Some("MS26-001".into()),
        msrc_severity: Some(MsrcSeverity::Important),
        classification: Some(Uuid::parse_str("0fa1201d-4330-4fa8-8ae9-b877473b6441").unwrap()),
        products: vec![Uuid::parse_str("72e7624a-5b00-45d2-b92f-e561c0a6a160").unwrap()],
        creation_date: "2026-11-25T12:00:00.000Z".into(),
        file: Some(UpdateFile {
            file_name: "contoso-agent.exe".into(),
            size: 1234,
            modified: Some("2026-11-25T12:00:00Z".into()),
            sha1: [7; 20],
            sha256: Some([9; 32]),
            patching_type: None,
        }),
        command_line: Some(CommandLineInstall {
            program: "contoso-agent.exe".into(),
            arguments: Some("/quiet /norestart LOG=\"a&b\"".into()),
            reboot_by_default: None,
            default_result: Some(ReturnResult::Failed),
            return_codes: vec![
                ReturnCode { code: 0, result: ReturnResult::Succeeded, reboot: false, description: None },
                ReturnCode { code: 3010, result: ReturnResult::Succeeded, reboot: true, description: None },
                ReturnCode { code: 1603, result: ReturnResult::Failed, reboot: false, description: None },
            ],
        }),
        installed_rule: Some(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent5" />"#.into()),
        installable_rule: Some(r#"<lar:And><bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" /><lar:True /></lar:And>"#.into()),
        prerequisites: vec![Uuid::parse_str("59653007-e2e9-4f71-8525-2ff588527978").unwrap()],
        supersedes: vec![Uuid::parse_str("d4f1c2b3-a4b5-4c6d-8e7f-001122334455").unwrap()],
        reboot_behavior: Some("CanRequestReboot".into()),
    }
}

#[test]
fn published_document_round_trips_to_the_same_model() {
    let s = spec();
    let xml = software_update_xml(&s);
    let p = parse_update(&xml, "published").unwrap();
    let u = &p.update;
    assert_eq!(u.identity.update_id, s.update_id);
    assert_eq!(u.title(), s.title);
    assert_eq!(u.localized[0].description, s.description);
    assert_eq!(u.properties.kb_article_ids, vec![s.kb_article.clone().unwrap()]);
    assert_eq!(u.properties.security_bulletin_ids, vec![s.msrc_number.clone().unwrap()]);
    assert_eq!(u.properties.msrc_severity, s.msrc_severity);
    assert_eq!(u.properties.publisher_id.as_deref(), Some(LOCAL_PUBLISHER_ID));
    assert!(u.properties.explicitly_deployable);
    assert_eq!(u.files, vec![s.file.clone().unwrap()]);
    assert_eq!(u.handler, Some(HandlerData::CommandLine(s.command_line.clone().unwrap())));
    let cats: Vec<Uuid> = u.category_ids().collect();
    assert_eq!(cats, vec![s.classification.unwrap(), s.products[0]]);
    assert_eq!(u.relationships.superseded_updates, s.supersedes);
    assert_eq!(u.relationships.prerequisites[0].members, s.prerequisites);
    assert!(u.rules.is_installed.as_ref().unwrap().contains("RegKeyExists"));
    assert!(u.rules.is_installable.as_ref().unwrap().starts_with("<lar:And"));
    // Fragments of a published update look like Microsoft's.
    assert!(p.fragments.core.contains(r#"<Properties UpdateType="Software" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" />"#), "{}", p.fragments.core);
    assert!(p.fragments.core.contains("<b.RegKeyExists"));
    assert!(p.fragments.extended.contains(r#"<HandlerSpecificData type="cmd:CommandLineInstallation"><InstallCommand Program="contoso-agent.exe""#), "{}", p.fragments.extended);
    assert!(!p.fragments.extended.contains("PublisherID"));
    // And the round trip is stable: writing the parsed model's spec again gives the same bytes.
    assert_eq!(software_update_xml(&s), xml);
}

#[test]
fn malformed_admin_rules_are_rejected_with_the_reason() {
    let mut s = spec();
    s.installed_rule = Some("<bar:RegKeyExists Key=".into());
    assert!(parse_update(&software_update_xml(&s), "published").is_err());
    s.installed_rule = Some("<zzz:Thing />".into());
    let e = parse_update(&software_update_xml(&s), "published").unwrap_err();
    assert!(e.to_string().contains("zzz"), "{e}");
}

#[test]
fn category_documents_round_trip() {
    let c = CategorySpec {
        update_id: Uuid::new_v4(),
        revision_number: 1,
        title: "Contoso Agent".into(),
        category_type: "Product".into(),
        parent: Some(Uuid::new_v4()),
        creation_date: "2026-11-25T12:00:00.000Z".into(),
    };
    let p = parse_update(&category_xml(&c), "cat").unwrap();
    assert_eq!(p.update.properties.update_type, UpdateType::Category);
    assert_eq!(p.update.title(), "Contoso Agent");
    assert_eq!(p.update.category_info().unwrap().category_type.as_deref(), Some("Product"));
    assert_eq!(p.update.category_ids().collect::<Vec<_>>(), vec![c.parent.unwrap()]);
    assert_eq!(p.fragments.core, format!(r#"<UpdateIdentity UpdateID="{}" RevisionNumber="1" /><Properties UpdateType="Category" /><Relationships><Prerequisites><AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="{}" /></AtLeastOne></Prerequisites></Relationships><ApplicabilityRules><IsInstalled><True /></IsInstalled></ApplicabilityRules>"#, c.update_id, c.parent.unwrap()));
}
