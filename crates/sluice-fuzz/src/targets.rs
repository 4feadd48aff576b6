//! The seven fuzz targets: every decoder that reads bytes a peer chose. Each runs the decoder
//! as the server does and checks what must hold of any answer (a panic is the finding; the
//! checks turn a wrong answer into one).

use std::time::{Duration, UNIX_EPOCH};

use crate::engine::{Target, class_of};
use crate::seeds;

pub fn all() -> Vec<Target> {
    vec![client_soap(), server_soap(), update_xml(), rules(), xpress(), cab(), range()]
}

pub fn by_name(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}

/// The variant name of a decoded operation: `GetConfig(GetConfigRequest { … })` → `GetConfig`.
fn variant(debug: String) -> String {
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_string()
}

const XML_TOKENS: &[&[u8]] = &[
    b"<", b">", b"</", b"/>", b"=\"\"", b"&amp;", b"&lt;", b"&#0;", b"&#x10FFFF;", b"&#xD800;", b"&bogus;",
    b"<!DOCTYPE x [<!ENTITY e \"ee\">]>", b"<![CDATA[", b"]]>", b"<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    b"<!-- -->", b"<?pi x?>", b"xmlns=\"\"", b"xmlns:a=\"urn:x\"", b"a:", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\x00",
    b"xsi:nil=\"true\"", b"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
    b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.microsoft.com/SoftwareDistribution",
];

// ---- MS-WUSP: the client web service, SimpleAuth and Reporting requests ----

const CLIENT_TOKENS: &[&[u8]] = &[
    b"<int>", b"</int>", b"<string>", b"</string>", b"<guid>", b"</guid>", b"<cookie>", b"<Expiration>",
    b"<EncryptedData>", b"<InstalledNonLeafUpdateIDs>", b"<OtherCachedUpdateIDs>", b"<SkipSoftwareSync>",
    b"<FilterCategoryIds>", b"<CategoryIdentifier>", b"<ReportingEvent>", b"<BasicData>", b"<TargetID>",
    b"<ExtendedData>", b"<MiscData>", b"<revisionIDs>", b"<infoTypes>", b"<XmlUpdateFragmentType>",
    b"<locales>", b"<fileDigests>", b"<base64Binary>", b"<computerInfo>", b"<protocolVersion>",
    b"<clientId>", b"<targetGroupName>", b"<dnsName>", b"<UpdateIdentity UpdateID=\"", b"RevisionNumber=\"",
    b"2026-01-01T00:00:00Z", b"9999-12-31T23:59:59.9999999Z", b"00000000-0000-0000-0000-000000000000",
    b"Extended", b"LocalizedProperties", b"Eula", b"Core", b"true", b"false", b"AAAA",
];

fn client_soap() -> Target {
    fn run(input: &[u8]) -> String {
        match sluice_soap::decode_request(input) {
            Ok(req) => format!("ok:{}", variant(format!("{req:?}"))),
            Err(e) => class_of("err", &e.to_string()),
        }
    }
    Target { name: "client-soap", run, seeds: seeds::client_requests, dictionary: [XML_TOKENS, CLIENT_TOKENS].concat_static(), max_len: 256 << 10 }
}

// ---- MS-WSUSSS: the server-sync web service's requests ----

const SERVER_TOKENS: &[&[u8]] = &[
    b"<cookie>", b"<config>", b"<anchor>", b"<updateIds>", b"<UpdateIdentity>", b"<UpdateID>", b"<RevisionNumber>",
    b"<updateIDs>", b"<ServerSyncFilter>", b"<Categories>", b"<Classifications>", b"<Languages>", b"<int>",
    b"<fileDigest>", b"<base64Binary>", b"<clientTime>", b"<lastSyncTime>", b"<deploymentAnchor>",
    b"<syncAnchor>", b"<downstreamServers>", b"<computers>", b"<DownstreamServerRollupInfo>",
    b"<ComputerStatusRollupInfo>", b"<ServerId>", b"<ComputerId>", b"<ParentServerId>",
    b"2026-01-01T00:00:00Z", b"0001-01-01T00:00:00", b"00000000-0000-0000-0000-000000000000",
    b"GetRevisionIdList", b"GetUpdateData", b"GetDeployments", b"RollupComputers", b"true", b"false",
];

fn server_soap() -> Target {
    fn run(input: &[u8]) -> String {
        match sluice_wsusss::decode_request(input) {
            Ok(req) => format!("ok:{}", variant(format!("{req:?}"))),
            Err(e) => class_of("err", &e.to_string()),
        }
    }
    Target { name: "server-soap", run, seeds: seeds::server_requests, dictionary: [XML_TOKENS, SERVER_TOKENS].concat_static(), max_len: 256 << 10 }
}

