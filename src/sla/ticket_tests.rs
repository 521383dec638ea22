//! The ticket clock and Rule W: every edge case of sla-rules 1.7 as a named row, then the
//! options, the log rules and the explanations.

use super::ticket_fixtures::*;
use super::{evaluate, Evaluation, TicketSettings, TicketState};
use crate::domain::{DeclaredStatus, Impact, Timestamp};

type Row = (&'static str, Tk, Vec<Inc>, TicketSettings, i64, Exp);

/// Edge case 18's incident: published 10:00 on live chat, web form added 10:30, removed 11:00.
fn chat_then_web() -> Inc {
    inc(1)
        .open(-15 * M, "chat")
        .set(15 * M, "chat,web")
        .set(45 * M, "chat")
}

/// sla-rules 1.7, one row per case (and per variant of a case): name, ticket, incidents,
/// settings, `now` after the ticket's receipt, expected verdict.
#[rustfmt::skip]
fn edge_cases() -> Vec<Row> {
    vec![
        ("1a P == C waives", tk(CRIT, "chat"), vec![inc(1).open(0, "chat")], def(), 30 * M, waived(1, 0).origin("beacon")),
        ("1b P == C + 1 ms does not, flagged", tk(CRIT, "chat"), vec![inc(1).open(1, "chat")], def(), 30 * M, pending().flagged().due(H)),
        ("2a resolved_at == C does not waive", tk(CRIT, "chat"), vec![inc(1).open(-H, "chat").resolve(0)], def(), 30 * M, pending()),
        ("2b resolved_at == C + 1 ms waives", tk(CRIT, "chat"), vec![inc(1).open(-H, "chat").resolve(1)], def(), 30 * M, waived(1, -H)),
        ("3a resolved, reopened before C waives", tk(CRIT, "chat"), vec![inc(1).open(-2 * H, "chat").resolve(-H).reopen(-M)], def(), 30 * M, waived(1, -2 * H)),
        ("3b resolved, reopened at C waives", tk(CRIT, "chat"), vec![inc(1).open(-2 * H, "chat").resolve(-H).reopen(0)], def(), 30 * M, waived(1, -2 * H)),
        ("3c resolved, reopened after C does not", tk(CRIT, "chat"), vec![inc(1).open(-2 * H, "chat").resolve(-H).reopen(M)], def(), 30 * M, pending().flagged()),
        ("4 draft before C, public after C", tk(CRIT, "chat"), vec![inc(1).draft(-H, "chat").open(10 * M, "chat")], def(), 30 * M, pending().flagged()),
        ("5 backdated start, published after C", tk(CRIT, "chat"), vec![inc(1).started(-2 * H).open(10 * M, "chat")], def(), 30 * M, pending().flagged()),
        ("6a exact component match", tk(CRIT, "chat"), vec![inc(1).open(-M, "chat")], def(), 30 * M, waived(1, -M)),
        ("6b disjoint components", tk(CRIT, "chat"), vec![inc(1).open(-M, "email")], def(), 30 * M, pending()),
        ("6c group incident covers member ticket", tk(CRIT, "chat"), vec![inc(1).open(-M, "group:support")], def(), 30 * M, waived(1, -M)),
        ("6d member incident misses group ticket", tk(CRIT, "group:support"), vec![inc(1).open(-M, "chat,web")], def(), 30 * M, pending()),
        ("6e empty K_I covers nothing", tk(CRIT, "chat"), vec![inc(1).open(-M, "")], def(), 30 * M, pending()),
        ("6f service-wide covers", tk(CRIT, "chat"), vec![inc(1).wide().open(-M, "")], def(), 30 * M, waived(1, -M)),
        ("6g ticket without component", tk(CRIT, ""), vec![inc(1).wide().open(-M, "chat")], def(), 30 * M, pending()),
        ("7a High with covering incident runs", tk(HIGH, "chat"), vec![inc(1).open(-M, "chat")], def(), 30 * M, pending().due(H)),
        ("7b ... and breaches", tk(HIGH, "chat"), vec![inc(1).open(-M, "chat")], def(), 2 * H, breached()),
        ("8a two covering: earliest P", tk(CRIT, "chat"), vec![inc(1).open(-10 * M, "chat"), inc(2).open(-H, "chat")], def(), 30 * M, waived(2, -H)),
        ("8b earliest covering update, not P", tk(CRIT, "chat"), vec![inc(1).open(-2 * H, "web").set(-5 * M, "chat"), inc(2).open(-H, "chat")], def(), 30 * M, waived(2, -H)),
        ("9 deleted (hidden) stays waived", tk(CRIT, "chat"), vec![inc(1).open(-M, "chat").hidden()], def(), 30 * M, waived(1, -M)),
        ("10a maintenance announced, not started", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(10 * M, 2 * H, true, true)], def(), 30 * M, pending()),
        ("10b maintenance in progress (auto)", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(-10 * M, 2 * H, true, true)], def(), 30 * M, waived(1, -H)),
        ("10c maintenance started early by hand", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(H, 2 * H, false, false).begin(-5 * M)], def(), 30 * M, waived(1, -H)),
        ("10d overrun while in_progress", tk(CRIT, "chat"), vec![mnt(1).announce(-3 * H, "chat").window(-2 * H, -H, false, false).begin(-2 * H)], def(), 30 * M, waived(1, -3 * H)),
        ("10e completed before C", tk(CRIT, "chat"), vec![mnt(1).announce(-3 * H, "chat").window(-2 * H, H, false, false).begin(-2 * H).complete(-M)], def(), 30 * M, pending()),
        ("10f auto-ended before C", tk(CRIT, "chat"), vec![mnt(1).announce(-3 * H, "chat").window(-2 * H, -M, true, true)], def(), 30 * M, pending()),
        ("10g M0: in progress never waives", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(-10 * M, 2 * H, true, true)], m0(), 30 * M, pending()),
        ("10h window from before C, announced after C", tk(CRIT, "chat"), vec![mnt(1).announce(10 * M, "chat").window(-H, 2 * H, true, true)], def(), 30 * M, pending()),
        ("10i window announced mid-window, before C", tk(CRIT, "chat"), vec![mnt(1).announce(-10 * M, "chat").window(-H, 2 * H, true, true)], def(), 30 * M, waived(1, -10 * M)),
        ("11a A2 update at C + 59 m: met", tk(CRIT, "chat"), vec![inc(1).open(59 * M, "chat")], a2(), 2 * H, met().flagged().stop(59 * M)),
        ("11b A2 update at C + 61 m: breached", tk(CRIT, "chat"), vec![inc(1).open(61 * M, "chat")], a2(), 2 * H, breached()),
        ("12 auto-ack, bot, note do not stop", tk(CRIT, "chat").autoack(S).note(5 * M).bot(10 * M).reply(61 * M), vec![], def(), 2 * H, breached()),
        ("13a High to Critical at C + 30 m waives", tk(HIGH, "chat").sev(30 * M, CRIT), vec![inc(1).open(-M, "chat")], def(), H, waived(1, -M)),
        ("13b ... not before the upgrade", tk(HIGH, "chat").sev(30 * M, CRIT), vec![inc(1).open(-M, "chat")], def(), 20 * M, pending().due(H)),
        ("14a Critical to Medium: 24 h from C", tk(CRIT, "chat").sev(20 * M, MED), vec![inc(1).open(-M, "chat")], def(), 2 * H, pending().due(24 * H)),
        ("14b ... business hours from C", tk(CRIT, "chat").sev(20 * M, MED), vec![inc(1).open(-M, "chat")], tier2(), 2 * H, pending().due(100 * H)),
        ("14c ... Low, may already be breached", tk(CRIT, "chat").sev(20 * M, LOW), vec![inc(1).open(-M, "chat")], def(), 80 * H, breached().due(72 * H)),
        ("15a reply exactly at the deadline: met", tk(CRIT, "chat").reply(H), vec![], def(), 2 * H, met().due(H)),
        ("15b reply 1 ms later: breached", tk(CRIT, "chat").reply(H + 1), vec![], def(), 2 * H, breached()),
        ("16 counted in the creation month", tk(CRIT, "chat").received_at(DEC_31_2330).reply(50 * M), vec![], def(), 2 * H, met().month(2026, 12)),
        ("17 non-UTC input normalised across DST", tk(CRIT, "chat").received_at(iso("2026-03-29T01:30:00+01:00")).reply_at(iso("2026-03-29T03:30:00+02:00")), vec![], def(), 2 * H, met().due(H)),
        ("18a web ticket 10:15 before web added", tk(CRIT, "web"), vec![chat_then_web()], def(), 30 * M, pending().flagged()),
        ("18b web ticket 10:31 after web added", tk(CRIT, "web").received(16 * M), vec![chat_then_web()], def(), 30 * M, waived(1, 15 * M)),
        ("18c web ticket 11:05 after web removed", tk(CRIT, "web").received(50 * M), vec![chat_then_web()], def(), 30 * M, pending()),
        ("19 postmortem is closed", tk(CRIT, "chat"), vec![inc(1).open(-3 * H, "chat").resolve(-2 * H).postmortem(-H)], def(), 30 * M, pending()),
        ("20 imported incident waives", tk(CRIT, "chat"), vec![inc(1).imported().open(-H, "chat")], def(), 30 * M, waived(1, -H).origin("imported")),
    ]
}

