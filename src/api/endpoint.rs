//! The `Endpoint` trait and the registry that routes `social:*` names to endpoints.
//!
//! Each endpoint is a typed module under `handlers/` that submits one [`Registration`]
//! with `inventory::submit!`. The registry is built once from those records; adding an
//! endpoint is adding a file, nothing here changes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::context::RequestContext;
use super::decode::decode_data;
use crate::error::ApiError;

/// One `social:*` operation: its name, its typed request and response, and its work.
///
/// The response is serialised as the frame's `data`; a response that serialises to `null`
/// (such as `()`) is sent without a `data` key.
pub trait Endpoint: 'static {
    /// The wire name, such as `social:createEvent`.
    const NAME: &'static str;
    /// Its JSON Schema (`schemars`) describes the request's `data`.
    type Request: DeserializeOwned + JsonSchema + Send + 'static;
    /// Its JSON Schema describes a successful answer's `data`.
    type Response: Serialize + JsonSchema + Send + 'static;

    /// Checks of the decoded request that its types alone do not express (lengths,
    /// combinations, required fields of a shared shape). None by default.
    fn validate(_request: &Self::Request) -> Result<(), ApiError> {
        Ok(())
    }

    fn handle(
        context: RequestContext,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, ApiError>> + Send;
}

/// The future an erased endpoint call returns: the frame's `data`, if any.
pub type EndpointFuture = Pin<Box<dyn Future<Output = Result<Option<Value>, ApiError>> + Send>>;

/// The plain record an endpoint submits to the registry, with the JSON Schemas of its
/// request and answer. A schema never refuses what the endpoint accepts; the endpoint may
/// refuse more (lengths in bytes, contact formats, integral floats), with a 400 naming
/// the field.
pub struct Registration {
    pub name: &'static str,
    call: fn(RequestContext, Map<String, Value>) -> EndpointFuture,
    request_schema: fn() -> Schema,
    response_schema: fn() -> Schema,
    /// The source of the endpoint's module, whose `//!` comment describes it.
    source: &'static str,
}

impl Registration {
    /// The registration of endpoint `E`, for `inventory::submit!`.
    pub const fn of<E: Endpoint>() -> Self {
        Registration {
            name: E::NAME,
            call: call_endpoint::<E>,
            request_schema: schema_of::<E::Request, true>,
            response_schema: schema_of::<E::Response, false>,
            source: "",
        }
    }

    /// This registration, described by the module doc of `source`, the endpoint module's
    /// own text: `Registration::of::<E>().described_by(include_str!("e.rs"))`.
    pub const fn described_by(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }

    /// The endpoint's description: its module's `//!` comment, as Markdown.
    pub fn description(&self) -> String {
        let lines: Vec<&str> = self
            .source
            .lines()
            .map_while(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect();
        lines.join("\n").trim().to_owned()
    }

    /// Whether the text given to [`Registration::described_by`] is this endpoint's
    /// module: it declares this endpoint's name.
    pub fn is_described_by_its_module(&self) -> bool {
        self.source
            .contains(&format!("const NAME: &'static str = \"{}\";", self.name))
    }

    /// The JSON Schema (draft 2020-12, its definitions included) of the request's
    /// `data`, as the endpoint decodes it.
    pub fn request_schema(&self) -> Schema {
        (self.request_schema)()
    }

    /// The JSON Schema of a successful answer's `data`, as the endpoint encodes it
    /// (`null` schema: the answer has no `data`).
    pub fn response_schema(&self) -> Schema {
        (self.response_schema)()
    }

    /// Decodes `data` into the endpoint's request, validates it, runs the endpoint and
    /// encodes its response.
    pub fn call(&self, context: RequestContext, data: Map<String, Value>) -> EndpointFuture {
        (self.call)(context, data)
    }
}

inventory::collect!(Registration);

/// The schema of `T` as decoded (`DECODED`) or as encoded, every subschema inline (no
/// definitions), so that it can be embedded in another document as it is.
pub(crate) fn schema_of<T: JsonSchema, const DECODED: bool>() -> Schema {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let settings = if DECODED {
        settings.for_deserialize()
    } else {
        settings.for_serialize()
    };
    settings.into_generator().into_root_schema_for::<T>()
}

fn call_endpoint<E: Endpoint>(context: RequestContext, data: Map<String, Value>) -> EndpointFuture {
    Box::pin(async move {
        let request: E::Request = decode_data(data)?;
        E::validate(&request)?;
        let response = E::handle(context, request).await?;
        let data = serde_json::to_value(response)
            .map_err(|error| ApiError::Unexpected(anyhow::Error::new(error)))?;
        Ok((!data.is_null()).then_some(data))
    })
}

/// The name → endpoint table, built once from every submitted [`Registration`].
pub struct Registry {
    endpoints: BTreeMap<&'static str, &'static Registration>,
}

impl Registry {
    /// The process-wide registry.
    ///
    /// # Panics
    /// At first use, when two endpoints register the same name: a build mistake that
    /// must stop the service before it serves anything.
    pub fn global() -> &'static Registry {
        static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::from_inventory);
        &REGISTRY
    }

    fn from_inventory() -> Registry {
        let mut endpoints = BTreeMap::new();
        for registration in inventory::iter::<Registration> {
            if endpoints.insert(registration.name, registration).is_some() {
                panic!("endpoint {} is registered twice", registration.name);
            }
        }
        Registry { endpoints }
    }

    /// The endpoint registered under `name`.
    pub fn find(&self, name: &str) -> Result<&'static Registration, ApiError> {
        self.endpoints.get(name).copied().ok_or_else(|| {
            ApiError::NotFound(format!(
                "unknown endpoint {name:?}; served endpoints: {}",
                self.names().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Every registered name, sorted.
    /// Every registration, by name.
    pub fn registrations(&self) -> impl Iterator<Item = &'static Registration> + '_ {
        self.endpoints.values().copied()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.endpoints.keys().copied()
    }
}
