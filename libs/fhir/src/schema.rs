//! Validation against the official FHIR R4 JSON schema (feature `r4-schema`, for tests).
//!
//! Why a JSON schema and not a FHIR model crate: the schema is HL7's own artefact for R4
//! (`fhir.schema.json`, id `http://hl7.org/fhir/json-schema/4.0`), it is strict — every object has
//! `additionalProperties: false`, every code-typed element its value set where the binding is
//! required, every primitive its regex — and checking with `jsonschema` needs no model of our
//! own that could share our mistakes. The schema does not check invariants or terminology
//! bindings beyond that; those are asserted in the tests. Source and licence: see
//! `tests/SCHEMA.md`.

use serde_json::Value;

/// The schema file, vendored beside the tests.
const SCHEMA: &str = include_str!("../tests/fhir.schema.json");

/// A compiled FHIR R4 schema.
#[derive(Debug)]
pub struct R4Schema {
    validator: jsonschema::Validator,
}

/// The schema could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("the FHIR R4 schema does not load: {0}")]
pub struct SchemaError(String);

impl R4Schema {
    /// Compiles the schema (about a second: compile once per test binary if you can).
    ///
    /// # Errors
    /// [`SchemaError`] if the vendored file is not a schema `jsonschema` can compile.
    pub fn load() -> Result<Self, SchemaError> {
        let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| SchemaError(e.to_string()))?;
        let validator = jsonschema::draft6::new(&schema).map_err(|e| SchemaError(e.to_string()))?;
        Ok(Self { validator })
    }

    /// Every violation in `resource` (any resource, a Bundle included), as `path: message`.
    pub fn violations(&self, resource: &Value) -> Vec<String> {
        self.validator.iter_errors(resource).map(|e| format!("{}: {e}", e.instance_path())).collect()
    }
}
