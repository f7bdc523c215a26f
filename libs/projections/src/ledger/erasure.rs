//! Scrubbing a ledger when its client is erased. The log's PHI is gone with the client's key, but
//! a ledger folded earlier still holds the payer's member id and the free texts in clear.

use carelog_domain::intake::{IntakeEvent, Payer};
use carelog_domain::types::{ClientId, MemberId, Reason, ShortText};
use carelog_store::RecordedEvent;
use chrono::{DateTime, Utc};

use super::LedgerView;
use crate::decode::{DecodeOnce, Decoded, stream_id};
use crate::error::ViewError;

impl LedgerView {
    /// Replaces what identifies the client or explains in free text — the payer's name and the
    /// member id, write-off notes, claim rejection reasons — by the erased marker. Amounts, codes,
    /// ids and dates stay, so the ledger still balances. Repeating it changes nothing.
    pub fn erase(&mut self, erased_at: DateTime<Utc>) {
        if let Some(Payer::Insurance { payer_name, member_id }) = &mut self.payer {
            *payer_name = ShortText::erased();
            *member_id = MemberId::erased();
        }
        for write_off in &mut self.write_offs {
            write_off.note = Reason::erased();
        }
        for rejection in self.claims.iter_mut().filter_map(|c| c.rejection.as_mut()) {
            rejection.reason = Reason::erased();
        }
        self.erased_at.get_or_insert(erased_at);
    }

    /// A client-stream event: only the erasure of this ledger's own client matters here.
    pub(super) fn apply_client_event(
        &mut self,
        event: &RecordedEvent,
        decoding: &mut DecodeOnce,
    ) -> Result<(), ViewError> {
        if event.event_type != "ClientErased" {
            return Ok(());
        }
        let client = stream_id(event, ClientId::from_stream_name)?;
        if self.client_id != Some(client) {
            return Ok(());
        }
        if let Some(Decoded::Intake(IntakeEvent::ClientErased(e))) = decoding.get(event)? {
            self.erase(e.erased_at);
        }
        Ok(())
    }
}
