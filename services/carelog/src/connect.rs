//! How every CLI command that talks to a server reaches it: `http://HOST:PORT`, or
//! `https://HOST:PORT` trusting `--ca-cert` (with `--client-cert`/`--client-key` for mutual TLS).
//! Credentials go with every call: `CARELOG_TOKEN`, else a token minted from
//! `CARELOG_AUTH_SECRET`, else self-named headers (servers started with `--allow-anonymous`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// TLS settings of a client connection.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsClientArgs {
    /// The CA certificate (PEM) that signed the server's certificate; required for https:// URLs.
    #[arg(long, env = "CARELOG_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// This client's certificate (PEM), for servers that require mutual TLS.
    #[arg(long, env = "CARELOG_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, env = "CARELOG_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// The name on the server's certificate, when it is not the URL's host.
    #[arg(long, env = "CARELOG_TLS_DOMAIN")]
    pub tls_domain: Option<String>,
}

impl TlsClientArgs {
    /// A connected channel to `url`, over TLS for `https://`.
    pub async fn connect(&self, url: &str) -> anyhow::Result<Channel> {
        self.endpoint(url)?.connect().await.with_context(|| {
            format!("cannot reach {url}; is the server running there (and is http/https the one it speaks)?")
        })
    }

    /// The endpoint for `url`, TLS configured, not yet connected (a long-running client such as
    /// the console connects lazily, so it may start before the server).
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        let mut endpoint = Channel::from_shared(url.to_owned())
            .with_context(|| format!("{url:?} is not a server URL like http://127.0.0.1:50051"))?;
        match (url.starts_with("https://"), &self.ca_cert) {
            (true, None) => {
                anyhow::bail!("{url} is https: give the CA that signed its certificate with --ca-cert FILE.pem")
            }
            (true, Some(ca)) => endpoint = endpoint.tls_config(self.tls(ca)?).context("configuring TLS")?,
            (false, _) if self.client_cert.is_some() || self.ca_cert.is_some() => {
                anyhow::bail!("TLS options were given for {url}: use an https:// URL")
            }
            (false, _) => {}
        }
        Ok(endpoint)
    }

    fn tls(&self, ca: &Path) -> anyhow::Result<ClientTlsConfig> {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca, "--ca-cert")?));
        if let Some(domain) = &self.tls_domain {
            tls = tls.domain_name(domain.clone());
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            tls = tls.identity(Identity::from_pem(read(cert, "--client-cert")?, read(key, "--client-key")?));
        }
        Ok(tls)
    }
}

fn read(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag}: cannot read {}", path.display()))
}
