//! The `Endpoint` trait and the registry that routes `social:*` names to endpoints.
//!
//! Each endpoint is a typed module under `handlers/` that submits one [`Registration`]
//! with `inventory::submit!`. The registry is built once from those records; adding an
//! endpoint is adding a file, nothing here changes. Pushes, which the service sends
//! unasked, are described the same way: the module that sends one submits its
//! [`PushRegistration`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::decode::decode_data;
use super::placement::Placement;
use crate::app::context::RequestContext;
use crate::error::ApiError;

/// One `social:*` operation: its name, its typed request and response, and its work.
///
/// The response is serialised as the frame's `data`; a response that serialises to `null`
/// (such as `()`) is sent without a `data` key.
pub trait Endpoint: 'static {
    /// The wire name, such as `social:createEvent`.
    const NAME: &'static str;
    /// Whether the endpoint changes data: then a retry with the same `event.id` is
    /// answered with the first answer instead of being worked on again (`api::retries`).
    const CHANGES_DATA: bool;
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

    /// Whether a successful answer's `data` is kept for retries (`api::retries`). An
    /// endpoint whose answer is a credential (a secret URL) keeps only that it succeeded,
    /// and answers a retry with [`Endpoint::answer_again`]: no credential is stored.
    const KEEPS_ANSWER_DATA: bool = true;

    /// The answer to a retry of a request that succeeded, worked out again without
    /// changing anything; only called when [`Endpoint::KEEPS_ANSWER_DATA`] is false.
    fn answer_again(
        _context: RequestContext,
    ) -> impl Future<Output = Result<Self::Response, ApiError>> + Send {
        async {
            Err(ApiError::Unexpected(anyhow::anyhow!(
                "{} keeps its answers for retries",
                Self::NAME
            )))
        }
    }

    /// A request and the successful answer to it, shown in the AsyncAPI document and
    /// filled in by the console. Its request must pass this endpoint's decoding and
    /// [`Endpoint::validate`], and both must match the schemas (the contract tests check).
    fn example() -> Example;
}

/// An example exchange with an endpoint: the request's `data` and the `data` of a
/// successful answer to it (`Value::Null` when the answer has none).
#[derive(Debug, Clone)]
pub struct Example {
    pub request: Value,
    pub answer: Value,
}

/// An answer's `data` as JSON text, encoded once straight from the endpoint's response
/// (no `Value` tree in between); `None` when the answer has none.
pub type AnswerData = Option<Box<RawValue>>;

/// The future an erased endpoint call returns: the frame's `data`, if any.
pub type EndpointFuture = Pin<Box<dyn Future<Output = Result<AnswerData, ApiError>> + Send>>;

/// The plain record an endpoint submits to the registry, with the JSON Schemas of its
/// request and answer. A schema never refuses what the endpoint accepts; the endpoint may
/// refuse more (lengths in bytes, contact formats, integral floats), with a 400 naming
/// the field.
pub struct Registration {
    pub name: &'static str,
    /// See [`Endpoint::CHANGES_DATA`].
    pub changes_data: bool,
    call: fn(RequestContext, Map<String, Value>) -> EndpointFuture,
    request_schema: fn() -> Schema,
    response_schema: fn() -> Schema,
    request_schema_in: fn(&mut SchemaGenerator) -> Schema,
    response_schema_in: fn(&mut SchemaGenerator) -> Schema,
    example: fn() -> Example,
    check: fn(Map<String, Value>) -> Result<(), ApiError>,
    /// See [`Endpoint::answer_again`]: `None` when answers are kept whole.
    answer_again: Option<fn(RequestContext) -> EndpointFuture>,
    /// The source of the endpoint's module, whose `//!` comment describes it.
    source: &'static str,
}

impl Registration {
    /// The registration of endpoint `E`, for `inventory::submit!`.
    pub const fn of<E: Endpoint>() -> Self {
        Registration {
            name: E::NAME,
            changes_data: E::CHANGES_DATA,
            call: call_endpoint::<E>,
            request_schema: schema_of::<E::Request, true>,
            response_schema: schema_of::<E::Response, false>,
            request_schema_in: root_schema_in::<E::Request>,
            response_schema_in: root_schema_in::<E::Response>,
            example: E::example,
            check: check_request::<E>,
            answer_again: if E::KEEPS_ANSWER_DATA {
                None
            } else {
                Some(answer_endpoint_again::<E>)
            },
            source: "",
        }
    }

    /// Whether a successful answer's `data` is kept for retries (see
    /// [`Endpoint::KEEPS_ANSWER_DATA`]).
    pub fn keeps_answer_data(&self) -> bool {
        self.answer_again.is_none()
    }

