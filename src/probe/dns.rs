//! The DNS check: one query, no cache, against the system resolver or a given nameserver.

use super::Seen;
use crate::domain::DnsRecord;
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A resolver set up for one probe: no caching (every run really asks), one attempt, the
/// probe's timeout, never the hosts file.
pub struct DnsChecker {
    resolver: TokioResolver,
}

impl DnsChecker {
    pub fn new(
        nameserver: Option<SocketAddr>,
        timeout: Duration,
    ) -> Result<DnsChecker, ResolveError> {
        let provider = TokioConnectionProvider::default();
        let mut builder = match nameserver {
            Some(ns) => TokioResolver::builder_with_config(
                ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[ns.ip()], ns.port(), true),
                ),
                provider,
            ),
            None => TokioResolver::builder(provider)?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.cache_size = 0;
        opts.attempts = 1;
        opts.timeout = timeout;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.try_tcp_on_error = false;
        Ok(DnsChecker {
            resolver: builder.build(),
        })
    }

    pub(super) async fn check(&self, name: &str, record: DnsRecord, timeout: Duration) -> Seen {
        let started = Instant::now();
        let lookup =
            tokio::time::timeout(timeout, self.resolver.lookup(name, record_type(record))).await;
        let response_ms = Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX));
        match lookup {
            Err(_) => Seen::failed(format!(
                "timeout after {}",
                humantime::format_duration(timeout)
            )),
            Ok(Ok(answers)) => {
                let texts: Vec<String> = answers.iter().map(|r| r.to_string()).collect();
                Seen {
                    response_ms,
                    ip: texts.first().cloned(),
                    body: Some(texts.join("\n")),
                    dns_rcode: Some("NOERROR".to_owned()),
                    ..Seen::default()
                }
            }
            Ok(Err(e)) => match response_code(&e) {
                Some(code) => Seen {
                    response_ms,
                    body: Some(String::new()),
                    dns_rcode: Some(code),
                    ..Seen::default()
                },
                None => Seen::failed(format!("dns: {e}")),
            },
        }
    }
}

fn record_type(record: DnsRecord) -> RecordType {
    match record {
        DnsRecord::A => RecordType::A,
        DnsRecord::Aaaa => RecordType::AAAA,
        DnsRecord::Cname => RecordType::CNAME,
        DnsRecord::Mx => RecordType::MX,
        DnsRecord::Txt => RecordType::TXT,
        DnsRecord::Ns => RecordType::NS,
    }
}

/// The DNS response code of an answer that carried one (NXDOMAIN, SERVFAIL, or NOERROR with
/// no records), named as in RFC 1035 / dig.
fn response_code(e: &ResolveError) -> Option<String> {
    let proto = e.proto()?;
    match proto.kind() {
        ProtoErrorKind::NoRecordsFound { response_code, .. } => Some(
            match u16::from(*response_code) {
                0 => "NOERROR",
                1 => "FORMERR",
                2 => "SERVFAIL",
                3 => "NXDOMAIN",
                4 => "NOTIMP",
                5 => "REFUSED",
                other => return Some(format!("RCODE{other}")),
            }
            .to_owned(),
        ),
        _ => None,
    }
}
