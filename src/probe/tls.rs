//! The TLS check: a full handshake with certificate verification against the public roots;
//! reports the leaf certificate's time to expiry.

use super::certificate::expires_in_ms;
use super::reason::describe_io_error;
use super::tcp::connect;
use super::Seen;
use crate::domain::Timestamp;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::TlsConnector;

/// A connector verifying against the Mozilla roots (webpki-roots), with the ring provider.
#[derive(Clone)]
pub struct TlsChecker {
    connector: TlsConnector,
}

impl TlsChecker {
    pub fn new() -> Result<TlsChecker, rustls::Error> {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsChecker {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    pub(super) async fn check(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
        now: Timestamp,
    ) -> Seen {
        let started = Instant::now();
        let exchange = async {
            let name = ServerName::try_from(host.to_owned())
                .map_err(|e| format!("tls: invalid server name {host:?}: {e}"))?;
            let stream = connect(host, port).await?;
            let ip = stream.peer_addr().ok().map(|a| a.ip().to_string());
            let tls = self
                .connector
                .connect(name, stream)
                .await
                .map_err(|e| describe_io_error("tls", &e))?;
            let expiry = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| expires_in_ms(leaf.as_ref(), now));
            Ok::<_, String>(Seen {
                connected: true,
                ip,
                certificate_expiration_ms: expiry,
                ..Seen::default()
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Seen::failed(format!(
                "timeout after {}",
                humantime::format_duration(timeout)
            )),
            Ok(Err(reason)) => Seen::failed(reason),
            Ok(Ok(seen)) => Seen {
                response_ms: Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)),
                ..seen
            },
        }
    }
}
