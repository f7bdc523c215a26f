//! The Carelog gRPC API (`carelog.v1`), generated from `proto/carelog/v1` at build time.

pub mod codec;
pub mod typed;

#[allow(missing_docs, missing_debug_implementations, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("carelog.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("carelog_descriptor");

/// Every RPC of `carelog.v1`, as `Service/Method` (e.g. `IntakeService/RegisterClient`): the names
/// the access policy is keyed by.
pub fn rpc_names() -> Vec<String> {
    api_files()
        .iter()
        .flat_map(|f| f.service.iter())
        .flat_map(|s| s.method.iter().map(move |m| format!("{}/{}", s.name(), m.name())))
        .collect()
}

/// Every event type name (`ClientRegistered`, …): the message of each member of `EventData`, the
/// names the audit trail's `event_type` and `ListAuditTrailRequest.event_types` use.
pub fn event_types() -> Vec<String> {
    api_files()
        .iter()
        .flat_map(|f| f.message_type.iter())
        .filter(|m| m.name() == "EventData")
        .flat_map(|m| m.field.iter())
        .map(|field| field.type_name().rsplit('.').next().unwrap_or_default().to_owned())
        .collect()
}

/// The `carelog.v1` files of the compiled descriptor set.
fn api_files() -> Vec<prost_types::FileDescriptorProto> {
    use prost::Message;
    // The set is compiled into this crate by its build script: it always decodes.
    let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the compiled descriptor set");
    set.file.into_iter().filter(|f| f.package() == "carelog.v1").collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_types_are_the_members_of_event_data() {
        let types = super::event_types();
        assert!(types.iter().any(|t| t == "ClientRegistered") && types.iter().any(|t| t == "RecordAccessed"));
        assert!(types.iter().all(|t| t.chars().next().is_some_and(|c| c.is_ascii_uppercase())), "{types:?}");
        assert!(super::rpc_names().iter().any(|r| r == "RecordsService/ListAuditTrail"));
    }
}