/// Options and log rules beyond the edge-case list.
#[rustfmt::skip]
fn more_cases() -> Vec<Row> {
    vec![
        ("W-impact: degraded does not waive", tk(CRIT, "chat"), vec![inc(1).declared(DeclaredStatus::DegradedPerformance).open(-M, "chat")], wi(), 30 * M, pending()),
        ("W-impact: partial outage waives", tk(CRIT, "chat"), vec![inc(1).declared(DeclaredStatus::PartialOutage).open(-M, "chat")], wi(), 30 * M, waived(1, -M)),
        ("W-impact: escalation after C flags", tk(CRIT, "chat"), vec![inc(1).declared(DeclaredStatus::DegradedPerformance).open(-M, "chat").declared(DeclaredStatus::MajorOutage).set(5 * M, "chat")], wi(), 30 * M, pending().flagged()),
        ("W-impact: service-wide by major impact", tk(CRIT, "chat"), vec![inc(1).wide().open(-M, "")], wi(), 30 * M, waived(1, -M)),
        ("W-impact: service-wide minor impact", tk(CRIT, "chat"), vec![inc(1).wide().impact(Impact::Minor).open(-M, "")], wi(), 30 * M, pending()),
        ("W-impact: maintenance never outage", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(-10 * M, 2 * H, true, true)], wi(), 30 * M, pending()),
        ("re-triage onto covered component waives", tk(CRIT, "email").chan(20 * M, "chat"), vec![inc(1).open(-M, "chat")], def(), H, waived(1, -M)),
        ("re-triage off covered component", tk(CRIT, "chat").chan(20 * M, "email"), vec![inc(1).open(-M, "chat")], def(), H, pending()),
        ("components stated at C, not later", tk(CRIT, "chat"), vec![inc(1).open(-M, "chat").set(10 * M, "email")], def(), H, waived(1, -M)),
        ("update without components keeps set", tk(CRIT, "chat"), vec![inc(1).open(-H, "chat").reopen(-M)], def(), H, waived(1, -H)),
        ("reopen starts no new cycle", tk(CRIT, "chat").reply(10 * M).reopened(2 * H), vec![], def(), 5 * H, met()),
        ("events after now do not count", tk(CRIT, "chat").reply(50 * M), vec![], def(), 40 * M, pending()),
        ("no reply at the deadline: pending", tk(CRIT, "chat"), vec![], def(), H, pending()),
        ("no reply 1 ms after: breached", tk(CRIT, "chat"), vec![], def(), H + 1, breached()),
        ("Medium runs 24x7 hours by default", tk(MED, "chat"), vec![], def(), H, pending().due(24 * H)),
        ("Critical stays 24x7 under tier2", tk(CRIT, "chat"), vec![], tier2(), 0, pending().due(H)),
        ("A2 without a reply, human reply later", tk(CRIT, "chat").reply(90 * M), vec![inc(1).open(20 * M, "chat")], a2(), 2 * H, met().flagged().stop(20 * M)),
        ("A2 never for High", tk(HIGH, "chat"), vec![inc(1).open(20 * M, "chat")], a2(), 2 * H, breached().flagged()),
        ("A2 ignores maintenance starting later", tk(CRIT, "chat"), vec![mnt(1).announce(-H, "chat").window(10 * M, 2 * H, true, true)], a2(), 2 * H, breached()),
    ]
}

