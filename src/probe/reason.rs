//! Short failure reasons from network errors: `dns: ...`, `connect: refused`, `tls: ...`.

/// A short reason from a request error.
pub(super) fn describe_request_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let innermost = chain.last().cloned().unwrap_or_default();
    let text = chain.join(": ").to_lowercase();
    let (io_kind, tls) = io_and_tls(e);
    if e.is_redirect() {
        format!("redirect: {}", chain.get(1).unwrap_or(&innermost))
    } else if text.contains("dns error") || text.contains("failed to lookup") {
        format!("dns: {innermost}")
    } else if let Some(tls) = tls {
        format!("tls: {tls}")
    } else if let Some(short) = io_kind.and_then(describe_io_kind) {
        // Once the status line has arrived, a connection cut while reading the body is a
        // body failure (`body: reset by peer`), not a connect one: the server answered.
        let stage = if e.is_body() || e.is_decode() {
            "body"
        } else {
            "connect"
        };
        format!("{stage}: {short}")
    } else if e.is_connect() {
        format!("connect: {innermost}")
    } else if e.is_body() || e.is_decode() {
        format!("body: {innermost}")
    } else {
        format!("request: {innermost}")
    }
}

/// A short reason from a plain I/O error (TCP and TLS checks).
pub(super) fn describe_io_error(stage: &str, e: &std::io::Error) -> String {
    let (_, tls) = io_and_tls(e);
    if let Some(tls) = tls {
        return format!("tls: {tls}");
    }
    match describe_io_kind(e.kind()) {
        Some(short) => format!("connect: {short}"),
        None => format!("{stage}: {e}"),
    }
}

/// The short name of a connection-level I/O error kind, without its stage.
fn describe_io_kind(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind::*;
    match kind {
        ConnectionRefused => Some("refused"),
        ConnectionReset => Some("reset by peer"),
        ConnectionAborted => Some("aborted"),
        UnexpectedEof => Some("closed by peer"),
        _ => None,
    }
}

/// The first I/O error kind in the chain, and the rustls error if any. rustls reports
/// through io::Errors (sometimes nested) around the rustls::Error, and io::Error's `source`
/// skips its payload, so they are unwrapped by hand.
fn io_and_tls(
    e: &(dyn std::error::Error + 'static),
) -> (Option<std::io::ErrorKind>, Option<String>) {
    let mut io_kind = None;
    let mut tls = None;
    let mut source = Some(e);
    while let Some(err) = source {
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(e) = io {
            io_kind.get_or_insert(e.kind());
            let inner = e.get_ref();
            if let Some(t) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
                tls = Some(t.to_string());
            }
            io = inner.and_then(|i| i.downcast_ref::<std::io::Error>());
        }
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            tls = Some(t.to_string());
        }
        source = err.source();
    }
    (io_kind, tls)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut source = Some(e);
    while let Some(err) = source {
        out.push(err.to_string());
        source = err.source();
    }
    out
}
