//! `carelog audit find`: clients by name, date of birth or member id (the SearchClients RPC,
//! through the blind index), one id per line, so an auditor starts from a name, not a UUID.

use std::process::ExitCode;

use carelog_proto::v1 as proto;

use crate::records_cli::{ServerArg, status_error};

pub async fn find(
    server: ServerArg,
    name: String,
    date_of_birth: String,
    member_id: String,
) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let mut page_token = String::new();
    let mut count = 0;
    loop {
        let request = proto::SearchClientsRequest {
            name: name.clone(),
            date_of_birth: date_of_birth.clone(),
            member_id: member_id.clone(),
            page_size: 100,
            page_token,
        };
        let page = records.search_clients(request).await.map_err(status_error)?.into_inner();
        for client in &page.client_ids {
            println!("{client}");
        }
        count += page.client_ids.len();
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    eprintln!("{count} client(s) found; read one with `carelog episode --client ID` or `carelog audit --client ID`");
    Ok(if count == 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