/// `retarget_from = "change"` against the default (sla-rules 1.6): the same tickets measured
/// from receipt and from the severity change.
#[rustfmt::skip]
fn retarget_cases() -> Vec<Row> {
    vec![
        ("upgrade Low to Critical, from receipt: breached at once", tk(LOW, "chat").sev(2 * H, CRIT), vec![], def(), 2 * H + M, breached().due(H).severity(CRIT)),
        ("upgrade Low to Critical, from the change: 1 h from it", tk(LOW, "chat").sev(2 * H, CRIT), vec![], chg(), 2 * H + M, pending().due(3 * H).severity(CRIT)),
        ("... answered 50 minutes after the change: met", tk(LOW, "chat").sev(2 * H, CRIT).reply(2 * H + 50 * M), vec![], chg(), 4 * H, met().due(3 * H)),
        ("... still waived by an incident published before C", tk(LOW, "chat").sev(2 * H, CRIT), vec![inc(1).open(-M, "chat")], chg(), 3 * H, waived(1, -M)),
        ("downgrade Critical to Medium, from receipt", tk(CRIT, "chat").sev(30 * M, MED), vec![inc(1).open(-M, "chat")], def(), 2 * H, pending().due(24 * H).severity(MED)),
        ("downgrade Critical to Medium, from the change; no waiver", tk(CRIT, "chat").sev(30 * M, MED), vec![inc(1).open(-M, "chat")], chg(), 2 * H, pending().due(30 * M + 24 * H).severity(MED)),
        ("downgrade to Medium on tier2, from the change", tk(CRIT, "chat").sev(30 * M, MED), vec![], TicketSettings { measure_from_severity_change: true, ..tier2() }, 2 * H, pending().due(100 * H + 30 * M)),
        ("several changes: the latest real one counts", tk(LOW, "chat").sev(H, HIGH).sev(2 * H, MED).sev(3 * H, MED), vec![], chg(), 4 * H, pending().due(2 * H + 24 * H).severity(MED)),
        ("several changes, from receipt", tk(LOW, "chat").sev(H, HIGH).sev(2 * H, MED), vec![], def(), 4 * H, pending().due(24 * H).severity(MED)),
        ("change back to the received severity still counts", tk(HIGH, "chat").sev(H, LOW).sev(2 * H, HIGH), vec![], chg(), 2 * H + 30 * M, pending().due(3 * H).severity(HIGH)),
        ("change after a timely first response: stays met", tk(HIGH, "chat").reply(30 * M).sev(2 * H, LOW), vec![], chg(), 3 * H, met().due(H).severity(HIGH)),
        ("change after a late first response: stays breached", tk(CRIT, "chat").reply(2 * H).sev(3 * H, LOW), vec![], chg(), 4 * H, breached().due(H).severity(CRIT)),
        ("... and from receipt too: a later downgrade re-targets nothing", tk(CRIT, "chat").reply(2 * H).sev(3 * H, LOW), vec![], def(), 4 * H, breached().due(H).severity(CRIT)),
        ("an upgrade after a timely response, from receipt: stays met", tk(LOW, "chat").reply(2 * H).sev(3 * H, CRIT), vec![], def(), 4 * H, met().due(72 * H).severity(LOW)),
        ("upgrade to Critical after the response: no waiver", tk(HIGH, "chat").reply(10 * M).sev(20 * M, CRIT), vec![inc(1).open(-M, "chat")], chg(), H, met().due(H).severity(HIGH)),
        ("change before the response, answered later", tk(HIGH, "chat").sev(30 * M, LOW).reply(40 * H), vec![], chg(), 80 * H, met().due(30 * M + 72 * H).severity(LOW)),
    ]
}

