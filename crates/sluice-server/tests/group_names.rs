//! Computer group names over the admin API (issue #8, item 15): look-alike names (bidi overrides,
//! zero-width characters), control characters and over-long names are refused with a JSON
//! error, and nothing is created.

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_look_alike_control_and_over_long_group_names_are_refused() {
    let server = sluice_testkit::server::start().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/v1/groups", server.admin_addr);
    let token = server.admin_token.clone();
    let groups = || async {
        let v: Value = http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        v.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let before = groups().await;

    let refused: Vec<(String, &str)> = vec![
        // Right-to-left override: displays as "Ring 1" followed by reversed text.
        ("Ring 1\u{202e}revo".into(), "U+202E"),
        ("\u{202a}Servers".into(), "U+202A"),
        ("Servers\u{2066}".into(), "U+2066"),
        ("Serv\u{2069}ers".into(), "U+2069"),
        // Zero-width characters: "Ring 1" and "Ring\u{200b} 1" look the same.
        ("Ring\u{200b} 1".into(), "U+200B"),
        ("Ring\u{200d}1".into(), "U+200D"),
        ("Ring\u{200f}1".into(), "U+200F"),
        ("Ring\u{2060}1".into(), "U+2060"),
        ("\u{feff}Ring 1".into(), "U+FEFF"),
        // Control characters.
        ("evil\u{1b}[31m".into(), "U+001B"),
        ("a\u{7f}b".into(), "U+007F"),
        ("a\u{85}b".into(), "U+0085"),
        // Longer than WSUS's nvarchar(256), and a 1 MB one.
        ("g".repeat(257), "at most 256"),
        ("g".repeat(1024 * 1024), "at most 256"),
    ];
    for (name, why) in &refused {
        let resp = http
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        let shown: String = name.chars().take(20).collect();
        assert_eq!(status, 400, "{shown:?}: {body}");
        let error = body["error"]["message"].as_str().unwrap_or_else(|| panic!("{shown:?}: no error in {body}"));
        assert!(error.contains(why), "{shown:?}: {error}");
    }
    assert_eq!(groups().await, before, "a refused name created nothing");

    // Names at the bound, and ordinary non-ASCII names, are still fine.
    for name in ["g".repeat(256), "Servidores de correo".into(), "Рабочие станции".into(), "開発".into()] {
        let resp = http.post(&url).bearer_auth(&token).json(&serde_json::json!({ "name": name })).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 201, "{name}");
    }
    server.shutdown().await.unwrap();
}
