//! The ledger and caseload alerts as tables a biller or auditor reads: dollars, CPT lines,
//! readable statuses and times. Pure: it renders what the API returned.

use std::fmt::Write;

use carelog_proto::v1 as proto;
use prost_types::Timestamp;

use crate::html::{esc, money};
use crate::show::{label, timestamp};

/// What the read gate withheld, looked up by path while rendering: a withheld amount shows its
/// mark instead of a made-up $0.00.
struct Marks<'a>(&'a [proto::WithheldField]);

impl Marks<'_> {
    fn money(&self, path: &str, cents: i64) -> String {
        match self.0.iter().find(|w| w.path == path) {
            Some(w) => format!("[redacted: {}]", w.field_class),
            None => money(cents),
        }
    }
}

fn at(time: &Option<Timestamp>) -> String {
    esc(&time.as_ref().map(timestamp).unwrap_or_default())
}

fn table(id: &str, title: &str, head: &[&str], rows: Vec<String>) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(r#"<h3>{}</h3><table id="{id}"><thead><tr>"#, esc(title));
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        let _ = write!(out, "<tr>{row}</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// `90837 ×1 $200.00 (POS 02, modifiers 95)` per line.
fn cpt_lines(lines: &[proto::ChargeLine], marks: &Marks) -> String {
    let shown: Vec<String> = lines
        .iter()
        .map(|l| {
            let modifiers =
                if l.modifiers.is_empty() { String::new() } else { format!(", modifiers {}", l.modifiers.join(" ")) };
            format!(
                "{} ×{} {} (POS {}{})",
                esc(&l.cpt),
                l.units,
                marks.money("charges[].lines[].amount", l.amount),
                esc(&l.place_of_service),
                esc(&modifiers)
            )
        })
        .collect();
    shown.join("<br>")
}

/// 45 CFR 149.620 in words: which estimate period's charges exceed it, and by how much. An
/// amount the gate withheld (a role without financial data) reads as its mark.
fn dispute_text(d: &proto::DisputeEligibility, marks: &Marks, path: &str) -> String {
    // Eligibility means at least $400 over: nothing over is the gate's doing, where no list of
    // what it withheld came with the reply (caseload alerts).
    let amount = |field: &str, cents: i64| match d.over_by {
        0 => "[withheld]".to_owned(),
        _ => marks.money(&format!("{path}.{field}"), cents),
    };
    format!(
        "eligible for patient-provider dispute resolution: charges of {} for services from {} to before {} exceed the Good Faith Estimate <code>{}</code> of {} by {}",
        amount("billed", d.billed),
        esc(&d.from),
        esc(&d.until),
        esc(&d.estimate_id),
        amount("estimated", d.estimated),
        amount("over_by", d.over_by),
    )
}

pub fn render(ledger: &proto::LedgerView, withheld: &[proto::WithheldField]) -> String {
    let marks = Marks(withheld);
    let mut out = String::new();
    if let Some(dispute) = &ledger.dispute_resolution {
        let _ = write!(
            out,
            r#"<p class="badge warn" id="dispute-resolution">No Surprises Act: {}</p>"#,
            dispute_text(dispute, &marks, "dispute_resolution")
        );
    }
    if let Some(aging) = &ledger.aging {
        let _ = write!(
            out,
            r#"<h3>Aging</h3><table id="aging"><tr><th>0–30 days</th><th>31–60 days</th><th>61–90 days</th><th>over 90 days</th><th>credit</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>"#,
            marks.money("aging.days_0_30", aging.days_0_30),
            marks.money("aging.days_31_60", aging.days_31_60),
            marks.money("aging.days_61_90", aging.days_61_90),
            marks.money("aging.over_90", aging.over_90),
            marks.money("aging.credit", aging.credit),
        );
    }
    let charges = ledger.charges.iter().map(|c| {
        format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>",
            esc(&c.service_date),
            cpt_lines(&c.lines, &marks),
            esc(&c.diagnoses.join(", ")),
            marks.money("charges[].amount", c.amount),
            if c.plan_review_overdue { "plan review overdue" } else { "" },
            esc(&c.charge_id),
        )
    });
    let head = ["service date", "CPT lines", "diagnoses", "amount", "flags", "charge"];
    out.push_str(&table("ledger-charges", "Charges", &head, charges.collect()));
    let claims = ledger.claims.iter().map(|c| {
        let frequency = c.frequency.as_ref().map_or(String::new(), |f| {
            let kind = label(f.kind().as_str_name(), "CLAIM_FREQUENCY_KIND_");
            if f.original.is_empty() { kind } else { format!("{kind} of {}", f.original) }
        });
        let rejection = c.rejection.as_ref().map_or(String::new(), |r| format!(": {}", r.reason));
        format!(
            "<td>{}</td><td>{} (code {})</td><td>{}{}</td><td>{}</td><td><code>{}</code></td>",
            at(&c.submitted_at),
            esc(&frequency),
            c.frequency_code,
            label(c.status().as_str_name(), "CLAIM_STATUS_"),
            esc(&rejection),
            marks.money("claims[].total", c.total),
            esc(&c.claim_id),
        )
    });
    let head = ["submitted", "frequency", "status", "total", "claim"];
    out.push_str(&table("ledger-claims", "Claims", &head, claims.collect()));
    let remittances = ledger.remittances.iter().map(|r| {
        let carcs: Vec<String> = r
            .lines
            .iter()
            .flat_map(|l| &l.adjustments)
            .map(|a| {
                let group = a.group().as_str_name().strip_prefix("ADJUSTMENT_GROUP_").unwrap_or("?").to_owned();
                format!(
                    "{group}-{} {}",
                    esc(&a.carc),
                    marks.money("remittances[].lines[].adjustments[].amount", a.amount)
                )
            })
            .collect();
        format!(
            "<td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            at(&r.posted_at),
            esc(&r.claim_id),
            esc(&r.payer_claim_number),
            marks.money("remittances[].paid", r.paid),
            marks.money("remittances[].adjusted", r.adjusted),
            marks.money("remittances[].patient_responsibility", r.patient_responsibility),
            carcs.join("<br>"),
        )
    });
    let head = ["posted", "claim", "payer claim no.", "paid", "adjusted", "patient resp.", "adjustments"];
    out.push_str(&table("ledger-remittances", "Remittances", &head, remittances.collect()));
    let payments = ledger.payments.iter().map(|p| {
        format!(
            "<td>{}</td><td>{}</td><td>{}</td>",
            at(&p.received_at),
            label(p.method().as_str_name(), "PAYMENT_METHOD_"),
            marks.money("payments[].amount", p.amount),
        )
    });
    out.push_str(&table("ledger-payments", "Payments", &["received", "method", "amount"], payments.collect()));
    let write_offs = ledger.write_offs.iter().map(|w| {
        format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            at(&w.written_off_at),
            label(w.reason().as_str_name(), "WRITE_OFF_REASON_"),
            esc(&w.note),
            marks.money("write_offs[].amount", w.amount),
        )
    });
    let head = ["written off", "reason", "note", "amount"];
    out.push_str(&table("ledger-write_offs", "Write-offs", &head, write_offs.collect()));
    let superbills = ledger.superbills.iter().map(|b| {
        format!(
            "<td>{}</td><td>{}</td><td>{}</td>",
            at(&b.issued_at),
            b.charge_ids.len(),
            marks.money("superbills[].total", b.total),
        )
    });
    out.push_str(&table("ledger-superbills", "Superbills", &["issued", "charges", "total"], superbills.collect()));
    out
}

