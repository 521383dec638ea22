//! Every malformed `probes.toml` is refused with the file, line, column and the key or value.
//!
//! One row per mistake: the config text, then the exact error line `beacon check` prints.

use beacon::config;
use beacon::domain::Schedule;

const CHANNEL: &str = "[[channel]]\nid = \"chat\"\nname = \"Chat\"\n";

fn with_probe(probe_lines: &str) -> String {
    format!("{CHANNEL}\n[[channel.probe]]\n{probe_lines}")
}

fn webhook(lines: &str) -> String {
    format!("[notify]\n[[notify.webhook]]\n{lines}")
}

#[test]
fn malformed_configs_name_file_line_column_and_key() {
    let cases: Vec<(String, &str)> = vec![
        // [page].
        (
            "[page]\nname = \"S\"\ncolor = \"red\"\n".into(),
            "probes.toml:3:1: unknown key \"color\" in [page] (expected one of: name, url, logo, links)",
        ),
        (
            "[page]\nname = \"  \"\n".into(),
            "probes.toml:2:8: name must not be empty",
        ),
        (
            "[page]\nurl = \"status.example.com\"\n".into(),
            "probes.toml:2:7: invalid url \"status.example.com\" in [page]: expected the page's public http or https address, like \"https://status.example.com\"",
        ),
        (
            "[page]\nurl = \"https://status.example.com/?x=1\"\n".into(),
            "probes.toml:2:7: invalid url \"https://status.example.com/?x=1\" in [page]: expected the page's public http or https address, like \"https://status.example.com\"",
        ),
        (
            "[page]\nlogo = \"javascript:alert(1)\"\n".into(),
            "probes.toml:2:8: invalid logo \"javascript:alert(1)\" in [page]: expected an http or https URL or a site-relative path like \"/logo.svg\"",
        ),
        (
            "[page]\nlogo = \"//evil.test/x.png\"\n".into(),
            "probes.toml:2:8: invalid logo \"//evil.test/x.png\" in [page]: expected an http or https URL or a site-relative path like \"/logo.svg\"",
        ),
        (
            "[page]\nlinks = [{ label = \"Help\", url = \"javascript:x()\" }]\n".into(),
            "probes.toml:2:34: invalid url \"javascript:x()\" of link \"Help\" in [page]: expected an http or https URL, mailto: or a site-relative path",
        ),
        (
            "[page]\n\n[[page.links]]\nlabel = \"Help\"\n".into(),
            "probes.toml:3:1: missing key \"url\" in [[page.links]]",
        ),
        (
            "[page]\n\n[[page.links]]\nlabel = \"Help\"\nurl = \"/help\"\ntarget = \"_blank\"\n".into(),
            "probes.toml:6:1: unknown key \"target\" in [[page.links]] (expected one of: label, url)",
        ),
        (
            "[page]\n\n[[page.links]]\nlabel = \"\"\nurl = \"/help\"\n".into(),
            "probes.toml:4:9: label must not be empty",
        ),
        (
            "[service]\nname = \"S\"\n\n[[channel]]\nid = \"a\"\nname = \"A\"\nbogus_key = 1\n".into(),
            "probes.toml:7:1: unknown key \"bogus_key\" in [[channel]] (expected one of: id, name, group, in_commitment, probe)",
        ),
        (
            "[service]\ncolour = \"red\"\n".into(),
            "probes.toml:2:1: unknown key \"colour\" in [service] (expected one of: name, location, default_locations, commitment, partial_weight, maintenance_counts_as_downtime, connectivity_check, retention, public_reports, report_schedule, report_dir, auto_publish, allow_empty, allow_fast_probes)",
        ),
        (
            with_probe("url = \"https://x.test/\"\nintervl = \"30s\"\n"),
            "probes.toml:7:1: unknown key \"intervl\" in [[channel.probe]] (expected one of: name, url, dns, push, every, cron, timeout, failure_threshold, success_threshold, conditions, degraded_if, method, headers, body, follow_redirects, insecure, max_body_bytes, send, expect, record, nameserver, grace, locations, quorum)",
        ),
        (
            "[servce]\nname = \"S\"\n".into(),
            "probes.toml:1:2: unknown key \"servce\" in the top level (expected one of: service, channel, notify, tickets, auth, maintenance, page, server, location)",
        ),
        (
            "[auth]\npassword_memory_kib = 4\n".into(),
            "probes.toml:2:23: password_memory_kib = 4 is out of range: from 8 to 4194304",
        ),
        (
            "[auth]\nsession_ttl = \"forever\"\n".into(),
            "probes.toml:2:15: invalid duration session_ttl = \"forever\": expected a positive duration like \"30s\", \"5m\" or \"1h\"",
        ),
        (
            "[auth]\npassword = \"admin\"\n".into(),
            "probes.toml:2:1: unknown key \"password\" in [auth] (expected one of: password_memory_kib, password_iterations, session_ttl, login_attempts, login_window, login_backoff, allow_weak_hashing)",
        ),
        (
            "[[channel]]\nname = \"No id\"\n".into(),
            "probes.toml:1:1: missing key \"id\" in [[channel]]",
        ),
        (
            with_probe("every = \"30s\"\n"),
            "probes.toml:5:1: a probe needs one of: url (http, https, tcp, tls), dns or push",
        ),
        (
            format!("{CHANNEL}{CHANNEL}"),
            "probes.toml:5:6: duplicate channel id \"chat\" (first defined at line 2)",
        ),
        (
            format!(
                "{}\n[[channel.probe]]\nname = \"p\"\nurl = \"https://y.test/\"\n",
                with_probe("name = \"p\"\nurl = \"https://x.test/\"\n")
            ),
            "probes.toml:10:8: duplicate probe name \"p\" in channel \"chat\"",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"0s\"\n"),
            "probes.toml:7:9: every = \"0s\" must be longer than zero",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"-5s\"\n"),
            "probes.toml:7:9: invalid duration every = \"-5s\": expected a positive duration like \"30s\", \"5m\" or \"1h\"",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"10s\"\ntimeout = \"20s\"\n"),
            "probes.toml:8:11: timeout 20s is longer than the interval every = 10s: a probe must finish before its next run",
        ),
        (
            with_probe("url = \"https://x.test/\"\nfailure_threshold = 0\n"),
            "probes.toml:7:21: failure_threshold = 0 is out of range: consecutive observations, from 1 to 1000",
        ),
        (
            with_probe("url = \"https://x.test/\"\nsuccess_threshold = -2\n"),
            "probes.toml:7:21: success_threshold = -2 is out of range: consecutive observations, from 1 to 1000",
        ),
        (
            with_probe("url = \"ftp://x.test/file\"\n"),
            "probes.toml:6:7: invalid URL scheme \"ftp\" in \"ftp://x.test/file\": expected http, https, tcp, tls or self",
        ),
        (
            with_probe("url = \"not a url\"\n"),
            "probes.toml:6:7: invalid URL \"not a url\": relative URL without a base",
        ),
        (
            with_probe("url = \"https://x.test/\"\nfailure_threshold = \"3\"\n"),
            "probes.toml:7:21: invalid value for key \"failure_threshold\" in [[channel.probe]]: invalid type: string \"3\", expected i64",
        ),
        (
            with_probe("url = \"gopher://x.test/\"\n"),
            "probes.toml:6:7: invalid URL scheme \"gopher\" in \"gopher://x.test/\": expected http, https, tcp, tls or self",
        ),
        (
            with_probe("url = \"http://\"\n"),
            "probes.toml:6:7: invalid URL \"http://\": empty host",
        ),
        (
            with_probe("url = \"tcp://db.test\"\n"),
            "probes.toml:6:7: invalid URL \"tcp://db.test\": tcp:// needs a port, e.g. tcp://db.test:443",
        ),
        (
            with_probe("url = \"https://x.test/\"\ncron = \"0 */5 * * *\"\nevery = \"1m\"\n"),
            "probes.toml:7:8: key \"cron\" conflicts with \"every\": a probe has one schedule",
        ),
        (
            with_probe("url = \"https://x.test/\"\ncron = \"61 * * * * *\"\n"),
            "probes.toml:7:8: invalid cron expression \"61 * * * * *\": Seconds must be less than 59. ('61' specified.); expected 6 fields (second minute hour day-of-month month day-of-week) or the classic 5, e.g. \"0 */5 * * * *\"",
        ),
        (
            with_probe("url = \"https://x.test/\"\ncron = \"every monday\"\n"),
            "probes.toml:7:8: invalid cron expression \"every monday\": The 'Seconds' field does not support using names. 'every' specified; expected 6 fields (second minute hour day-of-month month day-of-week) or the classic 5, e.g. \"0 */5 * * * *\"",
        ),
        (
            with_probe("url = \"https://x.test/\"\ncron = \"0 * * * * *\"\ntimeout = \"2m\"\n"),
            "probes.toml:8:11: timeout 2m is longer than the interval of the cron schedule (1m): a probe must finish before its next run",
        ),
        (
            with_probe("url = \"https://x.test/\"\ndns = \"x.test\"\n"),
            "probes.toml:7:7: key \"dns\" conflicts with \"url\": a probe has one kind",
        ),
        (
            with_probe("dns = \"x.test\"\nrecord = \"SRVX\"\n"),
            "probes.toml:7:10: unknown DNS record type \"SRVX\": expected one of A, AAAA, CNAME, MX, TXT, NS",
        ),
        (
            with_probe("dns = \"x.test\"\nnameserver = \"resolver.local\"\n"),
            "probes.toml:7:14: invalid nameserver \"resolver.local\": expected an IP address, optionally with a port (127.0.0.1:53)",
        ),
        (
            with_probe("url = \"tcp://db.test:5432\"\nmethod = \"POST\"\n"),
            "probes.toml:7:10: key \"method\" applies to http probes, not to this tcp probe",
        ),
        (
            with_probe("url = \"https://x.test/\"\nmethod = \"FETCH\"\n"),
            "probes.toml:7:10: unknown HTTP method \"FETCH\": expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        ),
        (
            with_probe("push = false\n"),
            "probes.toml:6:8: push = false makes no probe; remove the probe or set push = true",
        ),
        (
            "[service]\nconnectivity_check = \"ftp://x\"\n".into(),
            "probes.toml:2:22: invalid connectivity_check \"ftp://x\": expected an http or https URL",
        ),
        (
            with_probe("url = \"https://x.test/\"\nconditions = [\"[STATUS] == 200\", \"[STATUSS] == 200\"]\n"),
            "probes.toml:7:35: invalid condition in conditions: unknown placeholder [STATUSS]",
        ),
        (
            with_probe("url = \"https://x.test/\"\nconditions = [\"[STATUS] 200\"]\n"),
            "probes.toml:7:16: invalid condition in conditions: missing comparison operator (==, !=, <, <=, >, >=)",
        ),
        (
            with_probe("url = \"https://x.test/\"\ndegraded_if = [\"[RESPONSE_TIME] > fast\"]\n"),
            "probes.toml:7:35: invalid condition in degraded_if: expected milliseconds or a duration like 48h to compare with [RESPONSE_TIME], found 'fast'",
        ),
        (
            with_probe("url = \"tcp://db.test:5432\"\nconditions = [\"[CONNECTED] == true\", \"[STATUS] == 200\"]\n"),
            "probes.toml:7:39: [STATUS] is not available for tcp probes (they fill [CONNECTED], [RESPONSE_TIME], [BODY], [IP])",
        ),
        (
            "[service]\ncommitment = 120\n".into(),
            "probes.toml:2:14: commitment 120 is out of range: a percentage above 0 and at most 100",
        ),
        (
            "[service]\npartial_weight = 1.5\n".into(),
            "probes.toml:2:18: partial_weight 1.5 is out of range: between 0 and 1",
        ),
        (
            "[[channel]]\nid = \"Live Chat\"\nname = \"Chat\"\n".into(),
            "probes.toml:2:6: invalid channel id \"Live Chat\": use lowercase letters, digits, '-' and '_'",
        ),
        (
            "[[channel]]\nid = \"chat\"\nname = \"\"\n".into(),
            "probes.toml:3:8: name must not be empty",
        ),
        (
            "[service]\nname = \"S\"\n[[channel]\n".into(),
            "probes.toml:3:11: unclosed array table, expected `]`",
        ),
        (
            format!("{CHANNEL}[[channel.prob]]\nurl = \"https://x.test/\"\n"),
            "probes.toml:4:11: unknown key \"prob\" in [[channel]] (expected one of: id, name, group, in_commitment, probe)",
        ),
        // Duplicates and a table where a list belongs name the key and its table.
        (
            "[service]\nname = \"S\"\nname = \"T\"\n".into(),
            "probes.toml:3:1: duplicate key \"name\" in [service]: each key is given once",
        ),
        (
            format!("{CHANNEL}  name = \"Chat again\"\n"),
            "probes.toml:4:3: duplicate key \"name\" in [[channel]]: each key is given once",
        ),
        (
            "[service]\nname = \"S\"\n\n[service]\nlocation = \"x\"\n".into(),
            "probes.toml:4:2: duplicate key \"service\" in the top level: each key is given once",
        ),
        (
            "[service]\nname = \"S\"\n[service.name]\nx = 1\n".into(),
            "probes.toml:3:10: duplicate key \"name\" in [service]: each key is given once",
        ),
        (
            format!("{CHANNEL}\n[channel.probe]\nurl = \"https://x.test/\"\n"),
            "probes.toml:5:1: invalid value for key \"probe\" in [[channel]]: invalid type: map, expected a sequence",
        ),
        (
            with_probe("url = \"https://x.test/\"\n[channel.probe.conditions]\nstatus = 200\n"),
            "probes.toml:7:1: invalid value for key \"conditions\" in [[channel.probe]]: invalid type: map, expected a sequence",
        ),
        (
            with_probe("url = \"https://x.test/\"\nconditions = { status = 200 }\n"),
            "probes.toml:7:14: invalid value for key \"conditions\" in [[channel.probe]]: invalid type: map, expected a sequence",
        ),
        (
            "[page]\nlinks = { label = \"Help\", url = \"/help\" }\n".into(),
            "probes.toml:2:9: invalid value for key \"links\" in [page]: invalid type: map, expected a sequence",
        ),
        (
            "service = 3\n".into(),
            "probes.toml:1:11: invalid value for key \"service\" in the top level: invalid type: integer `3`, expected a table",
        ),
        // No channels at all, unless allow_empty says so.
        (
            "".into(),
            "probes.toml:1:1: no channels: add a [[channel]] table with an id and a name, or set allow_empty = true in [service] to run without any",
        ),
        (
            "[service]\nname = \"S\"\nallow_empty = false\n".into(),
            "probes.toml:1:1: no channels: add a [[channel]] table with an id and a name, or set allow_empty = true in [service] to run without any",
        ),
        // Bounds: intervals, timeouts, argon2 costs.
        (
            with_probe("url = \"https://x.test/\"\nevery = \"1ms\"\n"),
            "probes.toml:7:9: every = \"1ms\" is out of range: from 1s to 1day",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"999ms\"\n"),
            "probes.toml:7:9: every = \"999ms\" is out of range: from 1s to 1day",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"11000000000years\"\n"),
            "probes.toml:7:9: every = \"11000000000years\" is out of range: from 1s to 1day",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"25h\"\n"),
            "probes.toml:7:9: every = \"25h\" is out of range: from 1s to 1day",
        ),
        (
            format!("[service]\nallow_fast_probes = true\n{}", with_probe("url = \"https://x.test/\"\nevery = \"5ms\"\n")),
            "probes.toml:9:9: every = \"5ms\" is out of range: from 10ms to 1day",
        ),
        (
            with_probe("url = \"https://x.test/\"\nevery = \"10s\"\ntimeout = \"99ms\"\n"),
            "probes.toml:8:11: timeout = \"99ms\" is too short: at least 100ms",
        ),
        (
            "[auth]\npassword_memory_kib = 8192\n".into(),
            "probes.toml:2:23: password_memory_kib = 8192 with password_iterations = 2 is below OWASP's minimum for argon2id (memory and iterations of one of: 47104 KiB with 1, 19456 KiB with 2, 12288 KiB with 3, 9216 KiB with 4, 7168 KiB with 5); allow_weak_hashing = true in [auth] permits it, for tests only",
        ),
        (
            "[auth]\npassword_iterations = 1\n".into(),
            "probes.toml:2:23: password_iterations = 1 with password_memory_kib = 19456 is below OWASP's minimum for argon2id (memory and iterations of one of: 47104 KiB with 1, 19456 KiB with 2, 12288 KiB with 3, 9216 KiB with 4, 7168 KiB with 5); allow_weak_hashing = true in [auth] permits it, for tests only",
        ),
        (
            "[auth]\npassword_memory_kib = 9215\npassword_iterations = 4\nallow_weak_hashing = false\n".into(),
            "probes.toml:2:23: password_memory_kib = 9215 with password_iterations = 4 is below OWASP's minimum for argon2id (memory and iterations of one of: 47104 KiB with 1, 19456 KiB with 2, 12288 KiB with 3, 9216 KiB with 4, 7168 KiB with 5); allow_weak_hashing = true in [auth] permits it, for tests only",
        ),
        (
            "[auth]\nlogin_backoff = \"0s\"\n".into(),
            "probes.toml:2:17: login_backoff = \"0s\" must be longer than zero",
        ),
        // [server].
        (
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"proxy.local\"]\n".into(),
            "probes.toml:2:33: invalid trusted_proxies entry \"proxy.local\" in [server]: expected an IP address or a CIDR range like 10.0.0.0/8",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.1/8\"]\n".into(),
            "probes.toml:2:20: invalid trusted_proxies entry \"10.0.0.1/8\" in [server]: host bits are set; the range is 10.0.0.0/8",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n".into(),
            "probes.toml:2:20: invalid trusted_proxies entry \"10.0.0.0/33\" in [server]: the prefix length must be from 0 to 32",
        ),
        (
            "[server]\ntrusted_proxies = \"127.0.0.1\"\n".into(),
            "probes.toml:2:19: invalid value for key \"trusted_proxies\" in [server]: invalid type: string \"127.0.0.1\", expected a sequence",
        ),
        (
            "[server]\ntrusted_proxy = []\n".into(),
            "probes.toml:2:1: unknown key \"trusted_proxy\" in [server] (expected one of: header_read_timeout, idle_timeout, max_connections, max_connections_per_client, max_body_bytes, trusted_proxies)",
        ),
        // [notify] and [[notify.webhook]].
        (
            "[notify]\nretries = 3\n".into(),
            "probes.toml:2:1: unknown key \"retries\" in [notify] (expected one of: retry_base, retry_max, timeout, max_attempts, webhook)",
        ),
        (
            webhook("url = \"https://x.test/\"\nsecrett = \"k\"\n"),
            "probes.toml:4:1: unknown key \"secrett\" in [[notify.webhook]] (expected one of: url, name, events, format, secret)",
        ),
        (
            webhook("name = \"ops\"\n"),
            "probes.toml:2:1: missing key \"url\" in [[notify.webhook]]",
        ),
        (
            webhook("url = \"ftp://x.test/hook\"\n"),
            "probes.toml:3:7: invalid URL scheme \"ftp\" in \"ftp://x.test/hook\": a webhook is http or https",
        ),
        (
            webhook("url = \"hooks\"\n"),
            "probes.toml:3:7: invalid URL \"hooks\": relative URL without a base",
        ),
        (
            webhook("url = \"https://x.test/\"\nevents = [\"channel_state\", \"incident\"]\n"),
            "probes.toml:4:28: unknown event \"incident\" in events: expected channel_state, incident_update, ticket_due_soon",
        ),
        (
            webhook("url = \"https://x.test/\"\nevents = []\n"),
            "probes.toml:4:10: events must name at least one of channel_state, incident_update, ticket_due_soon; leave the key out for all of them",
        ),
        (
            webhook("url = \"https://x.test/\"\nevents = [\"channel_state\", \"channel_state\"]\n"),
            "probes.toml:4:28: duplicate event \"channel_state\" in events",
        ),
        (
            webhook("url = \"https://x.test/\"\nevents = \"channel_state\"\n"),
            "probes.toml:4:10: invalid value for key \"events\" in [[notify.webhook]]: invalid type: string \"channel_state\", expected a sequence",
        ),
        (
            webhook("url = \"https://x.test/\"\nformat = \"teams\"\n"),
            "probes.toml:4:10: unknown format \"teams\": expected json or slack",
        ),
        (
            webhook("url = \"https://x.test/\"\nsecret = \"\"\n"),
            "probes.toml:4:10: secret must not be empty",
        ),
        (
            format!(
                "{}\n[[notify.webhook]]\nurl = \"https://x.test/other\"\n",
                webhook("url = \"https://x.test/one\"\n")
            ),
            "probes.toml:6:7: duplicate webhook name \"x.test\" (first defined at line 3); give each webhook its own name",
        ),
        (
            "[notify]\nretry_base = \"0s\"\n".into(),
            "probes.toml:2:14: retry_base = \"0s\" must be longer than zero",
        ),
        (
            "[notify]\nretry_base = \"1m\"\nretry_max = \"10s\"\n".into(),
            "probes.toml:3:13: retry_max 10s is shorter than retry_base 1m: the delay grows from retry_base up to retry_max",
        ),
        (
            "[notify]\nmax_attempts = 0\n".into(),
            "probes.toml:2:16: max_attempts = 0 is out of range: from 1 to 100",
        ),
        (
            "[notify]\ntimeout = \"soon\"\n".into(),
            "probes.toml:2:11: invalid duration timeout = \"soon\": expected a positive duration like \"30s\", \"5m\" or \"1h\"",
        ),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (text, expected) in &cases {
        match config::parse("probes.toml", text) {
            Ok(_) => failures.push(format!("accepted:\n{text}")),
            Err(e) if e.to_string() != *expected => {
                failures.push(format!("{text}\n  expected: {expected}\n  got:      {e}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn retarget_from_names_its_two_values() {
    let err = config::parse("probes.toml", "[tickets]\nretarget_from = \"later\"\n")
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "probes.toml:2:17: retarget_from = \"later\": expected \"receipt\" (a severity change re-targets from receipt, the default) or \"change\" (from the change)"
    );
    let change = config::parse(
        "probes.toml",
        &format!("{CHANNEL}[tickets]\nretarget_from = \"change\"\n"),
    )
    .expect("valid");
    assert!(change.tickets.measure_from_severity_change);
    let default = config::parse("probes.toml", CHANNEL).expect("valid");
    assert!(!default.tickets.measure_from_severity_change);
}

/// `holidays_ics` is read relative to the configuration file, merged with `holidays`, and
/// a missing or malformed file is an error at the key naming the file (and its line).
#[test]
fn holidays_ics_is_read_beside_the_config_and_its_errors_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("probes.toml");
    let ics = dir.path().join("holidays.ics");
    let write_toml = |file: &str| {
        let text = format!(
            "[tickets]\ncalendar = \"tier2\"\nholidays = [\"2026-12-31\"]\nholidays_ics = \"{file}\"\n{CHANNEL}"
        );
        std::fs::write(&toml, text).expect("write toml");
    };
    write_toml("holidays.ics");
    std::fs::write(
        &ics,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261226\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .expect("write ics");
    let cfg = config::load(&toml).expect("valid");
    assert_eq!(
        cfg.tickets.holidays,
        [(2026, 12, 31), (2026, 12, 24), (2026, 12, 25)]
    );

    let shown = toml.display();
    write_toml("missing.ics");
    let err = config::load(&toml).expect_err("missing file").to_string();
    let missing = dir.path().join("missing.ics");
    assert!(
        err.starts_with(&format!(
            "{shown}:4:16: holidays_ics = \"missing.ics\": cannot read {}: ",
            missing.display()
        )),
        "{err}"
    );

    write_toml("holidays.ics");
    std::fs::write(
        &ics,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026-12-24\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .expect("write ics");
    let err = config::load(&toml).expect_err("bad ics").to_string();
    assert_eq!(
        err,
        format!(
            "{shown}:4:16: holidays_ics = \"holidays.ics\": {}:3: DTSTART \"2026-12-24\" is not a date like 20261225",
            ics.display()
        )
    );
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let cfg = config::parse(
        "probes.toml",
        &with_probe("url = \"https://x.test/health\"\n"),
    )
    .expect("valid");
    assert_eq!(cfg.service.location, "local");
    assert_eq!(cfg.service.commitment_percent, 99.5);
    let channel = &cfg.channels[0];
    assert!(channel.in_commitment);
    assert_eq!(channel.group_id(), "services");
    let probe = &channel.probes[0];
    assert_eq!(probe.name, "http https://x.test/health");
    assert_eq!(
        probe.schedule,
        Schedule::Every(std::time::Duration::from_secs(60))
    );
    assert_eq!(probe.timeout.as_secs(), 10);
    assert_eq!((probe.thresholds.failure, probe.thresholds.success), (3, 2));
}

#[test]
fn a_short_interval_caps_the_default_timeout() {
    let cfg = config::parse(
        "probes.toml",
        &with_probe("url = \"https://x.test/\"\nevery = \"2s\"\n"),
    )
    .expect("valid");
    assert_eq!(cfg.channels[0].probes[0].timeout.as_secs(), 2);
}

fn maintenance(lines: &str) -> String {
    format!("{CHANNEL}\n[[maintenance]]\n{lines}")
}

#[test]
fn malformed_maintenance_rules_name_file_line_column_and_key() {
    let cases: Vec<(String, &str)> = vec![
        (
            maintenance("title = \"DB\"\nweekly = \"sun 02:00\"\nduration = \"2h\"\nevery = \"1w\"\n"),
            "probes.toml:9:1: unknown key \"every\" in [[maintenance]] (expected one of: id, title, message, channels, cron, weekly, duration, auto_start, auto_end)",
        ),
        (
            maintenance("weekly = \"sun 02:00\"\nduration = \"2h\"\n"),
            "probes.toml:5:1: missing key \"title\" in [[maintenance]]",
        ),
        (
            maintenance("title = \"DB\"\nduration = \"2h\"\n"),
            "probes.toml:5:1: a maintenance rule needs a schedule: cron = \"0 2 * * SUN\" or weekly = \"sun 02:00\"",
        ),
        (
            maintenance("title = \"DB\"\ncron = \"0 2 * * SUN\"\nweekly = \"sun 02:00\"\nduration = \"2h\"\n"),
            "probes.toml:8:10: key \"weekly\" conflicts with \"cron\": a maintenance rule has one schedule",
        ),
        (
            maintenance("title = \"DB\"\nweekly = \"sunday at 2\"\nduration = \"2h\"\n"),
            "probes.toml:7:10: invalid weekly rule \"sunday at 2\": expected a day and a UTC time like \"sun 02:00\"",
        ),
        (
            maintenance("title = \"DB\"\ncron = \"0 2 * * FUNDAY\"\nduration = \"2h\"\n"),
            "probes.toml:7:8: invalid cron expression \"0 2 * * FUNDAY\": 'FUNDAY' is not a valid day of the week; expected 6 fields (second minute hour day-of-month month day-of-week) or the classic 5, e.g. \"0 */5 * * * *\"",
        ),
        (
            maintenance("title = \"DB\"\nweekly = \"sun 02:00\"\n"),
            "probes.toml:5:1: missing key \"duration\" in [[maintenance]] (how long each window lasts, e.g. \"2h\")",
        ),
        (
            maintenance("title = \"DB\"\nweekly = \"sun 02:00\"\nduration = \"soon\"\n"),
            "probes.toml:8:12: invalid duration duration = \"soon\": expected a positive duration like \"30s\", \"5m\" or \"1h\"",
        ),
        (
            maintenance("title = \"DB\"\ncron = \"0 0 * * * *\"\nduration = \"2h\"\n"),
            "probes.toml:8:12: duration 2h is longer than the 1h between two windows of this rule",
        ),
        (
            maintenance("title = \"DB\"\nweekly = \"sun 02:00\"\nduration = \"2h\"\nchannels = [\"chat\", \"group:nope\"]\n"),
            "probes.toml:9:21: unknown channel or group \"group:nope\" in [[maintenance]] channels",
        ),
        (
            format!(
                "{}\n[[maintenance]]\ntitle = \"DB!\"\nweekly = \"mon 02:00\"\nduration = \"1h\"\n",
                maintenance("title = \"DB\"\nweekly = \"sun 02:00\"\nduration = \"2h\"\n")
            ),
            "probes.toml:11:9: duplicate maintenance id \"db\" (first defined at line 6); give each [[maintenance]] its own id",
        ),
        (
            maintenance("id = \"DB\"\ntitle = \"DB\"\nweekly = \"sun 02:00\"\nduration = \"2h\"\n"),
            "probes.toml:6:6: invalid maintenance id \"DB\": use lowercase letters, digits, '-' and '_'",
        ),
        (
            maintenance("title = \" \"\nweekly = \"sun 02:00\"\nduration = \"2h\"\n"),
            "probes.toml:6:9: title must not be empty",
        ),
    ];
    let mut failures = Vec::new();
    for (text, expected) in &cases {
        match config::parse("probes.toml", text) {
            Ok(_) => failures.push(format!("accepted:\n{text}")),
            Err(e) if e.to_string() != *expected => {
                failures.push(format!("{text}\n  expected: {expected}\n  got:      {e}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn maintenance_rules_take_defaults_and_keys_from_the_file() {
    let cfg = config::parse(
        "probes.toml",
        &maintenance("title = \"Database upgrade\"\ncron = \"0 2 * * SUN\"\nduration = \"2h\"\nchannels = [\"chat\"]\n\n[[maintenance]]\nid = \"backup\"\ntitle = \"Backups\"\nweekly = \"Sat 23:30\"\nduration = \"30m\"\nauto_end = false\n"),
    )
    .expect("valid");
    let [db, backup] = cfg.maintenance.as_slice() else {
        panic!("two rules: {:?}", cfg.maintenance)
    };
    assert_eq!(
        db.key, "config:database-upgrade",
        "the title's slug by default"
    );
    assert_eq!(
        db.repeat,
        beacon::domain::Repeat::Cron("0 2 * * SUN".into())
    );
    assert_eq!(db.duration_ms, 7_200_000);
    assert_eq!(db.channels, ["chat"]);
    assert!(db.auto_start && db.auto_end);
    assert_eq!(backup.key, "config:backup");
    assert_eq!(
        backup.repeat,
        beacon::domain::Repeat::Weekly(beacon::domain::WeeklyAt {
            weekday: 5,
            minute: 23 * 60 + 30
        })
    );
    assert!(backup.auto_start && !backup.auto_end);
}

/// What the refusals above leave allowed: the escape hatches tests and declared-only setups
/// use, the bounds' edges, and `[server]`.
#[test]
fn bounds_accept_their_edges_and_the_escape_hatches() {
    let probe = |lines: &str| {
        let cfg = config::parse("probes.toml", &with_probe(lines)).expect("valid");
        let p = cfg.channels[0].probes[0].clone();
        (p.schedule, p.timeout)
    };
    let s = std::time::Duration::from_secs;
    let ms = std::time::Duration::from_millis;
    assert_eq!(
        probe("url = \"https://x.test/\"\nevery = \"1s\"\ntimeout = \"100ms\"\n"),
        (Schedule::Every(s(1)), ms(100))
    );
    assert_eq!(
        probe("url = \"https://x.test/\"\nevery = \"24h\"\n"),
        (Schedule::Every(s(86_400)), s(10))
    );
    assert_eq!(
        probe("url = \"https://x.test/\"\ncron = \"* * * * * *\"\n").1,
        s(1),
        "cron fires at most once a second"
    );
    let fast = config::parse(
        "probes.toml",
        &format!(
            "[service]\nallow_fast_probes = true\n{}",
            with_probe("url = \"https://x.test/\"\nevery = \"100ms\"\ntimeout = \"80ms\"\n")
        ),
    )
    .expect("valid with allow_fast_probes");
    assert_eq!(fast.channels[0].probes[0].timeout, ms(80));

    let empty = config::parse("probes.toml", "[service]\nallow_empty = true\n").expect("valid");
    assert!(empty.channels.is_empty());
    let declared_only = config::parse("probes.toml", CHANNEL).expect("valid");
    assert!(
        declared_only.channels[0].probes.is_empty(),
        "a channel without probes counts"
    );

    for (m, t) in [
        (47_104, 1),
        (19_456, 2),
        (12_288, 3),
        (9_216, 4),
        (7_168, 5),
        (65_536, 3),
    ] {
        let text =
            format!("{CHANNEL}[auth]\npassword_memory_kib = {m}\npassword_iterations = {t}\n");
        let auth = config::parse("probes.toml", &text)
            .expect("OWASP's rows")
            .auth;
        assert_eq!((auth.password_memory_kib, auth.password_iterations), (m, t));
    }
    let weak = format!("{CHANNEL}[auth]\npassword_memory_kib = 64\npassword_iterations = 1\nallow_weak_hashing = true\nlogin_backoff = \"250ms\"\n");
    let auth = config::parse("probes.toml", &weak)
        .expect("weak, for tests")
        .auth;
    assert_eq!(auth.password_memory_kib, 64);
    assert_eq!(auth.login_backoff, ms(250));

    let server = config::parse(
        "probes.toml",
        &format!(
            "{CHANNEL}[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]\n"
        ),
    )
    .expect("valid")
    .server;
    let shown: Vec<String> = server
        .trusted_proxies
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
    let default = config::parse("probes.toml", CHANNEL).expect("valid").server;
    assert!(
        default.trusted_proxies.is_empty(),
        "no proxy is trusted by default"
    );
}
