//! What `carelog audit` prints: the audit trail and the accounting of disclosures, as an aligned
//! table for people, or JSON or CSV for the auditor's own tools.

use std::process::ExitCode;

use carelog_proto::v1 as proto;
use chrono::DateTime;

use crate::records_cli::{ServerArg, status_error};

/// How `carelog audit` prints rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// One JSON array of objects keyed by the column names.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
}

/// Rows under named columns, printed in one of the formats.
pub struct Report {
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Report {
    pub fn new(columns: &'static [&'static str]) -> Self {
        Self { columns, rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let objects: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|row| self.columns.iter().zip(row).map(|(c, v)| ((*c).to_owned(), v.clone().into())).collect())
                    .collect();
                serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
            }
            Format::Csv => {
                let line = |cells: Vec<&str>| cells.into_iter().map(csv_cell).collect::<Vec<_>>().join(",") + "\r\n";
                let mut out = line(self.columns.to_vec());
                for row in &self.rows {
                    out.push_str(&line(row.iter().map(String::as_str).collect()));
                }
                out
            }
            Format::Table => {
                let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
                for row in &self.rows {
                    for (w, cell) in widths.iter_mut().zip(row) {
                        *w = (*w).max(cell.chars().count());
                    }
                }
                let line = |cells: Vec<&str>| {
                    let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
                    padded.join("  ").trim_end().to_owned() + "\n"
                };
                let mut out = line(self.columns.to_vec());
                for row in &self.rows {
                    out.push_str(&line(row.iter().map(String::as_str).collect()));
                }
                out
            }
        }
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.to_owned() }
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

const TRAIL: &[&str] = &[
    "position",
    "recorded_at",
    "occurred_at",
    "actor",
    "actor_role",
    "actor_id",
    "event",
    "rpc",
    "purpose_of_use",
    "outcome",
    "correlation_id",
    "reason",
];

/// Who acted, as a person reads it: the token's display name, else the role and the id.
pub fn actor_label(name: &str, role: &str, id: &str) -> String {
    if name.is_empty() { format!("{role} {id}") } else { name.to_owned() }
}

/// `carelog audit --client ID`: every event about the client with who, when and why.
pub async fn trail(server: ServerArg, client: String, format: Format) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let mut report = Report::new(TRAIL);
    let mut page_token = String::new();
    loop {
        let request = proto::ListAuditTrailRequest {
            client_id: client.clone(),
            page_size: 500,
            page_token,
            ..Default::default()
        };
        let page = records.list_audit_trail(request).await.map_err(status_error)?.into_inner();
        for e in page.entries {
            report.push(vec![
                e.position.to_string(),
                time(&e.recorded_at),
                time(&e.occurred_at),
                actor_label(&e.actor_name, &e.actor_role, &e.actor_id),
                e.actor_role,
                e.actor_id,
                e.event_type,
                e.rpc,
                e.purpose_of_use,
                e.outcome,
                e.correlation_id,
                e.reason,
            ]);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    print!("{}", report.render(format));
    Ok(ExitCode::SUCCESS)
}

const DISCLOSURES: &[&str] =
    &["disclosed_at", "recipient_id", "recipient_role", "channel", "purpose_of_use", "purpose", "accountable", "what"];

/// `carelog audit disclosures --client ID`: the accounting of disclosures (HIPAA §164.528).
pub async fn disclosures(
    server: ServerArg,
    client: String,
    since: Option<DateTime<chrono::Utc>>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let mut report = Report::new(DISCLOSURES);
    let since =
        since.map(|t| prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 });
    let mut page_token = String::new();
    loop {
        let request = proto::ListDisclosuresRequest { client_id: client.clone(), since, page_size: 500, page_token };
        let page = records.list_disclosures(request).await.map_err(status_error)?.into_inner();
        for d in page.disclosures {
            report.push(vec![
                time(&d.disclosed_at),
                d.recipient_id,
                d.recipient_role,
                d.channel,
                d.purpose_of_use,
                d.purpose,
                if d.accountable { "yes" } else { "no" }.to_owned(),
                d.description,
            ]);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    if format == Format::Table {
        eprintln!(
            "accounting of disclosures of client {client} (HIPAA §164.528): {} listed; `accountable` = owed to the client",
            report.rows.len()
        );
    }
    print!("{}", report.render(format));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_json_keys_rows_by_column() {
        let mut report = Report::new(&["a", "b"]);
        report.push(vec!["plain".into(), "with, comma and \"quote\"".into()]);
        assert_eq!(report.render(Format::Csv), "a,b\r\nplain,\"with, comma and \"\"quote\"\"\"\r\n");
        let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
        assert_eq!(json[0]["b"], "with, comma and \"quote\"");
        assert_eq!(report.render(Format::Table), "a      b\nplain  with, comma and \"quote\"\n");
    }
}
