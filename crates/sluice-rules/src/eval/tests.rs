use super::*;

#[test]
fn languages() {
    assert!(language_matches("de", "de-DE"));
    assert!(language_matches("de", "de-AT"));
    assert!(language_matches("ro-ro", "ro-RO"));
    assert!(language_matches("pt-br", "pt-BR"));
    assert!(!language_matches("pt", "pt-BR"));
    assert!(language_matches("pt", "pt-PT"));
    assert!(!language_matches("zh", "zh-TW"));
    assert!(language_matches("zh-tw", "zh-TW"));
    assert!(language_matches("sr-latn", "sr-Latn-RS"));
    assert!(!language_matches("hu", "de-DE"));
    assert!(!language_matches("en", ""));
}

#[test]
fn paths_normalise() {
    assert_eq!(norm_path("C:/Windows\\\\System32\\.\\x.DLL"), "c:\\windows\\system32\\x.dll");
    assert_eq!(norm_path("\\\\?\\C:\\A\\..\\B"), "c:\\b");
    assert_eq!(join_path("C:\\Dir\\", "\\f.dll"), "C:\\Dir\\f.dll");
}

#[test]
fn wow64_redirection() {
    assert_eq!(
        wow64_redirect("hkey_local_machine\\software\\microsoft"),
        "hkey_local_machine\\software\\wow6432node\\microsoft"
    );
    assert_eq!(wow64_redirect("hkey_local_machine\\software\\classes\\x"), "hkey_local_machine\\software\\classes\\x");
    assert_eq!(wow64_redirect("hkey_local_machine\\system\\x"), "hkey_local_machine\\system\\x");
}
