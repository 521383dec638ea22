//! Short failure reasons from network errors: `dns: ...`, `connect: refused`, `tls: ...`.

/// How every reason for a check that failed because of Beacon's own resources begins. Such
/// a check says nothing about the target: it is recorded unknown, never down.
pub(super) const OWN_FAILURE: &str = "beacon itself: ";

/// The reason when `e` comes from Beacon's own resources (no file descriptors, no memory, no
/// socket buffers), e.g. `beacon itself: out of file descriptors (connect: too many open files)`.
pub(super) fn describe_own_failure(
    stage: &str,
    e: &(dyn std::error::Error + 'static),
) -> Option<String> {
    let what = own_resource(e)?;
    Some(format!("{OWN_FAILURE}{what} ({stage})"))
}

/// What Beacon ran out of, if an OS error in `e`'s chain says so.
fn own_resource(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut source = Some(e);
    while let Some(err) = source {
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(e) = io {
            match e.raw_os_error() {
                Some(libc::EMFILE) | Some(libc::ENFILE) => return Some("out of file descriptors"),
                Some(libc::ENOMEM) => return Some("out of memory"),
                Some(libc::ENOBUFS) => return Some("out of socket buffers"),
                _ => {}
            }
            io = e.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>());
        }
        source = err.source();
    }
    None
}

/// A short reason from a request error.
pub(super) fn describe_request_error(e: &reqwest::Error) -> String {
    if let Some(own) = describe_own_failure("request", e) {
        return own;
    }
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
    if let Some(own) = describe_own_failure(stage, e) {
        return own;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beacons_own_resources_are_named_as_such() {
        for (errno, what) in [
            (libc::EMFILE, "out of file descriptors"),
            (libc::ENFILE, "out of file descriptors"),
            (libc::ENOMEM, "out of memory"),
            (libc::ENOBUFS, "out of socket buffers"),
        ] {
            let e = std::io::Error::from_raw_os_error(errno);
            assert_eq!(
                describe_io_error("connect", &e),
                format!("beacon itself: {what} (connect)")
            );
            let wrapped = std::io::Error::other(std::io::Error::from_raw_os_error(errno));
            assert!(describe_io_error("connect", &wrapped).starts_with(OWN_FAILURE));
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(describe_io_error("connect", &refused), "connect: refused");
    }
}
