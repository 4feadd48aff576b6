//! Bounds on the strings Windows clients send that Sluice stores or seals into cookies.
//!
//! WSUS keeps these in SUSDB columns of fixed size (`tbComputerTarget`,
//! `tbComputerTargetDetail`, `tbTargetGroup`), so a real server refuses longer values; Sluice
//! stored a 4 MB `OSDescription` and sealed a 1 MB target group name into a 1.3 MB cookie. Lengths
//! count UTF-16 code units, as SQL Server's `nvarchar(n)` does. A value over its bound is refused
//! with an error naming the field (the `InvalidParameters` fault), never truncated: a truncated
//! DNS name or group name would silently identify something else.

use sluice_soap::ComputerInfo;

/// `tbComputerTarget.FullDomainName nvarchar(255)`: the DNS name from GetAuthorizationCookie
/// and RegisterComputer (also DNS's own limit for a full name).
pub const MAX_DNS_NAME: usize = 255;
/// `tbComputerTarget.ComputerID nvarchar(256)`: the client's `SusClientId`.
pub const MAX_CLIENT_ID: usize = 256;
/// `tbComputerTargetDetail.OSDescription nvarchar(256)`.
pub const MAX_OS_DESCRIPTION: usize = 256;
/// `ComputerMake`, `ComputerModel`, `BiosName`, `BiosVersion`, `OEM`, `DeviceType`,
/// `FirmwareVersion`, `MobileOperator`: `nvarchar(64)` each.
pub const MAX_HARDWARE_FIELD: usize = 64;
/// `OSLocale`: a Windows locale name, at most `LOCALE_NAME_MAX_LENGTH` (85) characters.
pub const MAX_LOCALE: usize = 85;
/// `BiosReleaseDate` and `ProcessorArchitecture` arrive as short strings (an xsd:dateTime,
/// `AMD64`); WSUS stores them as a date and a number, so anything longer is not one.
pub const MAX_SHORT_FIELD: usize = 64;
/// `tbTargetGroup.Name nvarchar(256)`: one client-side targeting group name.
pub const MAX_TARGET_GROUP_NAME: usize = 256;
/// Target group names one client may request (the `TargetGroup` policy, `;`-separated). The
/// policy names a handful; 32 bounds the authorization cookie to a few kilobytes.
pub const MAX_TARGET_GROUPS: usize = 32;

/// A client-supplied value longer than WSUS's column for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {len} characters long; at most {max} are accepted")]
pub struct FieldTooLong {
    /// The field's name as the WSDL spells it (`OSDescription`, `targetGroupName`, …).
    pub field: &'static str,
    pub len: usize,
    pub max: usize,
}

/// Why a `targetGroupName` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetGroupsError {
    #[error(transparent)]
    NameTooLong(#[from] FieldTooLong),
    #[error("targetGroupName names {count} groups; at most {max} are accepted")]
    TooMany { count: usize, max: usize },
}

/// Length as SQL Server's `nvarchar` counts it.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Checks one optional field against its bound.
pub fn check_field(field: &'static str, value: Option<&str>, max: usize) -> Result<(), FieldTooLong> {
    match value {
        Some(v) => {
            // Cheap first test: a string of at most `max` bytes has at most `max` UTF-16 units.
            if v.len() <= max {
                return Ok(());
            }
            let len = utf16_len(v);
            if len > max { Err(FieldTooLong { field, len, max }) } else { Ok(()) }
        }
        None => Ok(()),
    }
}

/// The client id (`SusClientId`) of GetAuthorizationCookie.
pub fn check_client_id(client_id: &str) -> Result<(), FieldTooLong> {
    check_field("clientId", Some(client_id), MAX_CLIENT_ID)
}

/// The DNS name of GetAuthorizationCookie.
pub fn check_dns_name(dns_name: &str) -> Result<(), FieldTooLong> {
    check_field("dnsName", Some(dns_name), MAX_DNS_NAME)
}

