//! `sluice downstreams list`: the servers that sync from this one (MS-WSUSSS downstreams), with
//! the computers they rolled up.

use clap::Subcommand;
use reqwest::Method;
use sluice_server::admin_downstreams::DownstreamView;

use crate::Remote;
use crate::client::AdminClient;

#[derive(Subcommand, Debug)]
pub enum DownstreamsCommand {
    /// List downstream servers (replica or autonomous) and their computers
    List {
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(remote: &Remote, c: DownstreamsCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        DownstreamsCommand::List { json } => {
            let list = fetch(&client).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", render(&list));
            }
            Ok(())
        }
    }
}

async fn fetch(client: &AdminClient) -> anyhow::Result<Vec<DownstreamView>> {
    client
        .send(client.request(Method::GET, "/downstreams"))
        .await
}

fn render(list: &[DownstreamView]) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no downstream server has synced from this server\n");
        return out;
    }
    push_line!(
        out,
        "{:<36}  {:<32}  {:<10}  {:>9}  LAST SEEN",
        "ID", "NAME", "MODE", "COMPUTERS"
    );
    for d in list {
        push_line!(
            out,
            "{:<36}  {:<32}  {:<10}  {:>9}  {}",
            d.id,
            d.name,
            d.mode,
            d.computers.len(),
            d.last_seen
        );
        for c in &d.computers {
            let states: Vec<String> = c
                .update_states
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            push_line!(
                out,
                "    {}  {}  {}  last sync {}{}",
                c.computer_id,
                c.name.as_deref().unwrap_or("-"),
                c.os_version.as_deref().unwrap_or("-"),
                c.last_sync_time.as_deref().unwrap_or("never"),
                if states.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", states.join(", "))
                }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_servers_and_computers() {
        let json = r#"[{"id":"6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12","name":"dss1.example","address":"10.0.0.2",
            "first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-02T00:00:00Z","mode":"replica",
            "parent_server_id":null,"version":"10.0","last_sync_time":null,"last_rollup_time":null,"summary":null,
            "computers":[{"computer_id":"pc-1","name":"pc1.example","ip_address":null,"os_description":null,
            "os_version":"10.0.26100","client_version":null,"last_sync_time":null,"last_sync_result":0,
            "last_reported_status_time":null,"rollup_number":3,"last_rollup_time":"2026-01-02T00:00:00Z",
            "update_states":{"installed":2}}]}]"#;
        let list: Vec<DownstreamView> = serde_json::from_str(json).expect("the API's JSON");
        let text = render(&list);
        assert!(
            text.contains("dss1.example") && text.contains("replica"),
            "{text}"
        );
        assert!(
            text.contains("pc-1") && text.contains("installed 2"),
            "{text}"
        );
        assert!(render(&[]).contains("no downstream"));
    }

    /// The command against a real server: what `sluice downstreams list --json` prints.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lists_what_the_server_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let config = sluice_server::config::Config {
            data_dir: tmp.path().join("data"),
            client_listen: "127.0.0.1:0".parse().unwrap(),
            admin_listen: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        let server = sluice_server::start(config).await.unwrap();
        let id = uuid::Uuid::new_v4();
        let store = &server.state.store;
        store
            .record_downstream_contact(&sluice_store::downstreams::DownstreamContact {
                id,
                account_name: "dss9.example.invalid".into(),
                address: Some("10.0.0.9".into()),
                at: time::OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
        let remote = Remote {
            server: Some(format!("http://{}", server.admin_addr)),
            token: Some(server.admin_token.clone()),
            data: None,
        };
        let list = fetch(&AdminClient::from_remote(&remote).unwrap())
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (
                list[0].id.clone(),
                list[0].name.as_str(),
                list[0].mode.as_str()
            ),
            (id.to_string(), "dss9.example.invalid", "unknown")
        );
        run(&remote, DownstreamsCommand::List { json: true })
            .await
            .unwrap();
        server.shutdown().await.unwrap();
    }
}
