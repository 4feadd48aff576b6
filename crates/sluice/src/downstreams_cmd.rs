//! `sluice downstreams list`: the servers that sync from this one (MS-WSUSSS downstreams), with
//! the computers they rolled up.

use clap::Subcommand;
use reqwest::Method;
use sluice_api::DownstreamView;

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
}