    /// Answers a retry of a request that succeeded, when its answer was not kept whole.
    pub async fn answer_again(&self, context: RequestContext) -> Result<AnswerData, ApiError> {
        match self.answer_again {
            Some(answer_again) => answer_again(context).await,
            None => Err(ApiError::Unexpected(anyhow::anyhow!(
                "{} keeps its answers for retries",
                self.name
            ))),
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

    /// The request's schema as `generator` makes it: the types it shares with other
    /// schemas are left among the generator's definitions and referred to by `$ref`.
    pub fn request_schema_in(&self, generator: &mut SchemaGenerator) -> Schema {
        (self.request_schema_in)(generator)
    }

    /// The answer's schema as `generator` makes it (see
    /// [`Registration::request_schema_in`]).
    pub fn response_schema_in(&self, generator: &mut SchemaGenerator) -> Schema {
        (self.response_schema_in)(generator)
    }

    /// The endpoint's example request and answer.
    pub fn example(&self) -> Example {
        (self.example)()
    }

    /// Decodes `data` as the endpoint's request and validates it, without running the
    /// endpoint: the first checks a request frame meets. A known field sent in the wrong
    /// object is refused first (see [`Placement`]).
    pub fn check(&self, data: Map<String, Value>) -> Result<(), ApiError> {
        self.placement().check(&data)?;
        (self.check)(data)
    }

    /// Decodes `data` into the endpoint's request, validates it, runs the endpoint and
    /// encodes its response; a known field sent in the wrong object is refused first.
    pub fn call(&self, context: RequestContext, data: Map<String, Value>) -> EndpointFuture {
        if let Err(error) = self.placement().check(&data) {
            return Box::pin(async move { Err(error) });
        }
        (self.call)(context, data)
    }

    /// Where the request's known fields belong, read from its schema once.
    fn placement(&self) -> std::sync::Arc<Placement> {
        Placement::of_endpoint(self.name, self.request_schema)
    }
}

inventory::collect!(Registration);

/// A push: a frame the service sends unasked, under its own endpoint name. The module that
/// sends it submits this record with `inventory::submit!`, and the AsyncAPI document
/// describes it as a `receive` operation.
pub struct PushRegistration {
    pub name: &'static str,
    /// When it is sent, and what the client should do with it.
    pub description: &'static str,
    data_schema: fn() -> Schema,
    data_schema_in: fn(&mut SchemaGenerator) -> Schema,
    example: fn() -> Value,
    stamped: bool,
}

impl PushRegistration {
    /// The push `name`, whose `data` is a `D` (`()`: no `data`), and an example of a whole
    /// frame of it. Its frames have the shape of an answer (`error` and `event` present).
    pub const fn of<D: JsonSchema>(
        name: &'static str,
        description: &'static str,
        example: fn() -> Value,
    ) -> Self {
        PushRegistration {
            name,
            description,
            data_schema: schema_of::<D, false>,
            data_schema_in: root_schema_in::<D>,
            example,
            stamped: true,
        }
    }

    /// This push, whose frames hold only `endpoint` and `data`.
    pub const fn unstamped(mut self) -> Self {
        self.stamped = false;
        self
    }

    /// Whether its frames carry `error` and `event`, as answers do.
    pub fn is_stamped(&self) -> bool {
        self.stamped
    }

    /// The JSON Schema of the frame's `data`.
    pub fn data_schema(&self) -> Schema {
        (self.data_schema)()
    }

    /// The schema of the frame's `data` as `generator` makes it (see
    /// [`Registration::request_schema_in`]).
    pub fn data_schema_in(&self, generator: &mut SchemaGenerator) -> Schema {
        (self.data_schema_in)(generator)
    }

    /// An example of a whole frame of this push.
    pub fn example(&self) -> Value {
        (self.example)()
    }
}

inventory::collect!(PushRegistration);

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

/// The schema of `T` itself as `generator` makes it, without the definitions it refers
/// to: those stay with the generator (`SchemaGenerator::take_definitions`), to be placed
/// where the generator's settings say its references point.
fn root_schema_in<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.root_schema_for::<T>();
    if let Some(object) = schema.as_object_mut() {
        let definitions = generator.settings().definitions_path.clone();
        let container = definitions
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        object.remove(&container);
        object.remove("$schema");
        object.remove("title");
    }
    schema
}

/// `data` decoded as the request of `E` and validated.
fn decode_request<E: Endpoint>(data: Map<String, Value>) -> Result<E::Request, ApiError> {
    let request: E::Request = decode_data(data)?;
    E::validate(&request)?;
    Ok(request)
}

fn check_request<E: Endpoint>(data: Map<String, Value>) -> Result<(), ApiError> {
    decode_request::<E>(data).map(drop)
}

fn call_endpoint<E: Endpoint>(context: RequestContext, data: Map<String, Value>) -> EndpointFuture {
    Box::pin(async move {
        let request = decode_request::<E>(data)?;
        answer_data(E::handle(context, request).await?)
    })
}

fn answer_endpoint_again<E: Endpoint>(context: RequestContext) -> EndpointFuture {
    Box::pin(async move { answer_data(E::answer_again(context).await?) })
}

/// A response as the frame's `data`: none when it serialises to `null`.
fn answer_data(response: impl Serialize) -> Result<AnswerData, ApiError> {
    let data = serde_json::value::to_raw_value(&response)
        .map_err(|error| ApiError::Unexpected(anyhow::Error::new(error)))?;
    Ok((data.get() != "null").then_some(data))
}

/// The name → endpoint table, built once from every submitted [`Registration`], and the
/// pushes, from every submitted [`PushRegistration`].
pub struct Registry {
    endpoints: BTreeMap<&'static str, &'static Registration>,
    pushes: BTreeMap<&'static str, &'static PushRegistration>,
}

impl Registry {
    /// The process-wide registry.
    ///
    /// # Panics
    /// At first use, when two endpoints or pushes register the same name: a build
    /// mistake that must stop the service before it serves anything.
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
        let mut pushes = BTreeMap::new();
        for push in inventory::iter::<PushRegistration> {
            if endpoints.contains_key(push.name) || pushes.insert(push.name, push).is_some() {
                panic!("push {} is registered twice", push.name);
            }
        }
        Registry { endpoints, pushes }
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

    /// Every registration, by name.
    pub fn registrations(&self) -> impl Iterator<Item = &'static Registration> + '_ {
        self.endpoints.values().copied()
    }

    /// Every push, by name.
    pub fn pushes(&self) -> impl Iterator<Item = &'static PushRegistration> + '_ {
        self.pushes.values().copied()
    }

    /// Every registered endpoint name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.endpoints.keys().copied()
    }
}
