//! A progress note's content: its sections by documentation format (SOAP, DAP, BIRP), from the
//! request's oneof, and the hash its signature covers.

use carelog_domain::sessions::NoteContent;
use carelog_domain::types::{ContentHash, NoteText};
use carelog_proto::v1::sign_progress_note_request::Content;
use carelog_runtime::parse::Fields;
use sha2::{Digest, Sha256};

/// The note's content, every empty or oversized section reported as `{format}.{section}`.
pub fn note(f: &mut Fields, content: Option<&Content>) -> Option<NoteContent> {
    let Some(content) = content else {
        f.violation("content", "is required: soap, dap or birp");
        return None;
    };
    let mut section = |format: &str, name: &str, text: &str| f.take(&format!("{format}.{name}"), NoteText::parse(text));
    match content {
        Content::Soap(s) => {
            let subjective = section("soap", "subjective", &s.subjective);
            let objective = section("soap", "objective", &s.objective);
            let assessment = section("soap", "assessment", &s.assessment);
            let plan = section("soap", "plan", &s.plan);
            Some(NoteContent::Soap {
                subjective: subjective?,
                objective: objective?,
                assessment: assessment?,
                plan: plan?,
            })
        }
        Content::Dap(d) => {
            let data = section("dap", "data", &d.data);
            let assessment = section("dap", "assessment", &d.assessment);
            let plan = section("dap", "plan", &d.plan);
            Some(NoteContent::Dap { data: data?, assessment: assessment?, plan: plan? })
        }
        Content::Birp(b) => {
            let behavior = section("birp", "behavior", &b.behavior);
            let intervention = section("birp", "intervention", &b.intervention);
            let response = section("birp", "response", &b.response);
            let plan = section("birp", "plan", &b.plan);
            Some(NoteContent::Birp {
                behavior: behavior?,
                intervention: intervention?,
                response: response?,
                plan: plan?,
            })
        }
    }
}

/// SHA-256 over the domain's canonical text of the note: the service computes it so the domain stays
/// free of crypto, and a later reader can show that the stored note is the one that was signed.
pub fn hash(content: &NoteContent) -> Option<ContentHash> {
    ContentHash::parse(&hex::encode(Sha256::digest(content.canonical_text().as_bytes()))).ok()
}
