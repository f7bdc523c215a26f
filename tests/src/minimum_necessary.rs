//! The minimum-necessary policy as users read it in docs/security.md, written independently of the
//! server's tables, for the black-box matrices over every read channel (tests/api/access/
//! disclosure.rs) and the console's pages (services/console/tests/console/disclosure.rs).

/// Each class of data with strings the demo episode puts in fields of that class only.
pub const PROBES: &[(&str, &[&str])] = &[
    ("demographics", &["Alexandra Maria Reyes"]),
    ("contact", &["alex.reyes@example.org", "44 Harbor Lane"]),
    ("coverage", &["CMH884120377"]),
    ("diagnosis", &["F41.1"]),
    // `Phq9`: the instrument as the typed replies' Debug text names it.
    ("assessment", &["PHQ-9", "Phq9"]),
    (
        "clinical_text",
        &[
            "Reports fewer worry episodes",
            "Spouse called the next morning",
            "Reduce daily worry",
            "collateral call received after signing",
        ],
    ),
];

/// Whether a role (by name) may see a class of data (docs/security.md, "What each role sees").
pub fn sees(role: &str, class: &str) -> bool {
    match role {
        "clinician" | "supervisor" | "auditor" | "connector" => true,
        "biller" => ["demographics", "contact", "coverage", "diagnosis", "financial"].contains(&class),
        _ => false,
    }
}