/// Every string of RegisterComputer's `ComputerInfo` against WSUS's column for it; the first
/// one over its bound is named, with the WSDL's spelling.
pub fn check_computer_info(info: &ComputerInfo) -> Result<(), FieldTooLong> {
    let fields: [(&'static str, &Option<String>, usize); 13] = [
        ("DNSName", &info.dns_name, MAX_DNS_NAME),
        ("OSDescription", &info.os_description, MAX_OS_DESCRIPTION),
        ("OSLocale", &info.os_locale, MAX_LOCALE),
        ("ComputerManufacturer", &info.computer_manufacturer, MAX_HARDWARE_FIELD),
        ("ComputerModel", &info.computer_model, MAX_HARDWARE_FIELD),
        ("BiosVersion", &info.bios_version, MAX_HARDWARE_FIELD),
        ("BiosName", &info.bios_name, MAX_HARDWARE_FIELD),
        ("BiosReleaseDate", &info.bios_release_date, MAX_SHORT_FIELD),
        ("ProcessorArchitecture", &info.processor_architecture, MAX_SHORT_FIELD),
        ("OEM", &info.oem, MAX_HARDWARE_FIELD),
        ("DeviceType", &info.device_type, MAX_HARDWARE_FIELD),
        ("FirmwareVersion", &info.firmware_version, MAX_HARDWARE_FIELD),
        ("MobileOperator", &info.mobile_operator, MAX_HARDWARE_FIELD),
    ];
    for (field, value, max) in fields {
        check_field(field, value.as_deref(), max)?;
    }
    Ok(())
}

/// The groups a `targetGroupName` requests: split on `;` (the policy allows several), trimmed,
/// empty entries dropped, in the client's order. Refused when a name is longer than a WSUS
/// group name can be or when it names more than [`MAX_TARGET_GROUPS`].
pub fn target_group_names(raw: &str) -> Result<Vec<String>, TargetGroupsError> {
    let mut names = Vec::new();
    let mut count = 0;
    for name in raw.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        count += 1;
        if count > MAX_TARGET_GROUPS {
            // Count the rest only for the message; nothing more is kept.
            let count = count + raw.split(';').map(str::trim).filter(|n| !n.is_empty()).skip(count).count();
            return Err(TargetGroupsError::TooMany { count, max: MAX_TARGET_GROUPS });
        }
        check_field("targetGroupName", Some(name), MAX_TARGET_GROUP_NAME)?;
        names.push(name.to_string());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native_info() -> ComputerInfo {
        // What the Windows 11 client of the capture reports.
        ComputerInfo {
            dns_name: Some("desktop-m0.contoso.test".into()),
            os_locale: Some("en-US".into()),
            computer_manufacturer: Some("QEMU".into()),
            computer_model: Some("Standard PC (Q35 + ICH9, 2009)".into()),
            bios_version: Some("unknown".into()),
            bios_name: Some("unknown".into()),
            bios_release_date: Some("2014-04-01T00:00:00".into()),
            processor_architecture: Some("AMD64".into()),
            os_description: Some("Windows 10 Pro".into()),
            mobile_operator: Some("Not Present".into()),
            ..ComputerInfo::default()
        }
    }

    #[test]
    fn item_15_computer_info_within_wsus_columns_is_accepted() {
        assert_eq!(check_computer_info(&native_info()), Ok(()));
        assert_eq!(check_computer_info(&ComputerInfo::default()), Ok(()));
        let at_bound = ComputerInfo { os_description: Some("d".repeat(MAX_OS_DESCRIPTION)), ..native_info() };
        assert_eq!(check_computer_info(&at_bound), Ok(()));
    }

    #[test]
    fn item_15_over_long_computer_info_names_the_field() {
        let big = ComputerInfo { os_description: Some("W".repeat(4 * 1024 * 1024)), ..native_info() };
        let e = check_computer_info(&big).unwrap_err();
        assert_eq!(e, FieldTooLong { field: "OSDescription", len: 4 * 1024 * 1024, max: MAX_OS_DESCRIPTION });
        assert!(e.to_string().starts_with("OSDescription is 4194304 characters long"), "{e}");

        let model = ComputerInfo { computer_model: Some("m".repeat(MAX_HARDWARE_FIELD + 1)), ..native_info() };
        assert_eq!(check_computer_info(&model).unwrap_err().field, "ComputerModel");
        let dns = ComputerInfo { dns_name: Some(format!("{}.test", "h".repeat(260))), ..native_info() };
        assert_eq!(check_computer_info(&dns).unwrap_err().field, "DNSName");
        assert_eq!(check_dns_name(&"h".repeat(256)).unwrap_err().field, "dnsName");
        assert_eq!(check_client_id(&"0".repeat(257)).unwrap_err().field, "clientId");
    }

    #[test]
    fn item_15_lengths_count_utf16_units_as_nvarchar_does() {
        // 64 characters of 3 bytes each: 192 bytes, but 64 units, within nvarchar(64).
        let model = "型".repeat(64);
        assert_eq!(check_field("ComputerModel", Some(&model), MAX_HARDWARE_FIELD), Ok(()));
        // 33 characters outside the BMP are 66 units.
        let wide = "😀".repeat(33);
        assert_eq!(
            check_field("ComputerModel", Some(&wide), MAX_HARDWARE_FIELD),
            Err(FieldTooLong { field: "ComputerModel", len: 66, max: 64 })
        );
    }

    #[test]
    fn item_15_target_group_names_are_bounded_in_length_and_count() {
        assert_eq!(target_group_names(" Ring 1 ;;Pilot; ").unwrap(), vec!["Ring 1".to_string(), "Pilot".to_string()]);
        assert_eq!(target_group_names("").unwrap(), Vec::<String>::new());

        let long = "g".repeat(1024 * 1024);
        assert_eq!(
            target_group_names(&format!("Ring 1;{long}")),
            Err(TargetGroupsError::NameTooLong(FieldTooLong {
                field: "targetGroupName",
                len: 1024 * 1024,
                max: MAX_TARGET_GROUP_NAME
            }))
        );
        assert_eq!(target_group_names(&"g".repeat(MAX_TARGET_GROUP_NAME)).unwrap().len(), 1);

        let many: Vec<String> = (0..MAX_TARGET_GROUPS).map(|i| format!("Ring {i}")).collect();
        assert_eq!(target_group_names(&many.join(";")).unwrap(), many);
        let too_many: Vec<String> = (0..1000).map(|i| format!("Ring {i}")).collect();
        assert_eq!(
            target_group_names(&too_many.join(";")),
            Err(TargetGroupsError::TooMany { count: 1000, max: MAX_TARGET_GROUPS })
        );
    }
}