// ---- Microsoft update XML (import-xml, sync, publish) ----

const UPDATE_TOKENS: &[&[u8]] = &[
    b"<upd:Update", b"<upd:UpdateIdentity UpdateID=\"", b"RevisionNumber=\"", b"<upd:Properties", b"UpdateType=\"",
    b"<upd:LocalizedPropertiesCollection>", b"<upd:LocalizedProperties>", b"<upd:Language>", b"<upd:Title>",
    b"<upd:Relationships>", b"<upd:Prerequisites>", b"<upd:AtLeastOne", b"IsCategory=\"true\"",
    b"<upd:BundledUpdates>", b"<upd:SupersededUpdates>", b"<upd:ApplicabilityRules>", b"<upd:IsInstalled>",
    b"<upd:IsInstallable>", b"<upd:Files>", b"<upd:File", b"Digest=\"", b"Size=\"", b"<upd:AdditionalDigest",
    b"<upd:HandlerSpecificData", b"<upd:EulaFile", b"<upd:SupportUrl>", b"<upd:KBArticleID>",
    b"xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\"", b"2026-01-01T00:00:00Z",
];

fn update_xml() -> Target {
    fn run(input: &[u8]) -> String {
        match sluice_metadata::parse_update_bytes(input, "fuzz") {
            Ok(parsed) => {
                let u = &parsed.update;
                format!("ok:{:?}:{}:{}", u.properties.update_type, u.files.len().min(3), u.relationships.prerequisites.len().min(3))
            }
            Err(e) => class_of("err", &e.to_string()),
        }
    }
    Target { name: "update-xml", run, seeds: seeds::update_documents, dictionary: [XML_TOKENS, UPDATE_TOKENS].concat_static(), max_len: 512 << 10 }
}

// ---- Applicability rules, in document and fragment spelling, parsed and evaluated ----

const RULE_TOKENS: &[&[u8]] = &[
    b"<lar:And>", b"</lar:And>", b"<lar:Or>", b"</lar:Or>", b"<lar:Not>", b"</lar:Not>", b"<lar:True/>", b"<lar:False/>",
    b"<bar:RegKeyExists Key=\"HKEY_LOCAL_MACHINE\" Subkey=\"", b"<bar:RegDword", b"<bar:RegSz", b"<bar:FileVersion",
    b"<bar:FileExists", b"<bar:WindowsVersion", b"<bar:Processor", b"<bar:WmiQuery", b"<bar:InstalledOnce",
    b"<mpa:MsiProductInstalled", b"<cbsar:CbsPackageInstalledByIdentity", b"<b.RegKeyExists", b"<b.FileVersion",
    b"<m.MsiPatchInstalledForProduct", b"<And>", b"<Or>", b"<Not>", b"<True/>", b"<False/>",
    b"Comparison=\"GreaterThanOrEqualTo\"", b"Comparison=\"EqualTo\"", b"Version=\"", b"Value=\"", b"Data=\"",
    b"MajorVersion=\"", b"ServicePackMajor=\"", b"BuildNumber=\"", b"1.2.3.4", b"65535.65535.65535.65535",
    b"99999999999.1", b"xmlns:lar=\"http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules\"",
    b"xmlns:bar=\"http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules\"",
];

fn rules() -> Target {
    fn run(input: &[u8]) -> String {
        let Ok(text) = std::str::from_utf8(input) else { return "not-utf8".into() };
        let machine = sluice_rules::Machine::default();
        let eval = sluice_rules::Evaluator::new(&machine);
        let mut class = String::new();
        for (name, parsed) in [("doc", sluice_rules::parse_rule(text)), ("frag", sluice_rules::parse_fragment_rule(text))] {
            match parsed {
                Ok(expr) => {
                    let truth = eval.eval(&expr);
                    class.push_str(&format!("{name}:{truth:?};"));
                }
                Err(e) => class.push_str(&class_of(name, &e.to_string())),
            }
        }
        match sluice_rules::parse_core_fragment(text) {
            Ok(core) => {
                let a = eval.applicability(&core.rules);
                class.push_str(&format!("core:{a:?}"));
            }
            Err(e) => class.push_str(&class_of("core", &e.to_string())),
        }
        class
    }
    Target { name: "rules", run, seeds: seeds::rules, dictionary: [XML_TOKENS, RULE_TOKENS].concat_static(), max_len: 128 << 10 }
}