#[test]
fn retargeting_from_the_severity_change() {
    run(retarget_cases());
}

/// 2026-12-31T23:30:00Z.
const DEC_31_2330: Timestamp = Timestamp(1_798_759_800_000);

fn iso(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap_or(Timestamp(i64::MIN))
}

fn run(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for (name, ticket, incidents, settings, now, expected) in rows {
        let got = eval(&ticket, incidents, &settings, now);
        if let Some(wrong) = expected.mismatch(&ticket.0, &got) {
            failures.push(format!("{name}: {wrong}\n    {}", got.explanation));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn edge_cases_of_sla_rules_1_7() {
    run(edge_cases());
}

#[test]
fn options_and_log_rules() {
    run(more_cases());
}

#[test]
fn measuring_from_the_severity_change_moves_only_the_clock() {
    let settings = super::TicketSettings {
        measure_from_severity_change: true,
        ..def()
    };
    let ticket = tk(HIGH, "chat").sev(30 * M, MED).sev(40 * M, MED);
    let got = eval(&ticket, vec![], &settings, 2 * H);
    assert_eq!(
        got.clock_from,
        Timestamp(C + 30 * M),
        "a repeated severity is no change"
    );
    assert_eq!(got.deadline, Some(Timestamp(C + 30 * M + 24 * H)));
    // Rule W still looks at receipt: the upgrade is waived by an incident published before C.
    let upgraded = tk(HIGH, "chat").sev(30 * M, CRIT);
    let got = eval(&upgraded, vec![inc(1).open(-M, "chat")], &settings, H);
    assert_eq!((got.state, got.waived_by), (TicketState::Waived, Some(1)));
}

#[test]
fn a_waived_ticket_has_no_clock_but_its_response_time() {
    let got = eval(
        &tk(CRIT, "chat").reply(3 * H),
        vec![inc(4).open(-M, "chat")],
        &def(),
        5 * H,
    );
    assert_eq!(got.state, TicketState::Waived);
    assert_eq!(got.deadline, None);
    assert_eq!(got.first_response_at, Some(Timestamp(C + 3 * H)));
    assert_eq!(got.time_to_first_response_ms, Some(3 * H));
    assert_eq!(got.rule_version, super::RULE_VERSION);
}

#[test]
fn the_verdict_does_not_depend_on_the_order_of_incidents() {
    let build = |ids: [i64; 3]| -> Vec<Inc> {
        ids.map(|id| inc(id).open(-id * M, "chat"))
            .into_iter()
            .collect()
    };
    let ticket = tk(CRIT, "chat");
    let forward = eval(&ticket, build([1, 2, 3]), &def(), H);
    let backward = eval(&ticket, build([3, 2, 1]), &def(), H);
    assert_eq!(forward, backward);
    assert_eq!(forward.waived_by, Some(3));
}

#[test]
fn odd_inputs_give_a_verdict_without_panicking() {
    for received in [i64::MIN, -1, 0, i64::MAX - 1, i64::MAX] {
        for now in [i64::MIN, 0, i64::MAX] {
            let ticket = tk(LOW, "chat")
                .received_at(Timestamp(received))
                .reply(i64::MAX);
            let incidents = vec![inc(1).open(i64::MIN / 2, "chat").build()];
            let got = evaluate(&ticket.0, &incidents, &channels(), &tier2(), Timestamp(now));
            assert!(got.deadline.is_some_and(|d| d.millis() >= received));
        }
    }
}

fn explained(ticket: Tk, incidents: Vec<Inc>, after: i64) -> String {
    let got: Evaluation = eval(&ticket, incidents, &def(), after);
    got.explanation
}

#[test]
fn explanations_name_the_deciding_instant() {
    let chat_outage = || inc(12).titled("Live chat outage");
    // The ticket at 10:05:11, the incident published at 10:02:11.
    let ticket = || tk(CRIT, "chat").received(-9 * M - 49 * S);
    let cases = [
        (
            explained(
                ticket(),
                vec![chat_outage().open(-12 * M - 49 * S, "chat")],
                M,
            ),
            "Waived: incident 12 \"Live chat outage\" was published at 10:02:11 UTC, 3 minutes \
             before this ticket was received.",
        ),
        (
            explained(
                ticket(),
                vec![chat_outage().imported().open(-12 * M - 49 * S, "chat")],
                M,
            ),
            "Waived: incident 12 \"Live chat outage\" (imported from the previous status page) \
             was published at 10:02:11 UTC, 3 minutes before this ticket was received.",
        ),
        (
            explained(
                ticket(),
                vec![chat_outage().open(-H, "web").set(-10 * M, "chat")],
                M,
            ),
            "Waived: incident 12 \"Live chat outage\" covered this ticket's component from \
             10:05:00 UTC, 11 seconds before this ticket was received.",
        ),
        (
            explained(tk(CRIT, "chat"), vec![chat_outage().open(0, "chat")], M),
            "Waived: incident 12 \"Live chat outage\" was published at 10:15:00 UTC, the same \
             instant this ticket was received.",
        ),
        (
            explained(tk(CRIT, "chat").reply(48 * M), vec![], H),
            "Met: first reply at 11:03:00 UTC, 12 minutes before the deadline.",
        ),
        (
            explained(tk(CRIT, "chat").reply(H), vec![], H),
            "Met: first reply at 11:15:00 UTC, exactly at the deadline.",
        ),
        (
            explained(tk(CRIT, "chat").reply(65 * M), vec![], 2 * H),
            "Breached: first reply at 11:20:00 UTC, 5 minutes after the deadline of 11:15:00 UTC.",
        ),
        (
            explained(tk(CRIT, "chat"), vec![], 26 * H),
            "Breached: no reply yet; it was due at 11:15:00 UTC, 1 day 1 hour ago.",
        ),
        (
            explained(tk(MED, "chat"), vec![], 20 * M),
            "Pending: due at 2026-11-27 10:15:00 UTC, in 23 hours 40 minutes.",
        ),
        (
            explained(
                tk(CRIT, "chat"),
                vec![mnt(7)
                    .titled("Chat upgrade")
                    .announce(-H, "chat")
                    .window(-M, H, true, true)],
                M,
            ),
            "Waived: maintenance 7 \"Chat upgrade\", announced at 09:15:00 UTC, was in progress \
             when this ticket was received.",
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
    let a2_met = eval(
        &tk(CRIT, "chat"),
        vec![chat_outage().open(20 * M, "chat")],
        &a2(),
        H,
    );
    let retargeted = eval(
        &tk(LOW, "chat").sev(30 * M, CRIT).reply(70 * M),
        vec![],
        &chg(),
        2 * H,
    );
    assert_eq!(
        retargeted.explanation,
        "Met: first reply at 11:25:00 UTC, 20 minutes before the deadline (the critical target \
         counts from the severity change at 10:45:00 UTC)."
    );
    let pending = eval(&tk(HIGH, "chat").sev(30 * M, MED), vec![], &chg(), H);
    assert_eq!(
        pending.explanation,
        "Pending: due at 2026-11-27 10:45:00 UTC, in 23 hours 30 minutes (the medium target \
         counts from the severity change at 10:45:00 UTC)."
    );
    assert_eq!(
        a2_met.explanation,
        "Met: incident 12 \"Live chat outage\" acknowledged the issue on the status page at \
         10:35:00 UTC (option A2), 40 minutes before the deadline."
    );
}
