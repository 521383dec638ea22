//! The OpenAPI document as the configuration in force makes it: the channel keys the operator
//! endpoints accept (channel ids and `group:<slug>`) are listed as enums, so a client (or
//! schemathesis) that follows the document sends only keys the server will take.
//!
//! The static document cannot know them; [`for_config`] adds them to the fields that carry
//! channel keys, named in [`KEY_FIELDS`], and fails loudly if one of those fields moved, so a
//! renamed struct cannot silently drop its enum.

use crate::domain::Config;
use serde_json::{json, Value};

/// Request schemas and the field holding channel keys: as array items, or as the property
/// names of a map to declared statuses.
const KEY_FIELDS: [(&str, KeyShape); 7] = [
    ("TicketBody", KeyShape::Items),
    ("EventBody", KeyShape::Items),
    ("RuleBody", KeyShape::Items),
    ("MaintenanceBody", KeyShape::Items),
    ("IncidentBody", KeyShape::PropertyNames),
    ("UpdateBody", KeyShape::PropertyNames),
    ("MaintenanceUpdateBody", KeyShape::PropertyNames),
];

#[derive(Clone, Copy)]
enum KeyShape {
    Items,
    PropertyNames,
}

/// Channel-keyed path parameters: `(path, parameter)`, channel ids only.
const CHANNEL_ID_PARAMS: [(&str, &str); 1] = [("/api/v1/channels/{id}/sla", "id")];

/// `document` (the static JSON) with the configured channel keys as enums.
pub(super) fn for_config(document: &str, config: &Config) -> Result<String, String> {
    let mut doc: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
    let ids: Vec<String> = config.channels.iter().map(|c| c.id.clone()).collect();
    let mut keys = ids.clone();
    for channel in &config.channels {
        let group = format!("group:{}", channel.group_id());
        if !keys.contains(&group) {
            keys.push(group);
        }
    }
    for (schema, shape) in KEY_FIELDS {
        let field = doc
            .pointer_mut(&format!("/components/schemas/{schema}/properties/channels"))
            .ok_or_else(|| format!("{schema}.channels is not in the document"))?;
        let target = match shape {
            KeyShape::Items => field.get_mut("items"),
            KeyShape::PropertyNames => field.get_mut("propertyNames"),
        }
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{schema}.channels has no key schema"))?;
        target.insert("enum".into(), json!(keys));
    }
    for (path, name) in CHANNEL_ID_PARAMS {
        let parameters = doc
            .pointer_mut(&format!(
                "/paths/{}/get/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut)
            .ok_or_else(|| format!("{path} has no parameters in the document"))?;
        let parameter = parameters
            .iter_mut()
            .find(|p| p["name"] == name)
            .and_then(|p| p.get_mut("schema"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("{path} has no parameter {name}"))?;
        parameter.insert("enum".into(), json!(ids));
    }
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_key_field_lists_the_configured_keys() {
        let config = crate::config::parse(
            "t.toml",
            "[service]\nname = \"T\"\n[[channel]]\nid = \"chat\"\nname = \"Chat\"\ngroup = \"Support channels\"\n",
        )
        .expect("config");
        let static_doc = super::super::openapi::document()
            .to_json()
            .expect("document");
        let doc: Value = serde_json::from_str(&for_config(&static_doc, &config).expect("patched"))
            .expect("json");
        let keys = json!(["chat", "group:support-channels"]);
        for (schema, shape) in KEY_FIELDS {
            let field = &doc["components"]["schemas"][schema]["properties"]["channels"];
            let key_schema = match shape {
                KeyShape::Items => &field["items"],
                KeyShape::PropertyNames => &field["propertyNames"],
            };
            assert_eq!(key_schema["enum"], keys, "{schema}");
        }
        let sla = &doc["paths"]["/api/v1/channels/{id}/sla"]["get"]["parameters"];
        let id = sla
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "id")
            .unwrap();
        assert_eq!(id["schema"]["enum"], json!(["chat"]));
    }
}
