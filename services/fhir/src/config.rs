//! The FHIR server's settings, shared by `carelog-fhir` and `carelog serve --fhir`.

use std::path::PathBuf;

use anyhow::Context;
use carelog_auth::Authenticator;

use crate::FhirConfig;
use crate::smart::Registration;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct FhirArgs {
    /// The public base URL of the FHIR server (default `http://{listen address}/fhir`); bulk
    /// manifests and paging links use it.
    #[arg(long, env = "CARELOG_FHIR_BASE_URL")]
    pub fhir_base_url: Option<String>,
    /// SMART Backend Services clients: a JSON array of `{client_id, role, subject, jwks}`.
    #[arg(long, env = "CARELOG_FHIR_SMART_CLIENTS")]
    pub fhir_smart_clients: Option<PathBuf>,
    /// Where bulk exports keep their jobs and files (default `carelog-fhir-exports`). Files
    /// hold PHI in clear: put the folder on an encrypted volume only the server can read.
    #[arg(long, env = "CARELOG_FHIR_EXPORT_DIR", default_value = "carelog-fhir-exports")]
    pub fhir_export_dir: PathBuf,
}

impl FhirArgs {
    pub fn config(&self, authenticator: Authenticator) -> anyhow::Result<FhirConfig> {
        let smart_clients: Vec<Registration> = match &self.fhir_smart_clients {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the SMART client registrations {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a list of registrations", path.display()))?
            }
        };
        Ok(FhirConfig {
            authenticator,
            base_url: self.fhir_base_url.clone(),
            smart_clients,
            export_dir: self.fhir_export_dir.clone(),
            export_workers: true,
        })
    }
}