// ---- The xpress content coding ----

/// What the server accepts from one request body (ClientWebService's limit).
const XPRESS_LIMIT: usize = 4 << 20;

fn xpress() -> Target {
    fn run(input: &[u8]) -> String {
        // Any bytes the encoder is given must come back unchanged.
        let coded = sluice_xpress::compress(input);
        let back = sluice_xpress::decompress_with_limit(&coded, XPRESS_LIMIT.max(input.len()));
        assert_eq!(back.as_deref().ok(), Some(input), "xpress round trip changed the data");
        match sluice_xpress::decompress_with_limit(input, XPRESS_LIMIT) {
            Ok(out) => {
                assert!(out.len() <= XPRESS_LIMIT, "decoded {} bytes past the limit", out.len());
                // The class is the order of magnitude of the output: short and long streams differ.
                format!("ok:{}", out.len().checked_ilog2().map_or(0, |b| b + 1))
            }
            Err(e) => class_of("err", &e.to_string()),
        }
    }
    Target { name: "xpress", run, seeds: seeds::xpress_streams, dictionary: &[], max_len: 256 << 10 }
}

// ---- XmlUpdateBlobCompressed cabinets (downstream sync) ----

const CAB_TOKENS: &[&[u8]] = &[b"MSCF", b"blob", b"CK", b"\x00\x00\x00\x00", b"\x03\x01", b"\x01\x00", b"\x03\x13", b"\x03\x15"];

fn cab() -> Target {
    fn run(input: &[u8]) -> String {
        match sluice_wsusss::decode_update_blob(input) {
            Ok(xml) => format!("ok:{}", xml.len().min(1)),
            Err(e) => class_of("err", &e.to_string()),
        }
    }
    Target { name: "cab", run, seeds: seeds::cabinets, dictionary: CAB_TOKENS, max_len: 256 << 10 }
}

// ---- Range / If-Range on /Content ----

const RANGE_TOKENS: &[&[u8]] = &[
    b"bytes=", b"bytes", b"=", b"-", b",", b", ", b"\t", b" ", b"0", b"1", b"999999999999999999999", b"W/\"", b"\"",
    b"Wed, 21 Oct 2015 07:28:00 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT", b"Sun Nov  6 08:49:37 1994", b"\n",
    b"items=0-1", b"0-,0-,0-,0-",
];

fn range() -> Target {
    fn run(input: &[u8]) -> String {
        use sluice_content::range::{RangePlan, multipart_body, plan};
        let text = String::from_utf8_lossy(input);
        let mut lines = text.splitn(3, '\n');
        // A file on Linux is at most i64::MAX bytes (off_t); larger lengths cannot reach `plan`.
        let len: u64 = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(1000).min(i64::MAX as u64);
        let range = lines.next();
        let if_range = lines.next();
        let validators = sluice_content::Validators::new(&[7; 20], UNIX_EPOCH + Duration::from_secs(1_445_412_480));
        let decided = plan(range, if_range, &validators, len);
        let within = |r: &sluice_content::range::ByteRange| r.start <= r.end && r.end < len;
        match &decided {
            RangePlan::Full => "full".into(),
            RangePlan::NotSatisfiable => "416".into(),
            RangePlan::Single(r) => {
                assert!(within(r), "range {r:?} outside a file of {len} bytes");
                "single".into()
            }
            RangePlan::Multi(ranges) => {
                assert!(ranges.len() >= 2 && ranges.iter().all(within), "ranges {ranges:?} for {len} bytes");
                let total: u64 = ranges.iter().map(|r| r.len()).sum();
                assert!(total <= len, "coalesced ranges send {total} bytes of a {len}-byte file");
                let body = multipart_body(ranges, len, "b", "application/octet-stream");
                assert!(body.content_length >= total, "multipart length {} under its {total} data bytes", body.content_length);
                format!("multi:{}", ranges.len().min(4))
            }
        }
    }
    Target { name: "range", run, seeds: seeds::ranges, dictionary: RANGE_TOKENS, max_len: 8 << 10 }
}

/// Joins token lists into one `'static` list (built once per process and leaked: there are
/// seven targets).
trait ConcatStatic {
    fn concat_static(&self) -> &'static [&'static [u8]];
}

impl ConcatStatic for [&'static [&'static [u8]]; 2] {
    fn concat_static(&self) -> &'static [&'static [u8]] {
        Box::leak(self.concat().into_boxed_slice())
    }
}