pub fn alerts(alerts: &[proto::CaseloadAlert]) -> String {
    let rows = alerts.iter().map(|a| {
        let detail = a.kind.clone().unwrap_or_default();
        let what = match detail.kind() {
            proto::AlertKind::UnacknowledgedRiskFlag => {
                format!("PHQ-9 item 9 scored {}, raised {}", detail.item9_score, at(&detail.raised_at))
            }
            proto::AlertKind::UnsignedNote => {
                format!("session ended {} ({} hours ago)", at(&detail.ended_at), detail.hours_since)
            }
            proto::AlertKind::PlanReviewOverdue => {
                format!("due {} ({} days overdue)", esc(&detail.due), detail.days_overdue)
            }
            proto::AlertKind::PlanReviewDue => format!("due {} (in {} days)", esc(&detail.due), detail.days_left),
            proto::AlertKind::GoodFaithEstimateMissing => format!(
                "no Good Faith Estimate for the self-pay session of {} (session <code>{}</code>): due by {}",
                at(&detail.starts_at),
                esc(&detail.session_id),
                esc(&detail.due)
            ),
            proto::AlertKind::DisputeResolutionEligible => {
                dispute_text(&detail.eligibility.clone().unwrap_or_default(), &Marks(&[]), "[].kind.eligibility")
            }
            proto::AlertKind::Unspecified => String::new(),
        };
        format!(
            "<td>{}</td><td>{what}</td><td><code>{}</code></td><td><code>{}</code></td>",
            label(detail.kind().as_str_name(), "ALERT_KIND_"),
            esc(&a.client_id),
            esc(&a.clinician_id),
        )
    });
    table("alerts", "Alerts", &["alert", "detail", "client", "clinician"], rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_dollars_markup_is_escaped_and_withheld_amounts_are_marked() {
        let ledger = proto::LedgerView {
            write_offs: vec![proto::WriteOffEntry {
                amount: 12_345,
                reason: proto::WriteOffReason::SmallBalance as i32,
                note: "<b>bold</b>".into(),
                ..Default::default()
            }],
            payments: vec![proto::PaymentEntry { amount: 5000, ..Default::default() }],
            ..Default::default()
        };
        let withheld =
            [proto::WithheldField { path: "payments[].amount".into(), field_class: "financial".into(), count: 1 }];
        let html = render(&ledger, &withheld);
        assert!(html.contains("$123.45") && html.contains("small balance"), "{html}");
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;") && !html.contains("<b>"), "{html}");
        assert!(html.contains("[redacted: financial]") && !html.contains("$50.00"), "{html}");
    }

    #[test]
    fn dispute_eligibility_and_missing_estimates_read_in_words_in_the_ledger_and_the_alerts() {
        let dispute = proto::DisputeEligibility {
            estimate_id: "e1".into(),
            estimated: 10_000,
            billed: 54_000,
            over_by: 44_000,
            from: "2026-03-02".into(),
            until: "2027-03-02".into(),
        };
        let ledger = proto::LedgerView { dispute_resolution: Some(dispute.clone()), ..Default::default() };
        let html = render(&ledger, &[]);
        assert!(html.contains(r#"id="dispute-resolution""#) && html.contains("by $440.00"), "{html}");
        assert!(render(&proto::LedgerView::default(), &[]).is_empty(), "no eligibility, no banner");

        let alert = |detail: proto::AlertDetail| proto::CaseloadAlert { kind: Some(detail), ..Default::default() };
        let eligible = proto::AlertDetail {
            kind: proto::AlertKind::DisputeResolutionEligible as i32,
            eligibility: Some(dispute),
            ..Default::default()
        };
        let missing = proto::AlertDetail {
            kind: proto::AlertKind::GoodFaithEstimateMissing as i32,
            session_id: "s1".into(),
            due: "2026-03-05".into(),
            ..Default::default()
        };
        let withheld = proto::AlertDetail {
            kind: proto::AlertKind::DisputeResolutionEligible as i32,
            eligibility: Some(proto::DisputeEligibility::default()),
            ..Default::default()
        };
        let html = alerts(&[alert(eligible), alert(missing), alert(withheld)]);
        assert!(html.contains("exceed the Good Faith Estimate <code>e1</code> of $100.00 by $440.00"), "{html}");
        assert!(html.contains("<code>s1</code>): due by 2026-03-05"), "{html}");
        assert!(html.contains("[withheld]") && !html.contains("by $0.00"), "{html}");
    }
}
